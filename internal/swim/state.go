package swim

import (
	"math"
	"net/netip"

	"github.com/rumorproject/rumor/internal/wire"
)

// onAlive applies memberlist's alive rules (state.go aliveNode). bootstrap
// is set for the node's own updates, which must not be refuted.
func (n *Node) onAlive(from netip.AddrPort, a *wire.Alive, bootstrap bool, done doneKind) {
	if a.Node == "" {
		n.drop(DropEmptyName)
		return
	}
	if n.leaving && a.Node == n.cfg.Name {
		n.drop(DropAfterLeave)
		return
	}
	var vsn [6]uint8
	copy(vsn[:], a.Vsn)
	if len(a.Vsn) >= 3 && (vsn[0] == 0 || vsn[1] == 0 || vsn[0] > vsn[1]) {
		n.drop(DropBadVersion)
		return
	}
	if len(a.Addr) != 4 && len(a.Addr) != 16 {
		n.drop(DropBadAddr)
		return
	}
	if len(a.Meta) > MetaMaxSize {
		n.drop(DropMetaTooLarge)
		return
	}
	nameID, known := n.dir.lookup(a.Node)
	e := n.members.get(nameID)
	if !known || e == nil {
		nameID = n.dir.acquire(a.Node)
		// A new entry starts dead at incarnation 0, as in memberlist: an
		// alive at incarnation 0 leaves it dead. memberlist takes the
		// versions only from a full vector.
		var newVsn [6]uint8
		if len(a.Vsn) >= 6 {
			newVsn = vsn
		}
		e = n.members.insert(nameID, n.rng.IntN(n.members.len()+1),
			entry{id: n.dir.identity(nameID, a.Addr, a.Port, a.Meta, newVsn), state: StateDead, changed: neverChanged})
	}
	reclaim := false
	if string(e.id.rawAddr) != string(a.Addr) || e.id.addr.Port() != a.Port {
		canReclaim := n.cfg.DeadNodeReclaimTime > 0 && n.now-e.changed > int64(n.cfg.DeadNodeReclaimTime)
		if e.state != StateLeft && (e.state != StateDead || !canReclaim) {
			n.drop(DropConflict)
			other := Member{Name: a.Node, Meta: a.Meta, Incarnation: a.Incarnation, Vsn: vsn}
			if ip, ok := netip.AddrFromSlice(a.Addr); ok {
				other.Addr = netip.AddrPortFrom(ip, a.Port)
			}
			n.emit(Event{Kind: EventConflict, Member: n.snapshot(e), Other: other})
			return
		}
		reclaim = true
	}
	isSelf := nameID == n.self
	if !isSelf && !reclaim && a.Incarnation <= e.inc {
		n.drop(DropStaleIncarnation)
		if a.Incarnation < e.inc {
			n.tellStale(from, nameID, e)
		}
		return
	}
	if isSelf && a.Incarnation < e.inc {
		n.drop(DropStaleIncarnation)
		return
	}
	n.endSuspicion(nameID)
	oldState, oldMeta := e.state, e.id.meta
	if !bootstrap && isSelf {
		if a.Incarnation == e.inc && string(a.Meta) == string(e.id.meta) && len(a.Vsn) == 6 && vsn == e.id.vsn {
			return // our own alive, echoed back
		}
		n.refute(e, a.Incarnation)
		return
	}
	n.broadcast(a.Node, a, done)
	if len(a.Vsn) < 6 {
		vsn = e.id.vsn // memberlist keeps the versions it had
	}
	e.id = n.dir.identity(nameID, a.Addr, a.Port, a.Meta, vsn)
	e.inc = a.Incarnation
	if isSelf {
		n.selfID, n.incarnation = e.id, a.Incarnation
	}
	if e.state != StateAlive {
		n.members.setState(e, StateAlive)
		e.changed = n.now
	}
	switch {
	case oldState == StateDead || oldState == StateLeft:
		n.emit(Event{Kind: EventJoin, Member: n.snapshot(e)})
	case string(oldMeta) != string(e.id.meta):
		n.emit(Event{Kind: EventUpdate, Member: n.snapshot(e)})
	case oldState == StateSuspect:
		n.emit(Event{Kind: EventRecover, Member: n.snapshot(e)})
	}
}

// neverChanged is the change time of an entry that was never alive
// (memberlist's zero time): long enough ago to be reaped at the next pass,
// left out of gossip, and reclaimable.
const neverChanged = -(1 << 62)

// tellStale answers a stale alive from a member we hold dead or left with
// that notice, straight to it, at most once per probe interval.
func (n *Node) tellStale(from netip.AddrPort, nameID uint32, e *entry) {
	if !n.cfg.TellStaleAlive || !e.deadOrLeft() || from.Port() != e.id.addr.Port() ||
		from.Addr().Unmap() != e.id.addr.Addr().Unmap() { // a 16-byte IPv4 advertise is common
		return
	}
	if last, ok := n.staleTold[nameID]; ok && n.now-last < int64(n.cfg.ProbeInterval) {
		return
	}
	n.staleTold[nameID] = n.now
	accuser := n.cfg.Name
	if e.state == StateLeft {
		accuser = e.id.name
	}
	d := &wire.Dead{Incarnation: e.inc, Node: e.id.name, From: accuser}
	n.sendPacket(e.id.addr, d.AppendTo(nil), false)
}

// refute raises our incarnation above an accusation's and says we are alive.
func (n *Node) refute(e *entry, accused uint32) {
	if accused >= math.MaxUint32-1 {
		// Outbidding would wrap to 0 and we could never refute again
		// (memberlist wraps). Such an accusation is an attack or a bug.
		n.drop(DropBadIncarnation)
		return
	}
	n.incarnation++
	if accused >= n.incarnation {
		n.incarnation = accused + 1
	}
	e.inc = n.incarnation
	n.counters.Refutes++
	n.aware.apply(1)
	n.emit(Event{Kind: EventRefute, Member: n.snapshot(e)})
	// Queued under our address rather than our name, as memberlist does, so
	// it does not replace a pending message about us.
	n.broadcast(n.cfg.Addr.Addr().String(), n.selfAlive(), doneNone)
}

func (n *Node) selfAlive() *wire.Alive {
	id := n.selfID
	return &wire.Alive{Incarnation: n.incarnation, Node: id.name, Addr: id.rawAddr,
		Port: id.addr.Port(), Meta: id.meta, Vsn: id.vsn[:]}
}

// accused returns the entry an accusation (suspect or dead) is about, or
// nil, counted, when the member is unknown or the accusation is older than
// what we hold.
func (n *Node) accused(name string, inc uint32) (uint32, *entry) {
	nameID, ok := n.dir.lookup(name)
	e := n.members.get(nameID)
	if !ok || e == nil {
		n.drop(DropUnknownNode)
		return 0, nil
	}
	if inc < e.inc {
		n.drop(DropStaleIncarnation)
		return 0, nil
	}
	return nameID, e
}

// onSuspect applies memberlist's suspect rules (state.go suspectNode).
func (n *Node) onSuspect(s *wire.Suspect) {
	nameID, e := n.accused(s.Node, s.Incarnation)
	if e == nil {
		return
	}
	if sus := n.suspicions[nameID]; sus != nil {
		if sus.confirm(s.From) {
			n.broadcast(s.Node, s, doneNone)
			sus.gen = n.nextTimerGen()
			n.timers.set(max(sus.deadline(), n.now), timerSuspicion, nameID, sus.gen)
		}
		return
	}
	if e.state != StateAlive {
		return
	}
	if nameID == n.self {
		n.refute(e, s.Incarnation)
		return
	}
	n.broadcast(s.Node, s, doneNone)
	n.counters.Suspicions++
	e.inc = s.Incarnation
	n.members.setState(e, StateSuspect)
	e.changed = n.now
	sus := newSuspicion(n.now, s.From, n.cfg.SuspicionMult, n.cfg.SuspicionMaxTimeoutMult,
		n.members.len(), n.cfg.ProbeInterval)
	sus.gen = n.nextTimerGen()
	n.suspicions[nameID] = sus
	n.timers.set(sus.deadline(), timerSuspicion, nameID, sus.gen)
	n.emit(Event{Kind: EventSuspect, Member: n.snapshot(e), From: s.From})
}

func (n *Node) endSuspicion(nameID uint32) { delete(n.suspicions, nameID) }

// nextTimerGen numbers suspicion deadlines node-wide, so a timer left from
// an ended suspicion never matches a later one about the same member.
func (n *Node) nextTimerGen() uint32 {
	n.timerGen++
	return n.timerGen
}

func (n *Node) onSuspicionTimeout(nameID, gen uint32) {
	sus := n.suspicions[nameID]
	if sus == nil || sus.gen != gen {
		return
	}
	e := n.members.get(nameID)
	if e == nil || e.state != StateSuspect || e.changed != sus.start {
		delete(n.suspicions, nameID)
		return
	}
	n.onDead(&wire.Dead{Incarnation: e.inc, Node: e.id.name, From: n.cfg.Name})
}

// onDead applies memberlist's dead rules (state.go deadNode).
func (n *Node) onDead(d *wire.Dead) {
	nameID, e := n.accused(d.Node, d.Incarnation)
	if e == nil {
		return
	}
	n.endSuspicion(nameID)
	if e.deadOrLeft() {
		return
	}
	if nameID == n.self {
		if !n.leaving {
			n.refute(e, d.Incarnation)
			return
		}
		n.broadcast(d.Node, d, doneLeave)
	} else {
		n.broadcast(d.Node, d, doneNone)
	}
	e.inc = d.Incarnation
	state, kind := StateDead, EventFailed
	if d.From == d.Node {
		state, kind = StateLeft, EventLeave
	}
	n.members.setState(e, state)
	e.changed = n.now
	n.emit(Event{Kind: kind, Member: n.snapshot(e), From: d.From})
}
