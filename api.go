package rumor

import (
	"context"
	"fmt"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/transport"
)

// Stats are the node's running totals and its view now: what a metrics
// exporter reads on each scrape. Maps are the caller's.
type Stats struct {
	EventsDropped uint64 // events the Events channel had no room for
	// DecodeErrors counts received packets and streams that did not decode
	// (garbage, a wrong key or label); LastDecodeError is the latest.
	DecodeErrors    uint64
	LastDecodeError error
	// What the sockets dropped: datagrams the node had no time for (the
	// queue was full) or that were too long, and streams over the limit.
	PacketsDropped, PacketsTooLarge, StreamsRejected uint64

	// Datagrams and their bytes on the wire, envelope included.
	// StreamsOut counts the streams this node opened (push-pulls, TCP
	// probes, reliable sends); PushPulls the full-state exchanges it
	// started, and PushPullsFailed those that did not complete.
	PacketsIn, PacketsOut, BytesIn, BytesOut uint64
	StreamsOut, PushPulls, PushPullsFailed   uint64
	// Messages in datagrams, each part of a compound on its own, and their
	// encoded bytes, by memberlist's type names ("ping", "ack", "alive",
	// "suspect", "dead", "user", ...).
	MessagesIn, MessagesOut, MessageBytesIn, MessageBytesOut map[string]uint64
	// Streams' messages by type ("push_pull", "user", "ping", "ack",
	// "err") and their bytes on the wire, envelope included: both the
	// streams this node opened and those it served.
	StreamMessagesIn, StreamMessagesOut map[string]uint64
	StreamBytesIn, StreamBytesOut       uint64

	// The protocol's work.
	Probes, ProbesFailed, IndirectProbes, Suspicions, Refutes uint64
	// Dropped counts protocol messages ignored, by reason
	// ("stale_incarnation", "unknown_node", "conflict", ...).
	Dropped map[string]uint64

	// Members counts the member table by state: "alive", "suspect",
	// "dead", "left" (dead and left members are kept for a while).
	Members map[string]int
	// QueuedBroadcasts is the gossip queue's depth: membership news and
	// metadata not yet sent as often as they will be.
	QueuedBroadcasts int
	Health           int // as HealthScore
}

// Stats returns the node's totals so far.
func (n *Node) Stats() Stats {
	s := Stats{EventsDropped: n.dropped.Load(), DecodeErrors: n.decodeErrs.Load(), Dropped: map[string]uint64{}}
	s.LastDecodeError, _ = n.lastDecodeErr.Load().(error)
	if r, ok := n.tr.(transport.StatsReporter); ok {
		ts := r.Stats()
		s.PacketsDropped, s.PacketsTooLarge, s.StreamsRejected = ts.PacketsDropped, ts.PacketsTooLarge, ts.StreamsRejected
	}
	_ = n.call(func(time.Time) { n.fillStats(&s) })
	return s
}

// AllMembers returns the whole member table, this node included: unlike
// Members, it lists dead and left members too, for as long as they are
// kept (GossipToTheDeadTime).
func (n *Node) AllMembers() []Member {
	var ms []swim.Member
	if err := n.call(func(time.Time) { ms = n.core.Members(nil) }); err != nil {
		return nil
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = memberOf(m)
	}
	return out
}

// Member returns this node's entry for name, in any state (dead and left
// members are kept for a while), and whether there is one.
func (n *Node) Member(name string) (Member, bool) {
	var m swim.Member
	var ok bool
	if err := n.call(func(time.Time) { m, ok = n.core.Member(name) }); err != nil || !ok {
		return Member{}, false
	}
	return memberOf(m), true
}

// UpdateNode replaces this node's metadata (at most 512 bytes) and waits
// until the news has been gossiped enough, or ctx ends.
func (n *Node) UpdateNode(ctx context.Context, meta []byte) error {
	ch := make(chan struct{})
	var err error
	if cerr := n.call(func(now time.Time) {
		if err = n.core.UpdateMeta(now, meta); err == nil {
			n.updateWait = append(n.updateWait, ch)
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("rumor: update node: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rumor: update node: %w", ctx.Err())
	case <-n.ctx.Done():
		return ErrShutdown
	}
}

// SendBestEffort sends msg to a member in one datagram: no delivery
// guarantee, at most UDPBufferSize bytes less the envelope.
func (n *Node) SendBestEffort(to Member, msg []byte) error {
	var err error
	if cerr := n.call(func(now time.Time) { err = n.core.SendPacket(now, to.Addr, msg) }); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("rumor: send to %s: %w", to.Name, err)
	}
	return nil
}

// SendReliable sends msg to a member over a stream and returns once it
// was written, or failed, or ctx ended.
func (n *Node) SendReliable(ctx context.Context, to Member, msg []byte) error {
	ch := make(chan error, 1)
	var err error
	if cerr := n.call(func(now time.Time) {
		var id swim.StreamID
		if id, err = n.core.SendReliable(now, to.Addr, msg); err == nil {
			n.sends[id] = ch
		}
	}); cerr != nil {
		return cerr
	}
	if err == nil {
		select {
		case err = <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		case <-n.ctx.Done():
			return ErrShutdown
		}
	}
	if err != nil {
		return fmt.Errorf("rumor: send reliably to %s: %w", to.Name, err)
	}
	return nil
}

// Broadcast queues msg for gossip, as memberlist's user broadcasts: it
// rides on gossip packets to random members, RetransmitMult·⌈log10(N+1)⌉
// sends in all, and receivers (rumor and memberlist nodes alike, through
// their Delegate's NotifyMsg) do not pass it on. It reaches every member
// of a small cluster with high probability, and in a large one only about
// that many; to reach each member, send to each (SendReliable), or relay
// on receipt with an ID to drop repeats, as Serf does with its events.
// msg must fit a gossip packet: at most UDPBufferSize less about 10 bytes.
func (n *Node) Broadcast(msg []byte) error {
	var err error
	if cerr := n.call(func(now time.Time) { err = n.core.Broadcast(now, msg) }); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("rumor: broadcast: %w", err)
	}
	return nil
}
