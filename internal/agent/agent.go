// Package agent is the long-running rumor agent behind `rumor agent` and
// `rumor demo`: a rumor.Node with tags, an event history for the HTTP
// API's event stream, broadcasts that reach every member (memberlist nodes
// included), seeds found through DNS and retried with backoff, and a
// keyring kept in a file.
//
// It serves internal/httpapi's Backend; it knows nothing of HTTP itself.
package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/api"
)

// eventBytes bounds the payload bytes the event history holds: 4,096
// events of up to 64 KiB would be 256 MiB.
const eventBytes = 16 << 20

// Config is what an agent is started with.
type Config struct {
	Name          string
	Profile       string // "lan" (default), "wan" or "local"
	BindAddr      string
	BindPort      int
	AdvertiseAddr string // IP, or IP:port
	Label         string
	Tags          map[string]string

	Seeds     []string      // as rumor.Node.Join takes them
	JoinDNS   []string      // names whose SRV, or A/AAAA, records are seeds
	RetryJoin bool          // retry until a seed answers, not a few times
	RetryMax  time.Duration // longest pause between attempts (default 30 s)

	// Keys is the keyring, primary first. KeyringFile, if set, is read at
	// start and, once it holds keys, replaces Keys (a rotation made through
	// the API must survive a restart); it is rewritten after each change.
	Keys        [][]byte
	KeyringFile string

	Logger      *slog.Logger
	OnSample    func(rumor.Sample) // a metrics exporter's hook
	EventBuffer int                // events kept for resuming clients (default 4096)
	// Tune, if set, edits the node's configuration last (tests, demo).
	Tune func(*rumor.Config)
}

// Agent is a running agent. Its methods are safe for concurrent use.
type Agent struct {
	cfg    Config
	node   *rumor.Node
	log    *slog.Logger
	events *ring
	relay  *relay

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	tags    map[string]string
	rtt     map[string]time.Duration
	keyFile sync.Mutex // serializes keyring changes and their file writes
	leaving sync.Mutex // serializes Leave
}

// Start creates the node and the agent's workers. It does not join: call
// JoinSeeds (or Join) next.
func Start(cfg Config) (*Agent, error) {
	var nc *rumor.Config
	switch cfg.Profile {
	case "", "lan":
		nc = rumor.DefaultLANConfig()
	case "wan":
		nc = rumor.DefaultWANConfig()
	case "local":
		nc = rumor.DefaultLocalConfig()
	default:
		return nil, &ConfigError{fmt.Errorf("profile %q: want lan, wan or local", cfg.Profile)}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	keys, ignored, err := loadKeyring(cfg.Keys, cfg.KeyringFile)
	if err != nil {
		return nil, &ConfigError{err}
	}
	if ignored {
		log.Warn("the keyring file exists: its keys are used and the given encryption key is ignored", "file", cfg.KeyringFile)
	}
	meta, err := encodeTags(cfg.Tags)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("tags: %w", err)}
	}
	if cfg.Name != "" {
		nc.Name = cfg.Name
	}
	nc.BindAddr, nc.BindPort, nc.Label, nc.Meta, nc.Logger = cfg.BindAddr, cfg.BindPort, cfg.Label, meta, log
	if err := setAdvertise(nc, cfg.AdvertiseAddr); err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		nc.SecretKey = keys[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Agent{
		cfg: cfg, log: log, events: newRing(cmp.Or(cfg.EventBuffer, 4096), eventBytes, time.Now()),
		ctx: ctx, cancel: cancel, tags: maps.Clone(cfg.Tags), rtt: map[string]time.Duration{},
	}
	if a.tags == nil {
		a.tags = map[string]string{}
	}
	memberEvents := make(chan rumor.Event, 1024)
	a.relay = newRelay(a)
	nc.Events, nc.Delegate = memberEvents, a.relay
	nc.OnSample = a.onSample
	if cfg.Tune != nil {
		cfg.Tune(nc)
	}
	node, err := rumor.Create(nc)
	if err != nil {
		cancel()
		if _, ok := errors.AsType[*rumor.ConfigError](err); ok {
			return nil, &ConfigError{err}
		}
		return nil, fmt.Errorf("start the node: %w", err)
	}
	a.node = node
	for _, k := range keys[min(1, len(keys)):] {
		if err := node.InstallKey(k); err != nil {
			node.Shutdown()
			cancel()
			return nil, fmt.Errorf("agent: keyring: %w", err)
		}
	}
	a.wg.Add(1)
	go a.pumpMemberEvents(memberEvents)
	a.relay.start()
	return a, nil
}

// RelayStats counts the user messages the agent dropped and the relayed
// sends that failed.
func (a *Agent) RelayStats() RelayStats { return a.relay.Stats() }

// Node is the agent's rumor node.
func (a *Agent) Node() *rumor.Node { return a.node }

// Name is the node's name.
func (a *Agent) Name() string { return a.node.LocalNode().Name }

// Shutdown stops the node without a leave (call Leave first for a
// graceful exit) and waits for the agent's workers.
func (a *Agent) Shutdown() {
	a.cancel()
	a.node.Shutdown()
	a.wg.Wait()
}

// Leave announces a graceful leave and waits until it has been gossiped.
func (a *Agent) Leave(ctx context.Context) error {
	a.leaving.Lock() // a second caller waits for the first leave, then has nothing to do
	defer a.leaving.Unlock()
	if a.node.LocalNode().State == rumor.StateLeft {
		return nil // already left: nothing more to announce
	}
	if err := a.node.Leave(ctx); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

func (a *Agent) onSample(s rumor.Sample) {
	if s.Kind == rumor.SampleProbeRTT {
		a.mu.Lock()
		a.rtt[s.Member] = s.Duration
		a.mu.Unlock()
	}
	if a.cfg.OnSample != nil {
		a.cfg.OnSample(s)
	}
}

// eventTypes maps the node's event kinds to the API's.
var eventTypes = map[rumor.EventKind]string{
	rumor.EventJoin: api.EventJoin, rumor.EventLeave: api.EventLeave, rumor.EventFailed: api.EventDead,
	rumor.EventUpdate: api.EventUpdate, rumor.EventSuspect: api.EventSuspect,
	rumor.EventRecover: api.EventAlive, rumor.EventRefute: api.EventRefute,
}

// pumpMemberEvents records membership events (the node logs them itself).
func (a *Agent) pumpMemberEvents(ch <-chan rumor.Event) {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case ev := <-ch:
			typ, ok := eventTypes[ev.Kind]
			if !ok {
				continue // a name conflict: logged by the node, not a member event
			}
			m := memberOf(ev.Member)
			if ev.Kind == rumor.EventLeave || ev.Kind == rumor.EventFailed {
				a.mu.Lock()
				delete(a.rtt, ev.Member.Name)
				a.mu.Unlock()
			}
			a.events.add(api.Event{Type: typ, Time: ev.Time, Member: &m, From: ev.From})
		}
	}
}

// ConfigError is a Config that cannot work: a bad value, or a keyring
// file that cannot be read. Err says which.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// errClosed is returned by calls after Shutdown.
var errClosed = errors.New("agent: shut down")
