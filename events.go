package rumor

import (
	"time"

	"github.com/rumorproject/rumor/internal/swim"
)

// EventKind says what happened to a member.
type EventKind uint8

// Membership events (memberlist's EventDelegate reports the first four)
// and, for observability, the rest.
const (
	EventJoin     EventKind = iota + 1 // a member became alive: new, or back from dead or left
	EventLeave                         // a member left gracefully
	EventFailed                        // a member was declared dead
	EventUpdate                        // a member's metadata changed
	EventSuspect                       // a member is suspected of having failed
	EventRecover                       // a suspected member proved alive
	EventRefute                        // this node refuted a suspicion of itself
	EventConflict                      // another address claims a member's name
)

var eventKinds = [...]string{"", "join", "leave", "failed", "update", "suspect", "recover", "refute", "conflict"}

func (k EventKind) String() string {
	if int(k) < len(eventKinds) && k > 0 {
		return eventKinds[k]
	}
	return "unknown"
}

// Event is a change the local node saw.
type Event struct {
	Kind   EventKind
	Member Member
	// From names the accuser of a suspicion, or who declared a death.
	From string
	// Other is the rejected claimant of an EventConflict.
	Other Member
	Time  time.Time
}

// coreKinds maps the core's event kinds users see to theirs.
var coreKinds = map[swim.EventKind]EventKind{
	swim.EventJoin: EventJoin, swim.EventLeave: EventLeave, swim.EventFailed: EventFailed,
	swim.EventUpdate: EventUpdate, swim.EventSuspect: EventSuspect, swim.EventRecover: EventRecover,
	swim.EventRefute: EventRefute, swim.EventConflict: EventConflict,
}

// eventOf translates a core event, if it is one users see.
func eventOf(ev swim.Event, now time.Time) (Event, bool) {
	k, ok := coreKinds[ev.Kind]
	if !ok {
		return Event{}, false
	}
	e := Event{Kind: k, Member: memberOf(ev.Member), From: ev.From, Time: now}
	if k == EventConflict {
		e.Other = memberOf(ev.Other)
	}
	return e, true
}

// Delegate lets the application take part in gossip. Its methods are
// called on the node's event loop, one at a time: they must return
// quickly, and may call the Node's snapshot methods (Members, NumMembers,
// LocalNode, HealthScore) but none that waits on the loop (Join, Leave,
// UpdateNode, Member, Stats, Broadcast, the Send methods).
type Delegate interface {
	// NotifyMsg receives a user message (best effort or reliable) or a
	// user broadcast. msg is the receiver's to keep.
	NotifyMsg(msg []byte)
	// GetBroadcasts returns user broadcasts to piggyback on gossip: each
	// costs overhead bytes plus its length, all within limit.
	GetBroadcasts(overhead, limit int) [][]byte
	// LocalState is the application state sent in a push-pull.
	LocalState(join bool) []byte
	// MergeRemoteState receives a peer's application state.
	MergeRemoteState(buf []byte, join bool)
}

// app adapts a Delegate to the protocol core's hooks.
type app struct{ d Delegate }

func (a app) AckPayload() []byte                         { return nil }
func (a app) LocalState(join bool) []byte                { return a.d.LocalState(join) }
func (a app) MergeRemoteState(state []byte, join bool)   { a.d.MergeRemoteState(state, join) }
func (a app) GetBroadcasts(overhead, limit int) [][]byte { return a.d.GetBroadcasts(overhead, limit) }
