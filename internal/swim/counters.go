package swim

// Drop is why the core ignored an input. Drops are counted, not returned:
// a peer's bad message is not the caller's error.
type Drop uint8

const (
	DropPingNotForUs     Drop = iota // a ping named another node
	DropUnknownAck                   // an ack or nack for no outstanding probe
	DropUnknownNode                  // a suspect or dead about a node we do not know
	DropStaleIncarnation             // an alive, suspect or dead older than what we hold
	DropBadVersion                   // an alive with an impossible protocol version range
	DropBadAddr                      // an address that is not 4 or 16 bytes
	DropMetaTooLarge                 // metadata over MetaMaxSize
	DropConflict                     // a second address claimed a member's name
	DropIncompatible                 // a push-pull whose versions we cannot speak
	DropTooManyNodes                 // a push-pull listing more nodes than allowed
	DropUnexpected                   // a message of a kind not expected where it came
	DropRelayBusy                    // too many indirect probes in flight for others
	DropAfterLeave                   // news about ourselves after we left
	DropEmptyName                    // a message about a node with no name
	DropBadIncarnation               // an accusation of us at an incarnation we cannot outbid
	DropAppOverBudget                // a user broadcast from App that did not fit the packet
	numDrops
)

var dropNames = [numDrops]string{"ping_not_for_us", "unknown_ack", "unknown_node",
	"stale_incarnation", "bad_version", "bad_addr", "meta_too_large", "conflict",
	"incompatible", "too_many_nodes", "unexpected", "relay_busy", "after_leave", "empty_name",
	"bad_incarnation", "app_over_budget"}

func (d Drop) String() string {
	if d < numDrops {
		return dropNames[d]
	}
	return "unknown"
}

// Drops lists every Drop, for metric labels.
func Drops() []Drop {
	ds := make([]Drop, numDrops)
	for i := range ds {
		ds[i] = Drop(i)
	}
	return ds
}

// Counters are the node's running totals.
type Counters struct {
	Dropped       [numDrops]uint64
	PacketsOut    uint64
	BytesOut      uint64 // payload bytes, before the envelope
	StreamsOut    uint64
	MessagesIn    uint64
	Probes        uint64
	ProbesFailed  uint64
	IndirectPings uint64
	Refutes       uint64
	Suspicions    uint64 // suspicions this node raised or accepted
}
