package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/internal/wire"
)

// Config describes a simulated cluster.
type Config struct {
	Nodes int    // how many nodes exist (they start alone; see Bootstrap and Converge)
	Seed  uint64 // everything random derives from it
	// Swim is the protocol configuration template; Name, Addr and
	// Directory are set per node.
	Swim swim.Config
	// Latency is the one-way delay of every link unless SetLinkLatency
	// overrides it. The zero value means 1–5 ms.
	Latency Latency
	// Loss is the probability that a datagram is lost, on every link.
	Loss float64
	// Duplicate is the probability that a datagram arrives twice.
	Duplicate float64
	// Compress, Label and Keyring configure the packet and stream envelope
	// every node uses, as a runtime would.
	Compress bool
	Label    string
	Keyring  *wire.Keyring
	// SkipEnvelope skips encoding and decoding the envelope (compression,
	// CRC, encryption, label) for speed: payloads are still decoded by the
	// real decoder, and streams are handed over as messages.
	SkipEnvelope bool
	// Start is virtual time zero; the zero value means 2026-01-01 UTC.
	Start time.Time
	// NewApp, if set, gives each node's life its application hooks.
	NewApp func(node int) swim.App
}

// Latency is a one-way delay distribution: uniform in [Min, Max], and with
// probability TailP uniform in [Max, TailMax] instead.
type Latency struct {
	Min, Max time.Duration
	TailP    float64
	TailMax  time.Duration
}

func (l Latency) sample(r *rand.Rand) int64 {
	lo, hi := l.Min, l.Max
	if l.TailP > 0 && r.Float64() < l.TailP && l.TailMax > hi {
		lo, hi = hi, l.TailMax
	}
	if hi <= lo {
		return int64(lo)
	}
	return int64(lo) + r.Int64N(int64(hi-lo))
}

// Sim is a simulated cluster.
type Sim struct {
	cfg    Config
	rng    *rand.Rand
	now    int64
	epoch  time.Time
	events eventHeap
	seq    uint64
	nodes  []*simNode
	byAddr map[netip.AddrPort]int
	dir    *swim.Directory
	out    swim.Output

	side        []int   // partition side per node; equal sides connect
	healthyAt   []int64 // when each node last became healthy (restart, resume, heal, unslowed)
	linkLoss    map[[2]int]float64
	linkLatency map[[2]int]Latency

	trace      uint64 // FNV-1a over everything observable
	faults     int    // faults injected so far
	stats      Stats
	violations []string
	nonce      nonceSource

	// OnEvent, if set, sees every core event: observer is the node that
	// emitted it.
	OnEvent func(observer int, ev swim.Event)
}

// Stats are network totals.
type Stats struct {
	Packets, PacketBytes uint64 // datagrams sent (duplicates not counted) and their bytes
	Streams, StreamBytes uint64 // streams opened and request+reply bytes
	Dropped              uint64 // datagrams lost, partitioned or sent to a down node
	Events               uint64 // simulator events processed
}

type simNode struct {
	idx     int
	name    string
	addr    netip.AddrPort
	core    *swim.Node
	gen     uint64 // life: increases at each restart
	up      bool
	paused  bool
	left    bool
	slow    time.Duration
	inbox   []*event
	wakeAt  int64
	wakeGen uint64
	hasWake bool
	lastInc uint32
	maxInc  uint32 // highest incarnation any life of this name used
}

var defaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// New builds the nodes; none has joined any other yet.
func New(cfg Config) (*Sim, error) {
	if cfg.Nodes < 1 || cfg.Nodes > 1<<20 {
		return nil, fmt.Errorf("sim: %d nodes, want 1 to %d", cfg.Nodes, 1<<20)
	}
	if cfg.Loss < 0 || cfg.Loss > 1 || cfg.Duplicate < 0 || cfg.Duplicate > 1 {
		return nil, errors.New("sim: Loss and Duplicate must be probabilities")
	}
	if cfg.Latency == (Latency{}) {
		cfg.Latency = Latency{Min: time.Millisecond, Max: 5 * time.Millisecond}
	}
	if cfg.Start.IsZero() {
		cfg.Start = defaultStart
	}
	s := &Sim{
		cfg:         cfg,
		rng:         rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		epoch:       cfg.Start,
		byAddr:      make(map[netip.AddrPort]int, cfg.Nodes),
		dir:         swim.NewDirectory(),
		side:        make([]int, cfg.Nodes),
		healthyAt:   make([]int64, cfg.Nodes),
		linkLoss:    make(map[[2]int]float64),
		linkLatency: make(map[[2]int]Latency),
		trace:       fnvOffset,
	}
	s.nonce.r = rand.New(rand.NewPCG(cfg.Seed^1, cfg.Seed^2))
	for i := range cfg.Nodes {
		n := &simNode{idx: i, name: NodeName(i), addr: NodeAddr(i)}
		s.nodes = append(s.nodes, n)
		s.byAddr[n.addr] = i
		if err := s.start(n); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// NodeName is node i's name.
func NodeName(i int) string { return fmt.Sprintf("n%d", i) }

// NodeAddr is node i's address: 10.x.y.z:7946.
func NodeAddr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 7946)
}

// start gives n a fresh core (a new life with incarnation 1).
func (s *Sim) start(n *simNode) error {
	cfg := s.cfg.Swim
	cfg.Name, cfg.Addr, cfg.Directory = n.name, n.addr, s.dir
	if s.cfg.NewApp != nil {
		cfg.App = s.cfg.NewApp(n.idx)
	}
	seed := s.rng.Uint64()
	core, err := swim.New(cfg, s.time(), rand.New(rand.NewPCG(seed, uint64(n.idx))))
	if err != nil {
		return fmt.Errorf("sim: node %d: %w", n.idx, err)
	}
	n.core, n.up, n.paused, n.left = core, true, false, false
	s.healthyAt[n.idx] = math.MinInt64 / 2 // healthy since forever: no earlier fault to outlive
	if n.gen > 0 {
		s.healthyAt[n.idx] = s.now // a restart: its old life may still be suspected
	}
	n.gen++
	n.inbox, n.hasWake, n.lastInc = nil, false, core.Incarnation()
	n.maxInc = max(n.maxInc, n.lastInc)
	s.after(n)
	return nil
}

func (s *Sim) time() time.Time { return s.epoch.Add(time.Duration(s.now)) }

// Now is the virtual time elapsed since the start.
func (s *Sim) Now() time.Duration { return time.Duration(s.now) }

// Node returns node i's core, for inspection. Do not feed it inputs.
func (s *Sim) Node(i int) *swim.Node { return s.nodes[i].core }

// Len is the number of nodes.
func (s *Sim) Len() int { return len(s.nodes) }

// Up reports whether node i runs (not crashed; it may be paused).
func (s *Sim) Up(i int) bool { return s.nodes[i].up }

// Stats returns the network totals so far.
func (s *Sim) Stats() Stats { return s.stats }

// TraceHash is a hash of everything that happened so far.
func (s *Sim) TraceHash() uint64 { return s.trace }

// Violations lists invariant violations seen so far (at most 100).
func (s *Sim) Violations() []string { return s.violations }

func (s *Sim) push(e *event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.events, e)
}

// At schedules f at virtual time t (from the start).
func (s *Sim) At(t time.Duration, f func()) {
	s.push(&event{at: max(int64(t), s.now), kind: evAction, action: f})
}

// RunFor advances virtual time by d, processing everything due.
func (s *Sim) RunFor(d time.Duration) { s.RunUntil(time.Duration(s.now) + d) }

// RunUntil processes every event up to virtual time t.
func (s *Sim) RunUntil(t time.Duration) {
	for len(s.events) > 0 && s.events[0].at <= int64(t) {
		e := heap.Pop(&s.events).(*event)
		s.now = e.at
		s.stats.Events++
		s.handle(e)
	}
	s.now = max(s.now, int64(t))
}

// RunWhile runs in steps of step until cond is false or limit passes; it
// reports whether cond became false.
func (s *Sim) RunWhile(step, limit time.Duration, cond func() bool) bool {
	end := time.Duration(s.now) + limit
	for cond() {
		if time.Duration(s.now) >= end {
			return false
		}
		s.RunUntil(min(time.Duration(s.now)+step, end))
	}
	return true
}
