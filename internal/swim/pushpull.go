package swim

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// pushPullScale stretches the push-pull interval for clusters over 32
// members, as memberlist: ×(⌈log2(n) − log2(32)⌉ + 1).
func pushPullScale(interval time.Duration, n int) time.Duration {
	const threshold = 32
	if n <= threshold {
		return interval
	}
	mult := math.Ceil(math.Log2(float64(n))-math.Log2(threshold)) + 1
	return time.Duration(mult) * interval
}

// pendingStream is a stream the node asked for and awaits the end of.
type pendingStream struct {
	kind StreamKind
	join uint64 // the Join call a push-pull belongs to, if any
	to   netip.AddrPort
}

// joinOp is a Join call waiting for its push-pulls.
type joinOp struct {
	pending   int
	contacted int
	errs      []error
	answered  netip.AddrPort // the first seed that answered
}

func (n *Node) openStream(kind StreamKind, to netip.AddrPort, m wire.Message, deadline time.Time) StreamID {
	n.streamID++
	n.counters.StreamsOut++
	n.streams[n.streamID] = pendingStream{kind: kind, to: to}
	n.out.Streams = append(n.out.Streams, Stream{ID: n.streamID, Kind: kind, To: to, Msg: m, Deadline: deadline})
	return n.streamID
}

// localState is our member table as a push-pull.
func (n *Node) localState(join bool) *wire.PushPull {
	pp := &wire.PushPull{Join: join, Nodes: make([]wire.PushNodeState, 0, n.members.len())}
	for _, nameID := range n.members.order {
		e := &n.members.entries[nameID]
		pp.Nodes = append(pp.Nodes, wire.PushNodeState{Name: e.id.name, Addr: e.id.rawAddr,
			Port: e.id.addr.Port(), Meta: e.id.meta, Incarnation: e.inc,
			State: wire.NodeState(e.state), Vsn: e.id.vsn[:]})
	}
	if n.cfg.App != nil {
		pp.UserState = n.cfg.App.LocalState(join)
	}
	return pp
}

func (n *Node) periodicPushPull() {
	peers := n.randomMembers(nil, 1, func(id uint32, e *entry) bool {
		return id != n.self && e.state == StateAlive
	})
	if len(peers) == 0 {
		return
	}
	n.pushPullWith(n.members.entries[peers[0]].id.addr, false, 0)
}

func (n *Node) pushPullWith(to netip.AddrPort, join bool, op uint64) {
	id := n.openStream(StreamPushPull, to, n.localState(join), n.time(n.now+int64(n.cfg.TCPTimeout)))
	ps := n.streams[id]
	ps.join = op
	n.streams[id] = ps
}

// errIncompatible is wrapped when a push-pull's versions cannot be spoken.
var errIncompatible = errors.New("incompatible protocol versions")

// mergeRemote checks and merges a peer's push-pull (memberlist's
// mergeRemoteState). join is whether the exchange is a join: the
// initiator's flag, which the acceptor learns from the request.
func (n *Node) mergeRemote(pp *wire.PushPull, join bool) error {
	if len(pp.Nodes) > wire.MaxPushStateNodes {
		n.drop(DropTooManyNodes)
		return fmt.Errorf("push-pull lists %d nodes, more than %d", len(pp.Nodes), wire.MaxPushStateNodes)
	}
	if err := n.verifyProtocol(pp.Nodes); err != nil {
		n.drop(DropIncompatible)
		return err
	}
	for i := range pp.Nodes {
		r := &pp.Nodes[i]
		switch r.State { // unknown states are skipped, as memberlist does
		case wire.StateAlive:
			port := r.Port
			if port == 0 { // memberlist reads port 0 as its own port
				port = n.selfID.addr.Port()
			}
			n.onAlive(netip.AddrPort{}, &wire.Alive{Incarnation: r.Incarnation, Node: r.Name, Addr: r.Addr,
				Port: port, Meta: r.Meta, Vsn: r.Vsn}, false, doneNone)
		case wire.StateLeft:
			n.onDead(&wire.Dead{Incarnation: r.Incarnation, Node: r.Name, From: r.Name})
		case wire.StateDead, wire.StateSuspect:
			// A remote death is only a suspicion here: the member gets a
			// chance to refute.
			n.onSuspect(&wire.Suspect{Incarnation: r.Incarnation, Node: r.Name, From: n.cfg.Name})
		}
	}
	if pp.UserState != nil && n.cfg.App != nil {
		n.cfg.App.MergeRemoteState(pp.UserState, join)
	}
	return nil
}

// verifyProtocol checks that every alive member, ours and theirs, speaks a
// version within the range all of them support (memberlist's
// verifyProtocol).
func (n *Node) verifyProtocol(remote []wire.PushNodeState) error {
	var pmin, dmin uint8
	var pmax, dmax uint8 = math.MaxUint8, math.MaxUint8
	widen := func(v []uint8) {
		pmin, pmax = max(pmin, v[0]), min(pmax, v[1])
		dmin, dmax = max(dmin, v[3]), min(dmax, v[4])
	}
	for i := range remote {
		if r := &remote[i]; r.State == wire.StateAlive && len(r.Vsn) >= 5 {
			widen(r.Vsn)
		}
	}
	for _, nameID := range n.members.order {
		if e := &n.members.entries[nameID]; e.state == StateAlive {
			widen(e.id.vsn[:])
		}
	}
	check := func(name string, pcur, dcur uint8) error {
		if pcur < pmin || pcur > pmax {
			return fmt.Errorf("node %q speaks protocol %d, outside [%d, %d]: %w", name, pcur, pmin, pmax, errIncompatible)
		}
		if dcur < dmin || dcur > dmax {
			return fmt.Errorf("node %q speaks delegate protocol %d, outside [%d, %d]: %w", name, dcur, dmin, dmax, errIncompatible)
		}
		return nil
	}
	for i := range remote {
		var pcur, dcur uint8
		if r := &remote[i]; len(r.Vsn) >= 6 {
			pcur, dcur = r.Vsn[2], r.Vsn[5]
		}
		if err := check(remote[i].Name, pcur, dcur); err != nil {
			return err
		}
	}
	for _, nameID := range n.members.order {
		// memberlist checks its dead too; a dead member's versions do not
		// matter, and one that never said a full Vsn would block every
		// merge until it is reaped.
		e := &n.members.entries[nameID]
		if e.deadOrLeft() {
			continue
		}
		if err := check(e.id.name, e.id.vsn[2], e.id.vsn[5]); err != nil {
			return err
		}
	}
	return nil
}

// HandleStream takes a message that arrived on a stream a peer opened and
// returns the reply to write back, or nil for none.
func (n *Node) HandleStream(now time.Time, from netip.AddrPort, m wire.Message) wire.Message {
	n.clock(now)
	n.fire()
	n.counters.MessagesIn++
	switch m := m.(type) {
	case *wire.PushPull:
		// memberlist answers with its state before merging; answering after
		// tells the peer what it taught us, including our refutation if it
		// held us dead (which is how two healed partitions meet).
		// A bad merge is counted; the peer still gets our state. Serving a
		// join is no full sync: a joiner's state is not the cluster's; nor
		// is an empty push-pull (rumor inspect's, which must not hold off
		// this node's own push-pulls however often it looks).
		if n.mergeRemote(m, m.Join) == nil && !m.Join && len(m.Nodes) > 0 {
			n.synced = n.now
		}
		return n.localState(m.Join) // memberlist echoes the join flag
	case *wire.Ping:
		if m.Node != "" && m.Node != n.cfg.Name {
			n.drop(DropPingNotForUs)
			return nil
		}
		return &wire.Ack{SeqNo: m.SeqNo}
	case *wire.User:
		if len(m.Payload) > 0 { // memberlist skips empty user messages
			n.emit(Event{Kind: EventMessage, Payload: m.Payload})
		}
		return nil
	}
	n.drop(DropUnexpected) // memberlist closes such a stream without a word
	return nil
}

// StreamDone reports how a stream the node asked for ended: the peer's
// reply (nil for kinds without one), or an error.
func (n *Node) StreamDone(now time.Time, id StreamID, reply wire.Message, err error) {
	n.clock(now)
	n.fire()
	ps, ok := n.streams[id]
	if !ok {
		return
	}
	delete(n.streams, id)
	switch ps.kind {
	case StreamPing:
		n.onTCPPingDone(id, reply, err)
	case StreamPushPull:
		if err == nil {
			refutes := n.counters.Refutes
			if err = n.onPushPullReply(reply, ps.join != 0); err == nil {
				n.synced = n.now
			}
			if n.counters.Refutes != refutes {
				// The peer held us dead or suspect: tell it first, directly.
				n.sendPacket(ps.to, n.selfAlive().AppendTo(nil), false)
			}
		}
		if ps.join != 0 {
			n.joinResult(ps.join, ps.to, err)
		}
	}
}

func (n *Node) onPushPullReply(reply wire.Message, join bool) error {
	switch m := reply.(type) {
	case *wire.PushPull:
		return n.mergeRemote(m, join)
	case *wire.ErrResp:
		return fmt.Errorf("peer answered with an error: %s", m.Error)
	case nil:
		return errors.New("no push-pull reply")
	}
	n.drop(DropUnexpected)
	return fmt.Errorf("push-pull answered with a %v message", reply.Type())
}

// Join starts a joining push-pull with each seed. When all have ended, an
// EventJoinDone with the returned Op reports how many answered (N) and
// why the others did not (Err).
func (n *Node) Join(now time.Time, seeds []netip.AddrPort) (op uint64) {
	n.clock(now)
	n.fire()
	n.joinSeq++
	if len(seeds) == 0 {
		n.emit(Event{Kind: EventJoinDone, Op: n.joinSeq, Err: errors.New("no seeds to join")})
		return n.joinSeq
	}
	n.joins[n.joinSeq] = &joinOp{pending: len(seeds)}
	for _, s := range seeds {
		n.pushPullWith(s, true, n.joinSeq)
	}
	return n.joinSeq
}

func (n *Node) joinResult(opID uint64, to netip.AddrPort, err error) {
	op := n.joins[opID]
	if err != nil {
		op.errs = append(op.errs, fmt.Errorf("join %s: %w", to, err))
	} else {
		if op.contacted == 0 {
			op.answered = to
		}
		op.contacted++
	}
	if op.pending--; op.pending > 0 {
		return
	}
	delete(n.joins, opID)
	if op.contacted > 0 {
		// Nodes often start together: a seed learns of the others that
		// joined through it just after us. One more exchange with it a few
		// probe intervals later hands us those, instead of waiting for
		// gossip to carry each one (memberlist does not do this; its
		// periodic push-pull comes only after 30 s or more).
		n.followUp = op.answered
		n.timers.set(n.now+int64(n.cfg.ProbeInterval)+n.rng.Int64N(2*int64(n.cfg.ProbeInterval)), timerJoinSync, 0, 0)
	}
	n.emit(Event{Kind: EventJoinDone, Op: opID, N: op.contacted, Err: errors.Join(op.errs...)})
}
