package rumor

import (
	"net/netip"

	"github.com/rumorproject/rumor/internal/swim"
)

// State is a member's state as the local node sees it.
type State uint8

// The states, with memberlist's values.
const (
	StateAlive   = State(swim.StateAlive)
	StateSuspect = State(swim.StateSuspect)
	StateDead    = State(swim.StateDead)
	StateLeft    = State(swim.StateLeft)
)

func (s State) String() string { return swim.State(s).String() }

// Member is one node of the cluster as the local node sees it.
type Member struct {
	Name        string
	Addr        netip.AddrPort // where it is reached
	Meta        []byte         // its metadata; do not modify
	State       State
	Incarnation uint32
	// The protocol versions it speaks: memberlist's PMin, PMax, PCur and
	// the application's DMin, DMax, DCur.
	PMin, PMax, PCur, DMin, DMax, DCur uint8
}

func memberOf(m swim.Member) Member {
	return Member{Name: m.Name, Addr: m.Addr, Meta: m.Meta, State: State(m.State), Incarnation: m.Incarnation,
		PMin: m.Vsn[0], PMax: m.Vsn[1], PCur: m.Vsn[2], DMin: m.Vsn[3], DMax: m.Vsn[4], DCur: m.Vsn[5]}
}
