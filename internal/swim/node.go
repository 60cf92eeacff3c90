package swim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// maxRelays bounds the indirect probes a node runs for others at once.
const maxRelays = 1024

// Node is one member's protocol state machine. See the package doc.
type Node struct {
	cfg   Config
	rng   *rand.Rand
	dir   *Directory
	epoch time.Time
	now   int64 // nanoseconds since epoch; never goes back

	self        uint32 // our name ID
	selfID      *identity
	incarnation uint32
	leaving     bool

	members    table
	suspicions map[uint32]*suspicion
	timerGen   uint32
	queue      queue
	// The gossip timer sleeps while the queue is empty (an idle node then
	// wakes only to probe); gossipAt keeps its phase for when it rearms.
	gossipIdle bool
	gossipAt   int64
	synced     int64 // when a push-pull, either way, last merged a member's full state
	aware      awareness
	timers     timers

	seq         uint32 // last ping sequence number
	probe       probeState
	probeIndex  int
	pendingTick bool // a probe tick came while a probe ran (Go's ticker keeps one)
	relays      map[uint32]relay

	streamID StreamID
	streams  map[StreamID]pendingStream
	joinSeq  uint64
	joins    map[uint64]*joinOp

	staleTold map[uint32]int64 // TellStaleAlive: last notice per name ID
	reconnect []gone           // dead members no longer in the table, oldest first
	// The ping of recheck awaiting an ack, if any.
	rechecking  bool
	recheckSeq  uint32
	recheckAddr netip.AddrPort
	followUp    netip.AddrPort // the seed to push-pull with again after a join

	out      Output
	counters Counters
	scratch  [][]byte
}

// New returns a node that is alive, alone, and has scheduled its first
// probe, gossip and push-pull at random offsets (as memberlist staggers
// its tickers). now is the node's time zero.
func New(cfg Config, now time.Time, rng *rand.Rand) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("swim: New: nil rng")
	}
	n := &Node{
		cfg:        cfg,
		rng:        rng,
		dir:        cfg.Directory,
		epoch:      now,
		aware:      awareness{max: cfg.AwarenessMaxMultiplier},
		suspicions: make(map[uint32]*suspicion),
		relays:     make(map[uint32]relay),
		streams:    make(map[StreamID]pendingStream),
		joins:      make(map[uint64]*joinOp),
		staleTold:  make(map[uint32]int64),
	}
	if n.dir == nil {
		n.dir = NewDirectory()
	}
	n.cfg.Meta = clone(cfg.Meta)
	n.self = n.dir.acquire(cfg.Name)
	n.incarnation = 1
	n.selfID = n.dir.identity(n.self, cfg.Addr.Addr().AsSlice(), cfg.Addr.Port(), n.cfg.Meta, cfg.vsn())
	n.members.insert(n.self, 0, entry{id: n.selfID, inc: n.incarnation, state: StateAlive})
	// As memberlist's setAlive (memberlist.go, aliveNode with bootstrap):
	// our own alive is queued from the start, so that once the node has
	// peers it announces itself by gossip beyond the seed its join reached.
	n.broadcast(cfg.Name, n.selfAlive(), doneNone)

	n.timers.set(n.stagger(cfg.ProbeInterval), timerProbe, 0, 0)
	if cfg.GossipInterval > 0 && cfg.GossipNodes > 0 {
		n.timers.set(n.stagger(cfg.GossipInterval), timerGossip, 0, 0)
	}
	if cfg.PushPullInterval > 0 {
		n.timers.set(n.stagger(cfg.PushPullInterval), timerPushPullStart, 0, 0)
	}
	if cfg.ReconnectInterval > 0 {
		n.timers.set(n.stagger(cfg.ReconnectInterval), timerReconnect, 0, 0)
	}
	return n, nil
}

func (n *Node) stagger(d time.Duration) int64 { return n.rng.Int64N(int64(d)) }

// clock turns now into the node's monotonic nanoseconds.
func (n *Node) clock(now time.Time) {
	if t := int64(now.Sub(n.epoch)); t > n.now {
		n.now = t
	}
}

func (n *Node) time(t int64) time.Time { return n.epoch.Add(time.Duration(t)) }

// Advance fires every deadline at or before now.
func (n *Node) Advance(now time.Time) {
	n.clock(now)
	n.fire()
}

func (n *Node) fire() {
	for {
		t, ok := n.timers.pop(n.now)
		if !ok {
			break
		}
		n.onTimer(t)
	}
	n.timers.compact(n.timerLive)
}

// timerLive reports whether a timer still matters: its probe, relay or
// suspicion is the one it was set for.
func (n *Node) timerLive(t timer) bool {
	switch t.kind {
	case timerProbeDirect, timerProbeEnd:
		return n.probe.active && n.probe.seq == t.ref
	case timerRelay:
		_, ok := n.relays[t.ref]
		return ok
	case timerSuspicion:
		s := n.suspicions[t.ref]
		return s != nil && s.gen == t.gen
	}
	return true
}

// NextDeadline is when Advance must next be called.
func (n *Node) NextDeadline() (time.Time, bool) {
	t, ok := n.timers.next(n.timerLive)
	return n.time(t), ok
}

// Drain moves the outputs accumulated since the last Drain into out,
// which is reset first.
func (n *Node) Drain(out *Output) {
	out.Reset()
	n.out, *out = *out, n.out
}

func (n *Node) onTimer(t timer) {
	switch t.kind {
	case timerProbe:
		n.timers.set(n.nextTick(t.at, n.cfg.ProbeInterval), timerProbe, 0, 0)
		n.onProbeTick()
	case timerProbeDirect:
		n.onProbeDirectTimeout(uint32(t.ref))
	case timerProbeEnd:
		n.onProbeEnd(uint32(t.ref))
	case timerRelay:
		n.onRelayTimeout(t.ref)
	case timerGossip:
		n.gossipAt = t.at
		if n.queue.len() == 0 && n.cfg.App == nil {
			n.gossipIdle = true // broadcast rearms it
			return
		}
		n.timers.set(n.nextTick(t.at, n.cfg.GossipInterval), timerGossip, 0, 0)
		n.gossip()
	case timerPushPullStart:
		// As memberlist: the first push-pull comes one scaled period after
		// the stagger, not at it.
		n.timers.set(n.now+int64(pushPullScale(n.cfg.PushPullInterval, n.members.len())), timerPushPull, 0, 0)
	case timerPushPull:
		period := int64(pushPullScale(n.cfg.PushPullInterval, n.members.len()))
		if since := n.now - n.synced; since < period {
			// A push-pull either way within the period already exchanged
			// full state (memberlist starts its own regardless): wait a
			// period from that one instead, so that no node goes longer
			// than a period without a full sync, with about half the
			// exchanges.
			n.timers.set(n.synced+period, timerPushPull, 0, 0)
			return
		}
		n.timers.set(n.now+period, timerPushPull, 0, 0)
		n.periodicPushPull()
	case timerSuspicion:
		n.onSuspicionTimeout(t.ref, t.gen)
	case timerJoinSync:
		if n.followUp.IsValid() && !n.leaving {
			n.pushPullWith(n.followUp, false, 0)
			n.followUp = netip.AddrPort{}
		}
	case timerReconnect:
		n.timers.set(n.nextTick(t.at, n.cfg.ReconnectInterval), timerReconnect, 0, 0)
		n.tryReconnect()
	}
}

// nextTick is a periodic timer's next deadline after one due at at: the
// next one on the same phase that is still ahead, so a node that was
// stalled (paused, overloaded) fires once, like Go's ticker, instead of
// replaying every missed round at once.
func (n *Node) nextTick(at int64, period time.Duration) int64 {
	next := at + int64(period)
	if next <= n.now {
		next += (n.now - next) / int64(period) * int64(period)
		if next <= n.now {
			next += int64(period)
		}
	}
	return next
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Incarnation is the node's current incarnation number.
func (n *Node) Incarnation() uint32 { return n.incarnation }

// Health is Lifeguard's health score: 0 is healthy, higher is worse.
func (n *Node) Health() int { return n.aware.score }

// Counters returns the node's totals so far.
func (n *Node) Counters() Counters { return n.counters }

// NumMembers counts the member table's entries, dead and left included
// until they are forgotten (memberlist's estimate of the cluster size).
func (n *Node) NumMembers() int { return n.members.len() }

// NumAlive counts members, ourselves included, that are alive or suspect.
func (n *Node) NumAlive() int { return n.members.counts[StateAlive] + n.members.counts[StateSuspect] }

// QueuedBroadcasts is how many broadcasts wait in the gossip queue.
func (n *Node) QueuedBroadcasts() int { return n.queue.len() }

// Members appends a snapshot of every entry, in probe order.
func (n *Node) Members(dst []Member) []Member {
	for _, nameID := range n.members.order {
		dst = append(dst, n.snapshot(&n.members.entries[nameID]))
	}
	return dst
}

// Member returns the entry for name.
func (n *Node) Member(name string) (Member, bool) {
	if e := n.lookup(name); e != nil {
		return n.snapshot(e), true
	}
	return Member{}, false
}

// Self returns this node's own entry.
func (n *Node) Self() Member { return n.snapshot(n.members.get(n.self)) }

func (n *Node) lookup(name string) *entry {
	nameID, ok := n.dir.lookup(name)
	if !ok {
		return nil
	}
	return n.members.get(nameID)
}

func (n *Node) snapshot(e *entry) Member {
	return Member{
		Name:        e.id.name,
		Addr:        e.id.addr,
		Meta:        e.id.meta,
		Incarnation: e.inc,
		State:       e.state,
		StateChange: n.time(e.changed),
		Vsn:         e.id.vsn,
	}
}

func (n *Node) emit(ev Event) { n.out.Events = append(n.out.Events, ev) }

func (n *Node) drop(d Drop) { n.counters.Dropped[d]++ }

// sendPacket queues a packet as is.
func (n *Node) sendPacket(to netip.AddrPort, payload []byte, crc bool) {
	n.counters.PacketsOut++
	n.counters.BytesOut += uint64(len(payload))
	n.out.Packets = append(n.out.Packets, Packet{To: to, Payload: payload, CRC: crc})
}

// sendMsg sends one message with as many broadcasts piggybacked as fit
// (memberlist's sendMsg).
func (n *Node) sendMsg(to netip.AddrPort, m wire.Message) {
	msg := m.AppendTo(nil)
	// memberlist forgets the 2 bytes of msg's own part; PacketSize here
	// is a bound, so count them.
	budget := n.cfg.PacketSize - len(msg) - compoundHeader - compoundPerPart - n.cfg.PacketOverhead
	extra := n.broadcasts(n.scratch[:0], budget, wire.MaxCompoundParts-1)
	n.scratch = extra[:0]
	if len(extra) == 0 {
		n.sendPacket(to, msg, false)
		return
	}
	n.sendPacket(to, n.compound(append([][]byte{msg}, extra...)), false)
	clear(extra)
}

// Compound framing costs: the type byte and count, then 2 bytes per part.
const (
	compoundHeader  = 2
	compoundPerPart = 2
)

func (n *Node) compound(parts [][]byte) []byte {
	b, err := wire.AppendCompound(nil, parts...)
	if err != nil {
		panic(fmt.Sprintf("swim: compound: %v", err)) // parts are bounded by the budget
	}
	return b
}

// broadcasts takes queued broadcasts, then the application's, that fit in
// limit bytes (memberlist's getBroadcasts).
func (n *Node) broadcasts(dst [][]byte, limit, parts int) [][]byte {
	start := len(dst)
	transmits := retransmitLimit(n.cfg.RetransmitMult, n.members.len())
	dst = n.queue.takeN(dst, compoundPerPart, limit, parts, transmits, n.retired)
	if n.cfg.App == nil {
		return dst
	}
	used := 0
	for _, m := range dst[start:] {
		used += len(m) + compoundPerPart
	}
	const userOverhead = 1
	if avail := limit - used; avail > compoundPerPart+userOverhead {
		for _, p := range n.cfg.App.GetBroadcasts(compoundPerPart+userOverhead, avail) {
			// The application is trusted to respect the limits, but a
			// packet over budget or a compound over 255 parts must not
			// come of it.
			if used+compoundPerPart+userOverhead+len(p) > limit || len(dst)-start >= parts {
				n.drop(DropAppOverBudget)
				continue
			}
			used += compoundPerPart + userOverhead + len(p)
			dst = append(dst, append([]byte{byte(wire.UserMsg)}, p...))
		}
	}
	return dst
}

// retired reports a broadcast that will not be sent again.
func (n *Node) retired(b *broadcast) {
	switch b.done {
	case doneLeave:
		n.emit(Event{Kind: EventLeaveDone})
	case doneUpdate:
		n.emit(Event{Kind: EventUpdateDone})
	}
}

// broadcast queues an encoded message about key for gossip.
func (n *Node) broadcast(key string, m wire.Message, done doneKind) {
	if old := n.queue.push(key, m.AppendTo(nil), done); old != nil {
		n.retired(old)
	}
	if n.gossipIdle {
		n.gossipIdle = false
		n.timers.set(n.nextTick(n.gossipAt, n.cfg.GossipInterval), timerGossip, 0, 0)
	}
}

// randomMembers picks up to k members that keep selects, uniformly, as
// memberlist's kRandomNodes: a shuffled scan when few, else random draws.
func (n *Node) randomMembers(dst []uint32, k int, keep func(nameID uint32, e *entry) bool) []uint32 {
	order := n.members.order
	if len(order) < 3*k {
		perm := n.rng.Perm(len(order))
		for _, i := range perm {
			if len(dst) == k {
				break
			}
			if id := order[i]; keep(id, &n.members.entries[id]) {
				dst = append(dst, id)
			}
		}
		return dst
	}
	start := len(dst)
outer:
	for i := 0; i < 3*len(order) && len(dst)-start < k; i++ {
		id := order[n.rng.IntN(len(order))]
		if !keep(id, &n.members.entries[id]) {
			continue
		}
		for _, d := range dst[start:] {
			if d == id {
				continue outer
			}
		}
		dst = append(dst, id)
	}
	return dst
}
