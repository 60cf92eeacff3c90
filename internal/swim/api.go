package swim

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// HandlePacket takes the messages of one received datagram (the parts of a
// compound in order), after the driver removed its envelope.
func (n *Node) HandlePacket(now time.Time, from netip.AddrPort, msgs []wire.Message) {
	n.clock(now)
	n.fire()
	for _, m := range msgs {
		n.counters.MessagesIn++
		switch m := m.(type) {
		case *wire.Ping:
			n.onPing(from, m)
		case *wire.IndirectPing:
			n.onIndirectPing(from, m)
		case *wire.Ack:
			n.onAck(m)
		case *wire.Nack:
			n.onNack(m)
		case *wire.Alive:
			if m.Port == 0 { // memberlist reads port 0 as its own port
				c := *m
				c.Port = n.selfID.addr.Port()
				m = &c
			}
			n.onAlive(from, m, false, doneNone)
		case *wire.Suspect:
			if m.Node == "" {
				n.drop(DropEmptyName)
				continue
			}
			n.onSuspect(m)
		case *wire.Dead:
			if m.Node == "" {
				n.drop(DropEmptyName)
				continue
			}
			n.onDead(m)
		case *wire.User:
			n.emit(Event{Kind: EventMessage, Payload: m.Payload})
		default:
			n.drop(DropUnexpected)
		}
	}
}

// doneNow reports a leave or update as complete at once (no one else is
// alive to hear it); its broadcast stays queued, for members that come
// back, but will not report completion a second time.
func (n *Node) doneNow(kind EventKind) {
	if b := n.queue.byKey[n.cfg.Name]; b != nil {
		b.done = doneNone
	}
	n.emit(Event{Kind: kind})
}

// ErrLeft is returned by calls that make no sense after Leave.
var ErrLeft = errors.New("swim: node has left")

// Leave announces a graceful leave. EventLeaveDone follows once the notice
// has been sent as often as a broadcast is, or at once if no other member
// is alive to hear it. The node keeps answering until the driver stops.
func (n *Node) Leave(now time.Time) error {
	n.clock(now)
	n.fire()
	if n.leaving {
		return ErrLeft
	}
	n.leaving = true
	e := n.members.get(n.self)
	n.onDead(&wire.Dead{Incarnation: e.inc, Node: n.cfg.Name, From: n.cfg.Name})
	if !n.anyAlive() {
		n.doneNow(EventLeaveDone)
	}
	return nil
}

func (n *Node) anyAlive() bool {
	others := n.NumAlive()
	if !n.members.entries[n.self].deadOrLeft() {
		others--
	}
	return others > 0
}

// UpdateMeta sets the node's metadata and announces it with a new
// incarnation. EventUpdateDone follows once the news has been sent as often
// as a broadcast is, or at once if no other member is alive.
func (n *Node) UpdateMeta(now time.Time, meta []byte) error {
	n.clock(now)
	n.fire()
	if len(meta) > MetaMaxSize {
		return fmt.Errorf("swim: metadata of %d bytes, more than %d", len(meta), MetaMaxSize)
	}
	if n.leaving {
		return ErrLeft
	}
	if n.incarnation == math.MaxUint32 {
		return errors.New("swim: incarnation exhausted; restart the node to update its metadata")
	}
	n.cfg.Meta = clone(meta)
	n.incarnation++
	id := n.selfID
	a := &wire.Alive{Incarnation: n.incarnation, Node: n.cfg.Name, Addr: id.rawAddr, Port: id.addr.Port(),
		Meta: n.cfg.Meta, Vsn: id.vsn[:]}
	n.onAlive(netip.AddrPort{}, a, true, doneUpdate)
	if !n.anyAlive() {
		n.doneNow(EventUpdateDone)
	}
	return nil
}

// SendPacket sends a user message to addr in a datagram, best effort, with
// broadcasts piggybacked.
func (n *Node) SendPacket(now time.Time, to netip.AddrPort, payload []byte) error {
	n.clock(now)
	n.fire()
	if limit := n.cfg.PacketSize - n.cfg.PacketOverhead - 1; len(payload) > limit {
		return fmt.Errorf("swim: user message of %d bytes, more than the %d a packet holds", len(payload), limit)
	}
	// Sent alone, as memberlist's SendToAddress: membership news does not
	// ride on packets to addresses that may not be members.
	u := &wire.User{Payload: payload}
	n.sendPacket(to, u.AppendTo(nil), false)
	return nil
}

// Broadcast queues a user message for gossip. It rides along with
// membership news, RetransmitMult·⌈log10(N+1)⌉ sends in all, as
// memberlist's user broadcasts do; receivers see an EventMessage
// (memberlist nodes: their delegate's NotifyMsg) and do not pass it on.
func (n *Node) Broadcast(now time.Time, payload []byte) error {
	n.clock(now)
	n.fire()
	limit := n.cfg.PacketSize - n.cfg.PacketOverhead - compoundHeader - compoundPerPart - 1
	switch {
	case len(payload) == 0:
		return fmt.Errorf("swim: empty user broadcast (memberlist drops them)")
	case len(payload) > limit:
		return fmt.Errorf("swim: user broadcast of %d bytes, more than the %d a gossip packet holds", len(payload), limit)
	}
	n.broadcast("", &wire.User{Payload: clone(payload)}, doneNone)
	return nil
}

// SendReliable sends a user message to addr over a stream.
func (n *Node) SendReliable(now time.Time, to netip.AddrPort, payload []byte) (StreamID, error) {
	n.clock(now)
	n.fire()
	if len(payload) > wire.MaxUserMsgBytes {
		return 0, fmt.Errorf("swim: user message of %d bytes, more than %d", len(payload), wire.MaxUserMsgBytes)
	}
	return n.openStream(StreamUser, to, &wire.User{Payload: clone(payload)}, n.time(n.now+int64(n.cfg.TCPTimeout))), nil
}

// Preload fills the member table with members as if learned long ago,
// without broadcasting or emitting events: a simulation starts from a
// converged cluster this way. Members already known and ourselves are
// skipped; so are entries the protocol could not carry.
func (n *Node) Preload(now time.Time, members []Member) {
	n.clock(now)
	n.announced()
	for i := range members {
		m := &members[i]
		if m.Name == "" || !m.Addr.IsValid() || len(m.Meta) > MetaMaxSize || m.State > StateLeft {
			continue
		}
		nameID := n.dir.acquire(m.Name)
		if n.members.get(nameID) != nil {
			n.dir.release(nameID)
			continue
		}
		id := n.dir.identity(nameID, m.Addr.Addr().AsSlice(), m.Addr.Port(), m.Meta, m.Vsn)
		n.members.insert(nameID, n.rng.IntN(n.members.len()+1), entry{id: id, inc: m.Incarnation, state: m.State, changed: n.now})
	}
}

// PreloadFrom is Preload with other's member table, which must share this
// node's Directory: it copies entries without hashing a name, so N nodes
// converge in O(N²) simple steps.
func (n *Node) PreloadFrom(now time.Time, other *Node) error {
	if other.dir != n.dir {
		return errors.New("swim: PreloadFrom a node with another Directory")
	}
	n.clock(now)
	n.announced()
	n.members.grow(len(other.members.entries))
	for _, nameID := range other.members.order {
		if n.members.get(nameID) != nil {
			continue
		}
		e := other.members.entries[nameID]
		e.changed = n.now
		n.dir.refs[nameID]++
		n.members.insert(nameID, n.rng.IntN(n.members.len()+1), e)
	}
	return nil
}

// announced drops our own alive queued by New: a preloaded node joined
// long ago, so it announced itself long ago.
func (n *Node) announced() {
	if b := n.queue.byKey[n.cfg.Name]; b != nil && b.done == doneNone {
		n.queue.remove(b)
	}
}

// CountStates counts the member table's entries by state.
func (n *Node) CountStates() [4]int { return n.members.counts }
