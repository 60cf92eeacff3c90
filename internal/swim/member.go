package swim

import (
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// State is a member's state as this node sees it. The values are
// memberlist's, as sent in push-pull.
type State uint8

const (
	StateAlive   = State(wire.StateAlive)
	StateSuspect = State(wire.StateSuspect)
	StateDead    = State(wire.StateDead)
	StateLeft    = State(wire.StateLeft)
)

func (s State) String() string { return wire.NodeState(s).String() }

// Member is a snapshot of one member table entry.
type Member struct {
	Name        string
	Addr        netip.AddrPort
	Meta        []byte // shared; do not modify
	Incarnation uint32
	State       State
	// StateChange is when the state last changed, as seen by this node.
	StateChange time.Time
	// Vsn is [PMin, PMax, PCur, DMin, DMax, DCur].
	Vsn [6]uint8
}

// identity is what a node says about itself in an alive message: immutable
// once made, and shared by every table that holds the same values (see
// Directory), so a full view costs a pointer per member, not a copy.
type identity struct {
	name    string
	addr    netip.AddrPort
	rawAddr []byte // the address bytes exactly as advertised (4 or 16)
	meta    []byte
	vsn     [6]uint8
	nameID  uint32
}

func (id *identity) same(raw []byte, port uint16, meta []byte, vsn [6]uint8) bool {
	return string(id.rawAddr) == string(raw) && id.addr.Port() == port &&
		string(id.meta) == string(meta) && id.vsn == vsn
}

// entry is one member table slot, kept small: a full view of 10,000 nodes
// in each of 10,000 simulated nodes is 10⁸ entries.
type entry struct {
	id      *identity // nil: no such member
	changed int64     // last state change, nanoseconds on the node's clock
	inc     uint32
	state   State
}

func (e *entry) deadOrLeft() bool { return e.state == StateDead || e.state == StateLeft }

// table is the member table. Entries are indexed by the Directory's name
// IDs; order holds the IDs present, in probe order (memberlist's nodes
// slice), which is also the order of push-pull and listings.
type table struct {
	entries []entry
	order   []uint32
	counts  [4]int // entries per state
}

func (t *table) get(nameID uint32) *entry {
	if int(nameID) >= len(t.entries) || t.entries[nameID].id == nil {
		return nil
	}
	return &t.entries[nameID]
}

func (t *table) len() int { return len(t.order) }

// insert adds nameID at position offset of the probe order, moving the
// member there to the end, as memberlist does, so new members are not all
// probed last.
func (t *table) insert(nameID uint32, offset int, e entry) *entry {
	t.grow(int(nameID) + 1)
	n := len(t.order)
	t.order = append(t.order, nameID)
	t.order[offset], t.order[n] = t.order[n], t.order[offset]
	t.entries[nameID] = e
	t.counts[e.state]++
	return &t.entries[nameID]
}

// grow makes room for name IDs below size.
func (t *table) grow(size int) {
	if size > len(t.entries) {
		t.entries = append(t.entries, make([]entry, size-len(t.entries))...)
	}
}

// setState changes an entry's state, keeping the counts.
func (t *table) setState(e *entry, s State) {
	t.counts[e.state]--
	t.counts[s]++
	e.state = s
}

// reap removes the members drop selects, keeping the others in order,
// and calls gone for each removed one after its entry is cleared.
func (t *table) reap(drop func(*entry) bool, gone func(nameID uint32)) {
	kept := t.order[:0]
	for _, nameID := range t.order {
		if e := &t.entries[nameID]; drop(e) {
			t.counts[e.state]--
			*e = entry{}
			gone(nameID)
			continue
		}
		kept = append(kept, nameID)
	}
	clear(t.order[len(kept):])
	t.order = kept
}
