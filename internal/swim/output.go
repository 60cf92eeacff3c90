package swim

import (
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// Output is what a node produced since the last Drain. The caller owns it
// (and every slice in it) once Drain returns.
type Output struct {
	Packets []Packet
	Streams []Stream
	Events  []Event
}

// Reset empties o, keeping its capacity, except an event buffer grown by a
// burst (a join, a merge), which it lets go rather than hold for the
// node's life.
func (o *Output) Reset() {
	clear(o.Packets)
	clear(o.Streams)
	clear(o.Events)
	o.Packets, o.Streams, o.Events = o.Packets[:0], o.Streams[:0], o.Events[:0]
	if cap(o.Events) > maxKeptEvents {
		o.Events = nil
	}
}

// maxKeptEvents bounds the event buffer Reset keeps: a flush usually has
// none to a few.
const maxKeptEvents = 8

// Packet is a datagram to send. Payload is one encoded message or a
// compound; the driver adds compression, CRC (when CRC is set: the
// recipient understands it), encryption and the label.
type Packet struct {
	To      netip.AddrPort
	Payload []byte
	CRC     bool
}

// StreamID names a stream the node asked for, so the driver can report how
// it ended with [Node.StreamDone].
type StreamID uint64

// StreamKind says why the node wants a stream.
type StreamKind uint8

const (
	StreamPushPull StreamKind = iota + 1 // send Msg (*wire.PushPull), read the peer's push-pull
	StreamPing                           // TCP fallback probe: send Msg (*wire.Ping), read an ack
	StreamUser                           // reliable user message: send Msg (*wire.User), no reply
)

func (k StreamKind) String() string {
	switch k {
	case StreamPushPull:
		return "push-pull"
	case StreamPing:
		return "ping"
	case StreamUser:
		return "user"
	}
	return "unknown"
}

// Stream asks the driver to open a stream to To, send Msg and, for kinds
// that expect one, read one reply message, all before Deadline; then to call
// StreamDone with the reply or the error, exactly once.
type Stream struct {
	ID       StreamID
	Kind     StreamKind
	To       netip.AddrPort
	Msg      wire.Message
	Deadline time.Time
}

// EventKind says what happened.
type EventKind uint8

const (
	// Membership, as memberlist's EventDelegate reports it.
	EventJoin   EventKind = iota + 1 // a member became alive (new, or back from dead/left)
	EventLeave                       // a member left gracefully (Member.State == StateLeft)
	EventFailed                      // a member was declared dead
	EventUpdate                      // a member's metadata changed
	// Observability.
	EventSuspect  // a member became suspect; From accused it
	EventRecover  // a suspect member was proven alive
	EventRefute   // this node refuted an accusation; Member.Incarnation is the new one
	EventConflict // two addresses claim Member.Name; Other is the rejected claimant
	// Application.
	EventMessage      // a user message arrived; Payload holds it
	EventPingComplete // a probe was acked; Member, RTT and Payload (the ack's)
	// Completions of API calls.
	EventJoinDone   // Join finished: N seeds answered; Err joins the others' errors
	EventLeaveDone  // the leave notice has been sent enough times
	EventUpdateDone // the metadata update has been sent enough times
)

var eventNames = [...]string{"", "join", "leave", "failed", "update", "suspect", "recover",
	"refute", "conflict", "message", "ping-complete", "join-done", "leave-done", "update-done"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && k > 0 {
		return eventNames[k]
	}
	return "unknown"
}

// Event is a notification from the core.
type Event struct {
	Kind    EventKind
	Member  Member
	Other   Member // EventConflict only
	From    string // EventSuspect: the accuser; EventFailed: who declared it
	Payload []byte
	RTT     time.Duration
	N       int
	Op      uint64 // EventJoinDone: what Join returned
	Err     error
}
