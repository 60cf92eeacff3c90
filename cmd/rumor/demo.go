package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/agent"
	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/dashboard"
	"github.com/rumorproject/rumor/internal/httpapi"
	"github.com/rumorproject/rumor/internal/metrics"
	"github.com/rumorproject/rumor/transport"
)

// demoCmd starts a local cluster of agents in this process.
type demoCmd struct {
	Nodes    int    `default:"5" placeholder:"N" help:"How many agents to start, 2 to 64 (default: ${default})."`
	Chaos    bool   `help:"Now and then crash and restart, or silence, a node (never n1, which serves the dashboard), to watch failure detection."`
	HTTPAddr string `name:"http-addr" default:"127.0.0.1:7947" placeholder:"HOST:PORT" help:"Where n1 serves the API and dashboard; a free port is used if this one is taken (default: ${default})."`
	LogLevel string `enum:"debug,info,warn,error" default:"warn" help:"Log level of the agents' logs on stderr (default: ${default})."`
}

// demoNode is one agent of the demo and what it needs to restart.
type demoNode struct {
	name     string
	port     int    // gossip port, kept across restarts
	httpAddr string // API address, kept across restarts
	a        atomic.Pointer[agent.Agent]
	srv      *http.Server
	gate     *gate
}

type demo struct {
	nodes     []*demoNode
	log       *slog.Logger
	out       *lockedWriter
	chaosDone chan struct{} // closed when the chaos goroutine ends
}

func (c *demoCmd) Run(e *env) error {
	if c.Nodes < 2 || c.Nodes > 64 {
		return usagef("--nodes %d: want 2 to 64", c.Nodes)
	}
	log, err := newLogger(e.stderr, c.LogLevel, "text")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rng *rand.Rand
	if c.Chaos {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return c.run(ctx, e, log, rng, defaultChaos)
}

// run is the demo until ctx ends; with rng set, chaos strikes at timing.
func (c *demoCmd) run(ctx context.Context, e *env, log *slog.Logger, rng *rand.Rand, timing chaosTiming) error {
	d := &demo{log: log, out: &lockedWriter{w: e.stdout}}
	defer d.stopAll()
	// Every node is listed before any starts: n1's views read the list.
	for i := range c.Nodes {
		d.nodes = append(d.nodes, &demoNode{name: fmt.Sprintf("n%d", i+1), httpAddr: "127.0.0.1:0"})
	}
	d.nodes[0].httpAddr = c.HTTPAddr
	for i, n := range d.nodes {
		if err := d.start(ctx, n); err != nil && i == 0 && n.httpAddr != "127.0.0.1:0" {
			log.Warn("dashboard address taken; using a free port", "addr", n.httpAddr, "err", err)
			n.httpAddr = "127.0.0.1:0"
			err = d.start(ctx, n)
			if err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	dash := "http://" + d.nodes[0].httpAddr + "/"
	d.out.printf("rumor demo: %d agents on 127.0.0.1 (profile local)\n\n  dashboard  %s\n\n", c.Nodes, dash)
	for _, n := range d.nodes {
		d.out.printf("  %-4s gossip %-21s api http://%s\n", n.name, n.a.Load().Node().Addr(), n.httpAddr)
	}
	n1 := d.nodes[0].httpAddr
	d.out.printf(`
Try, in another terminal:
  %[3]s members --http-addr %[1]s
  %[3]s events --http-addr %[1]s
  %[3]s broadcast --http-addr %[1]s "hello, cluster"
  %[3]s send --http-addr %[1]s n2 "just for you"
  %[3]s inspect %[2]s
  curl -s http://%[1]s/v1/members
  curl -s http://%[1]s/metrics | grep ^rumor_
Ctrl-C stops the demo: every agent leaves, then exits.
`, n1, d.nodes[0].a.Load().Node().Addr(), selfCommand())
	if rng != nil {
		d.out.printf("Chaos is on: now and then a node crashes (and restarts) or goes silent.\n")
		d.chaosDone = make(chan struct{})
		go d.chaos(ctx, rng, timing)
	}
	<-ctx.Done()
	d.out.printf("\nstopping: every agent leaves the cluster\n")
	return nil
}

// start (re)starts node n and joins it to n1.
func (d *demo) start(ctx context.Context, n *demoNode) error {
	n.gate = &gate{}
	m := metrics.New()
	a, err := agent.Start(agent.Config{
		Name: n.name, Profile: "local", BindAddr: "127.0.0.1", BindPort: n.port,
		Tags:   map[string]string{"demo": "true", "zone": fmt.Sprintf("z%d", slices.Index(d.nodes, n)%3+1)},
		Logger: d.log, OnSample: m.Observe, // the node names itself in its records
		Tune: func(c *rumor.Config) {
			tr, err := transport.Listen(transport.Config{Bind: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(n.port))})
			if err == nil {
				c.Transport = newGatedTransport(tr, n.gate)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("demo: start %s: %w", n.name, err)
	}
	m.Attach(a.Node().Stats)
	registerRelayMetrics(m, a.RelayStats)
	n.port = int(a.Node().Addr().Port())
	var b httpapi.Backend = a
	if n == d.nodes[0] {
		b = viewing{a, d}
	}
	srv, addr, err := serveHTTP(ctx, n.httpAddr, httpapi.New(b, httpapi.Options{Dashboard: dashboard.Handler(), Metrics: m.Handler(), Logger: d.log}), d.log)
	if err != nil {
		a.Shutdown()
		return fmt.Errorf("demo: %s: %w", n.name, err)
	}
	n.srv = srv
	if n.httpAddr != addr { // a restart keeps its address: HTTP handlers read it
		n.httpAddr = addr
	}
	n.a.Store(a)
	if n != d.nodes[0] {
		seed := d.nodes[0].a.Load().Node().Addr().String()
		jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := a.Join(jctx, []string{seed}); err != nil {
			d.log.Warn("join failed", "node", n.name, "err", err)
		}
	}
	return nil
}

// crash stops a node without a leave.
func (d *demo) crash(n *demoNode) {
	if a := n.a.Swap(nil); a != nil {
		n.srv.Close()
		a.Shutdown()
	}
}

// stopAll has every agent leave, together, then stops them.
func (d *demo) stopAll() {
	if d.chaosDone != nil {
		<-d.chaosDone // chaos starts and stops nodes too
	}
	var wg sync.WaitGroup
	for _, n := range d.nodes {
		if a := n.a.Load(); a != nil {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				_ = a.Leave(ctx)
			})
		}
	}
	wg.Wait()
	for _, n := range d.nodes {
		d.crash(n)
	}
}

// chaosTiming paces chaos: an action every `every` plus up to `spread`;
// a crashed node restarts after `down`, a silenced one speaks again after
// `silent`. With actions > 0, chaos stops acting after that many (tests).
type chaosTiming struct {
	every, spread, down, silent time.Duration
	actions                     int
}

var defaultChaos = chaosTiming{every: 10 * time.Second, spread: 10 * time.Second, down: 20 * time.Second, silent: 8 * time.Second}

// chaos crashes and restarts, or silences, a random node other than n1,
// one at a time, until ctx ends. It alone starts and stops nodes once the
// demo runs.
func (d *demo) chaos(ctx context.Context, rng *rand.Rand, timing chaosTiming) {
	defer close(d.chaosDone)
	type undo struct {
		at      time.Time
		n       *demoNode
		restart bool // else: speak again
	}
	var pending []undo
	busy := func(n *demoNode) bool { return slices.ContainsFunc(pending, func(u undo) bool { return u.n == n }) }
	pause := func() time.Duration { return timing.every + time.Duration(rng.Int64N(int64(timing.spread)+1)) }
	next := time.Now().Add(pause())
	acted := 0
	for {
		wake := next
		for _, u := range pending {
			if u.at.Before(wake) {
				wake = u.at
			}
		}
		t := time.NewTimer(time.Until(wake))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		now := time.Now()
		pending = slices.DeleteFunc(pending, func(u undo) bool {
			if u.at.After(now) {
				return false
			}
			if !u.restart {
				u.n.gate.silent.Store(false)
				d.out.printf("chaos: %s speaks again\n", u.n.name)
			} else if err := d.start(ctx, u.n); err != nil {
				d.log.Warn("restart failed", "node", u.n.name, "err", err)
			} else {
				d.out.printf("chaos: %s restarted\n", u.n.name)
			}
			return true
		})
		if now.Before(next) || (timing.actions > 0 && acted == timing.actions) {
			if len(pending) == 0 && acted == timing.actions {
				return
			}
			continue
		}
		next = now.Add(pause())
		n := d.nodes[1+rng.IntN(len(d.nodes)-1)]
		if busy(n) {
			continue
		}
		acted++
		if rng.IntN(2) == 0 {
			d.out.printf("chaos: %s crashes; it restarts in %v\n", n.name, timing.down)
			d.crash(n)
			pending = append(pending, undo{at: now.Add(timing.down), n: n, restart: true})
		} else {
			d.out.printf("chaos: %s goes silent for %v (as if paused); watch it turn suspect, then refute\n", n.name, timing.silent)
			n.gate.silent.Store(true)
			pending = append(pending, undo{at: now.Add(timing.silent), n: n})
		}
	}
}

// selfCommand is how to run this program again: "go run ./cmd/rumor" when
// it runs from the go command's build cache, else the name it was run by.
func selfCommand() string {
	if strings.Contains(os.Args[0], "go-build") {
		return "go run ./cmd/rumor"
	}
	return filepath.Base(os.Args[0])
}

// viewing is n1's backend in the demo: it also serves every node's view.
type viewing struct {
	*agent.Agent
	d *demo
}

func (v viewing) Views() []api.View {
	var out []api.View
	for _, n := range v.d.nodes {
		if a := n.a.Load(); a != nil {
			out = append(out, api.View{Node: n.name, HTTP: n.httpAddr, Members: a.Members()})
		}
	}
	return out
}

// gate silences a node: while set, it sends nothing and refuses the
// streams peers open (a TCP ping would otherwise still get its answer).
type gate struct{ silent atomic.Bool }

type gatedTransport struct {
	transport.Transport
	gate    *gate
	streams chan net.Conn
	done    chan struct{}
	once    sync.Once
}

func newGatedTransport(tr transport.Transport, g *gate) *gatedTransport {
	gt := &gatedTransport{Transport: tr, gate: g, streams: make(chan net.Conn), done: make(chan struct{})}
	go gt.forwardStreams()
	return gt
}

// forwardStreams passes accepted streams on, or closes them while silent,
// until Close.
func (g *gatedTransport) forwardStreams() {
	for {
		select {
		case <-g.done:
			return
		case c := <-g.Transport.Streams():
			if g.gate.silent.Load() {
				c.Close()
				continue
			}
			select {
			case g.streams <- c:
			case <-g.done:
				c.Close()
				return
			}
		}
	}
}

func (g *gatedTransport) Streams() <-chan net.Conn { return g.streams }

// Stats passes the socket's drop counters on to the node's metrics.
func (g *gatedTransport) Stats() transport.Stats {
	if r, ok := g.Transport.(transport.StatsReporter); ok {
		return r.Stats()
	}
	return transport.Stats{}
}

func (g *gatedTransport) Close() error {
	g.once.Do(func() { close(g.done) })
	return g.Transport.Close()
}

var errSilenced = errors.New("demo: node silenced")

func (g *gatedTransport) WriteTo(b []byte, to netip.AddrPort) error {
	if g.gate.silent.Load() {
		return errSilenced
	}
	return g.Transport.WriteTo(b, to)
}

func (g *gatedTransport) DialStream(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	if g.gate.silent.Load() {
		return nil, errSilenced
	}
	return g.Transport.DialStream(ctx, to)
}

// lockedWriter serializes the demo's output lines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}
