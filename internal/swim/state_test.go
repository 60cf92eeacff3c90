package swim

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// setState brings member "a" (known at incarnation 5) into state s.
func setState(h *harness, s State) {
	h.recv(h.alive("a", 5))
	switch s {
	case StateSuspect:
		h.recv(&wire.Suspect{Incarnation: 5, Node: "a", From: "b"})
	case StateDead:
		h.recv(&wire.Dead{Incarnation: 5, Node: "a", From: "b"})
	case StateLeft:
		h.recv(&wire.Dead{Incarnation: 5, Node: "a", From: "a"})
	}
	h.quiet()
	if got := h.member("a"); got.State != s || got.Incarnation != 5 {
		h.t.Fatalf("setup: a is %v at %d, want %v at 5", got.State, got.Incarnation, s)
	}
}

func TestPrecedence(t *testing.T) {
	meta := []byte("role=db")
	aliveA := func(inc uint32, meta []byte) func(*harness) wire.Message {
		return func(h *harness) wire.Message {
			a := h.alive("a", inc)
			a.Meta = meta
			return a
		}
	}
	suspectA := func(inc uint32) func(*harness) wire.Message {
		return func(*harness) wire.Message { return &wire.Suspect{Incarnation: inc, Node: "a", From: "b"} }
	}
	deadA := func(inc uint32, from string) func(*harness) wire.Message {
		return func(*harness) wire.Message { return &wire.Dead{Incarnation: inc, Node: "a", From: from} }
	}
	stale := map[Drop]uint64{DropStaleIncarnation: 1}
	tests := []struct {
		name   string
		before State
		msg    func(*harness) wire.Message
		state  State
		inc    uint32
		events []EventKind
		drops  map[Drop]uint64
	}{
		{"alive/alive older", StateAlive, aliveA(4, nil), StateAlive, 5, nil, stale},
		{"alive/alive equal", StateAlive, aliveA(5, nil), StateAlive, 5, nil, stale},
		{"alive/alive newer", StateAlive, aliveA(6, nil), StateAlive, 6, nil, nil},
		{"alive/alive newer meta", StateAlive, aliveA(6, meta), StateAlive, 6, []EventKind{EventUpdate}, nil},
		{"alive/alive equal meta", StateAlive, aliveA(5, meta), StateAlive, 5, nil, stale},
		{"alive/suspect older", StateAlive, suspectA(4), StateAlive, 5, nil, stale},
		{"alive/suspect equal", StateAlive, suspectA(5), StateSuspect, 5, []EventKind{EventSuspect}, nil},
		{"alive/suspect newer", StateAlive, suspectA(9), StateSuspect, 9, []EventKind{EventSuspect}, nil},
		{"alive/dead older", StateAlive, deadA(4, "b"), StateAlive, 5, nil, stale},
		{"alive/dead equal", StateAlive, deadA(5, "b"), StateDead, 5, []EventKind{EventFailed}, nil},
		{"alive/dead newer", StateAlive, deadA(7, "b"), StateDead, 7, []EventKind{EventFailed}, nil},
		{"alive/dead by itself", StateAlive, deadA(5, "a"), StateLeft, 5, []EventKind{EventLeave}, nil},
		{"suspect/alive equal", StateSuspect, aliveA(5, nil), StateSuspect, 5, nil, stale},
		{"suspect/alive newer", StateSuspect, aliveA(6, nil), StateAlive, 6, []EventKind{EventRecover}, nil},
		{"suspect/alive newer meta", StateSuspect, aliveA(6, meta), StateAlive, 6, []EventKind{EventUpdate}, nil},
		{"suspect/suspect older", StateSuspect, suspectA(4), StateSuspect, 5, nil, stale},
		{"suspect/dead older", StateSuspect, deadA(4, "c"), StateSuspect, 5, nil, stale},
		{"suspect/dead equal", StateSuspect, deadA(5, "c"), StateDead, 5, []EventKind{EventFailed}, nil},
		{"suspect/dead by itself", StateSuspect, deadA(6, "a"), StateLeft, 6, []EventKind{EventLeave}, nil},
		{"dead/alive equal", StateDead, aliveA(5, nil), StateDead, 5, nil, stale},
		{"dead/alive newer", StateDead, aliveA(6, nil), StateAlive, 6, []EventKind{EventJoin}, nil},
		{"dead/suspect newer", StateDead, suspectA(6), StateDead, 5, nil, nil},
		{"dead/dead newer", StateDead, deadA(6, "c"), StateDead, 5, nil, nil},
		{"dead/dead older", StateDead, deadA(4, "c"), StateDead, 5, nil, stale},
		{"left/alive newer", StateLeft, aliveA(6, nil), StateAlive, 6, []EventKind{EventJoin}, nil},
		{"left/alive older", StateLeft, aliveA(4, nil), StateLeft, 5, nil, stale},
		{"left/dead newer", StateLeft, deadA(8, "b"), StateLeft, 5, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			setState(h, tc.before)
			before := h.n.Counters()
			h.recv(tc.msg(h))
			got := h.member("a")
			if got.State != tc.state || got.Incarnation != tc.inc {
				t.Errorf("a: got %v at %d, want %v at %d", got.State, got.Incarnation, tc.state, tc.inc)
			}
			o := h.drain()
			wantKinds(t, "after message", o.Events, tc.events...)
			wantDrops(t, "after message", before, h.n.Counters(), tc.drops)
			for _, ev := range o.Events {
				if ev.Member.Name != "a" || ev.Member.State != tc.state || ev.Member.Incarnation != tc.inc {
					t.Errorf("%v event: member got %s %v at %d, want a %v at %d", ev.Kind,
						ev.Member.Name, ev.Member.State, ev.Member.Incarnation, tc.state, tc.inc)
				}
				switch ev.Kind {
				case EventSuspect, EventFailed:
					if ev.From != "b" && ev.From != "c" {
						t.Errorf("%v event: From got %q, want the accuser", ev.Kind, ev.From)
					}
				case EventLeave:
					if ev.From != "a" {
						t.Errorf("leave event: From got %q, want %q", ev.From, "a")
					}
				}
			}
			// Accepted news is gossiped on; ignored news is not.
			accepted := len(tc.events) > 0 || tc.inc != 5
			if q := h.n.queue.len(); (q > 0) != accepted {
				t.Errorf("broadcast queue: got %d queued, want news queued only when accepted", q)
			}
		})
	}
}

func TestNewMember(t *testing.T) {
	h := newHarness(t)
	h.recv(h.alive("a", 1))
	m := h.member("a")
	if m.State != StateAlive || m.Incarnation != 1 || m.Addr != h.addr("a") || m.Vsn != [6]uint8(testVsn) {
		t.Errorf("a: got %v at %d, %v, vsn %v; want alive at 1, %v, vsn %v", m.State, m.Incarnation, m.Addr, m.Vsn,
			h.addr("a"), testVsn)
	}
	wantKinds(t, "new member", h.drain().Events, EventJoin)

	// Incarnation 0 leaves a dead entry, as memberlist's table does.
	h.recv(h.alive("z", 0))
	if m := h.member("z"); m.State != StateDead || m.Incarnation != 0 {
		t.Errorf("z after alive at 0: got %v at %d, want dead at 0", m.State, m.Incarnation)
	}
	wantKinds(t, "alive at incarnation 0", h.drain().Events)

	// An alive with fewer than six version bytes stores none (memberlist
	// copies the versions only from a full vector).
	short := h.alive("s", 1)
	short.Vsn = []byte{1, 5, 2}
	h.recv(short)
	if m := h.member("s"); m.Vsn != [6]uint8{} || m.State != StateAlive {
		t.Errorf("s after a 3-byte Vsn: got %v vsn %v, want alive with vsn zero", m.State, m.Vsn)
	}
	// A port of 0 means the receiver's own port, as in memberlist.
	zero := h.alive("p", 1)
	zero.Port = 0
	h.recv(zero)
	if m := h.member("p"); m.Addr.Port() != 7946 {
		t.Errorf("p after an alive with port 0: got port %d, want 7946", m.Addr.Port())
	}
}

func TestRefute(t *testing.T) {
	tests := []struct {
		name    string
		msg     wire.Message
		wantInc uint32
	}{
		{"suspect at ours", &wire.Suspect{Incarnation: 1, Node: "self", From: "a"}, 2},
		{"suspect above ours", &wire.Suspect{Incarnation: 6, Node: "self", From: "a"}, 7},
		{"dead at ours", &wire.Dead{Incarnation: 1, Node: "self", From: "a"}, 2},
		{"dead above ours", &wire.Dead{Incarnation: 40, Node: "self", From: "a"}, 41},
		{"dead from ourselves", &wire.Dead{Incarnation: 3, Node: "self", From: "self"}, 4},
		{"alive with other meta", &wire.Alive{Incarnation: 1, Node: "self", Addr: []byte{127, 0, 0, 1}, Port: 7946,
			Meta: []byte("x"), Vsn: []byte{1, 5, 2, 0, 0, 0}}, 2},
		{"alive above ours", &wire.Alive{Incarnation: 9, Node: "self", Addr: []byte{127, 0, 0, 1}, Port: 7946,
			Vsn: []byte{1, 5, 2, 0, 0, 0}}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.join("a")
			h.recv(tc.msg)
			if got := h.n.Incarnation(); got != tc.wantInc {
				t.Errorf("Incarnation(): got %d, want %d", got, tc.wantInc)
			}
			if self := h.n.Self(); self.State != StateAlive || self.Incarnation != tc.wantInc {
				t.Errorf("Self(): got %v at %d, want alive at %d", self.State, self.Incarnation, tc.wantInc)
			}
			if got := h.n.Health(); got != 1 {
				t.Errorf("Health(): got %d, want 1", got)
			}
			if got := h.n.Counters().Refutes; got != 1 {
				t.Errorf("Counters().Refutes: got %d, want 1", got)
			}
			o := h.drain()
			wantKinds(t, "refute", o.Events, EventRefute)
			if len(o.Events) == 1 && o.Events[0].Member.Incarnation != tc.wantInc {
				t.Errorf("refute event: incarnation got %d, want %d", o.Events[0].Member.Incarnation, tc.wantInc)
			}
			if len(o.Packets) != 0 {
				t.Errorf("refute sent %d packets at once, want it queued", len(o.Packets))
			}
			// The alive goes out piggybacked on the next message: here the
			// ack to a ping.
			h.recvFrom(h.addr("a"), &wire.Ping{SeqNo: 9, Node: "self"})
			o = h.drain()
			if len(o.Packets) != 1 {
				t.Fatalf("ack: got %d packets, want 1", len(o.Packets))
			}
			dp := decode(t, o.Packets[0])
			if dp.Compound != 2 {
				t.Fatalf("ack: got a compound of %d, want ack + alive", dp.Compound)
			}
			a, ok := dp.Messages[1].(*wire.Alive)
			if !ok {
				t.Fatalf("piggybacked: got %T, want *wire.Alive", dp.Messages[1])
			}
			if a.Node != "self" || a.Incarnation != tc.wantInc || !bytes.Equal(a.Addr, []byte{127, 0, 0, 1}) ||
				a.Port != 7946 || !bytes.Equal(a.Vsn, []byte{1, 5, 2, 0, 0, 0}) {
				t.Errorf("piggybacked alive: got %+v, want self at %d from 127.0.0.1:7946 with vsn [1 5 2 0 0 0]", a, tc.wantInc)
			}
		})
	}
}

func TestNoRefute(t *testing.T) {
	h := newHarness(t)
	h.join("a")
	before := h.n.Counters()
	// Our own alive echoed back, and accusations older than us, are ignored.
	h.recv(&wire.Alive{Incarnation: 1, Node: "self", Addr: []byte{127, 0, 0, 1}, Port: 7946, Vsn: []byte{1, 5, 2, 0, 0, 0}})
	h.recv(&wire.Suspect{Incarnation: 0, Node: "self", From: "a"})
	h.recv(&wire.Dead{Incarnation: 0, Node: "self", From: "a"})
	if got := h.n.Incarnation(); got != 1 {
		t.Errorf("Incarnation(): got %d, want 1", got)
	}
	wantKinds(t, "no refute", h.drain().Events)
	wantDrops(t, "no refute", before, h.n.Counters(), map[Drop]uint64{DropStaleIncarnation: 2})
}

// TestRefuteKeyedByAddress checks memberlist's quirk: the refutation is
// queued under our address, so it does not replace news about us queued
// under our name.
func TestRefuteKeyedByAddress(t *testing.T) {
	h := newHarness(t)
	h.join("a")
	if err := h.n.UpdateMeta(h.now, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	h.recv(&wire.Suspect{Incarnation: 2, Node: "self", From: "a"})
	if got := h.n.queue.len(); got != 2 {
		t.Errorf("queued after update and refute: got %d, want 2", got)
	}
	if _, ok := h.n.queue.byKey["127.0.0.1"]; !ok {
		t.Errorf("refutation not queued under key %q", "127.0.0.1")
	}
}

func TestLeave(t *testing.T) {
	t.Run("alone", func(t *testing.T) {
		h := newHarness(t)
		if err := h.n.Leave(h.now); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		o := h.drain()
		wantKinds(t, "Leave alone", o.Events, EventLeave, EventLeaveDone)
		if self := h.n.Self(); self.State != StateLeft {
			t.Errorf("Self().State: got %v, want left", self.State)
		}
		if err := h.n.Leave(h.now); err != ErrLeft {
			t.Errorf("second Leave: got %v, want ErrLeft", err)
		}
	})
	t.Run("with a member", func(t *testing.T) {
		h := newHarness(t)
		h.join("a")
		if err := h.n.Leave(h.now); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		wantKinds(t, "Leave", h.drain().Events, EventLeave)
		limit := retransmitLimit(4, 2)
		for i := 1; i <= limit+2; i++ {
			h.recvFrom(h.addr("a"), &wire.Ping{SeqNo: uint32(i), Node: "self"})
			o := h.drain()
			deads := ofType[*wire.Dead](messages(t, o))
			want := []EventKind(nil)
			if i == limit {
				want = []EventKind{EventLeaveDone}
			}
			wantKinds(t, "send "+strconv.Itoa(i), o.Events, want...)
			if i <= limit {
				if len(deads) != 1 || deads[0].Node != "self" || deads[0].From != "self" || deads[0].Incarnation != 1 {
					t.Errorf("send %d: piggybacked dead got %+v, want one dead{1, self, From: self}", i, deads)
				}
			} else if len(deads) != 0 {
				t.Errorf("send %d: got %d dead notices, want none after %d sends", i, len(deads), limit)
			}
		}
		// A leaving node does not refute accusations, nor take alives about itself.
		before := h.n.Counters()
		h.recv(&wire.Dead{Incarnation: 9, Node: "self", From: "a"},
			&wire.Suspect{Incarnation: 9, Node: "self", From: "a"},
			&wire.Alive{Incarnation: 9, Node: "self", Addr: []byte{127, 0, 0, 1}, Port: 7946, Vsn: testVsn})
		if got := h.n.Incarnation(); got != 1 {
			t.Errorf("Incarnation() after accusations while leaving: got %d, want 1", got)
		}
		if got := h.n.Health(); got != 0 {
			t.Errorf("Health() after accusations while leaving: got %d, want 0", got)
		}
		wantKinds(t, "accusations while leaving", h.drain().Events)
		wantDrops(t, "accusations while leaving", before, h.n.Counters(), map[Drop]uint64{DropAfterLeave: 1})
		if err := h.n.UpdateMeta(h.now, nil); err != ErrLeft {
			t.Errorf("UpdateMeta after Leave: got %v, want ErrLeft", err)
		}
	})
}

func TestConflict(t *testing.T) {
	other := []byte{127, 0, 9, 9}
	tests := []struct {
		name    string
		reclaim time.Duration
		before  State
		after   time.Duration // time since the state change when the claim comes
		inc     uint32
		accept  bool
	}{
		{"alive", 0, StateAlive, 0, 9, false},
		{"suspect", 0, StateSuspect, 0, 9, false},
		{"dead, no reclaim time", 0, StateDead, 20 * time.Second, 9, false},
		{"dead, within reclaim time", 10 * time.Second, StateDead, 10 * time.Second, 9, false},
		{"dead, past reclaim time", 10 * time.Second, StateDead, 10*time.Second + 1, 9, true},
		{"dead, past reclaim time, older", 10 * time.Second, StateDead, 11 * time.Second, 2, true},
		{"left", 0, StateLeft, 0, 9, true},
		{"left, older incarnation", 0, StateLeft, 0, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.DeadNodeReclaimTime = tc.reclaim; c.GossipNodes = 0 })
			setState(h, tc.before)
			old := h.member("a")
			h.advanceTo(epoch.Add(tc.after))
			h.drain()
			before := h.n.Counters()
			claim := &wire.Alive{Incarnation: tc.inc, Node: "a", Addr: other, Port: 8000, Vsn: testVsn}
			h.recv(claim)
			got := h.member("a")
			o := h.drain()
			if !tc.accept {
				if got.State != old.State || got.Incarnation != old.Incarnation || got.Addr != old.Addr {
					t.Errorf("a: got %v at %d, %v; want unchanged %v at %d, %v", got.State, got.Incarnation, got.Addr,
						old.State, old.Incarnation, old.Addr)
				}
				wantKinds(t, "conflict", o.Events, EventConflict)
				wantDrops(t, "conflict", before, h.n.Counters(), map[Drop]uint64{DropConflict: 1})
				if len(o.Events) == 1 {
					ev := o.Events[0]
					if ev.Member.Addr != old.Addr || ev.Other.Addr.String() != "127.0.9.9:8000" || ev.Other.Incarnation != tc.inc {
						t.Errorf("conflict event: got member %v, other %v at %d; want %v, 127.0.9.9:8000 at %d",
							ev.Member.Addr, ev.Other.Addr, ev.Other.Incarnation, old.Addr, tc.inc)
					}
				}
				return
			}
			if got.State != StateAlive || got.Incarnation != tc.inc || got.Addr.String() != "127.0.9.9:8000" {
				t.Errorf("a: got %v at %d, %v; want alive at %d, 127.0.9.9:8000", got.State, got.Incarnation, got.Addr, tc.inc)
			}
			wantKinds(t, "reclaim", o.Events, EventJoin)
			wantDrops(t, "reclaim", before, h.n.Counters(), nil)
		})
	}
}

func TestConflictOwnName(t *testing.T) {
	h := newHarness(t)
	h.join("a")
	before := h.n.Counters()
	h.recv(&wire.Alive{Incarnation: 5, Node: "self", Addr: []byte{127, 0, 0, 2}, Port: 7946, Vsn: testVsn})
	wantKinds(t, "alive for our name elsewhere", h.drain().Events, EventConflict)
	wantDrops(t, "alive for our name elsewhere", before, h.n.Counters(), map[Drop]uint64{DropConflict: 1})
	if got := h.n.Incarnation(); got != 1 {
		t.Errorf("Incarnation(): got %d, want 1 (no refute on a conflict)", got)
	}
}

func TestBadInput(t *testing.T) {
	long := bytes.Repeat([]byte{'m'}, MetaMaxSize+1)
	tests := []struct {
		name string
		msgs func(h *harness) []wire.Message
		drop Drop
	}{
		{"suspect unknown", func(*harness) []wire.Message {
			return []wire.Message{&wire.Suspect{Incarnation: 3, Node: "nobody", From: "a"}}
		}, DropUnknownNode},
		{"dead unknown", func(*harness) []wire.Message {
			return []wire.Message{&wire.Dead{Incarnation: 3, Node: "nobody", From: "a"}}
		}, DropUnknownNode},
		{"address of 5 bytes", func(h *harness) []wire.Message {
			a := h.alive("b", 3)
			a.Addr = []byte{1, 2, 3, 4, 5}
			return []wire.Message{a}
		}, DropBadAddr},
		{"no address", func(h *harness) []wire.Message {
			a := h.alive("b", 3)
			a.Addr = nil
			return []wire.Message{a}
		}, DropBadAddr},
		{"address of 5 bytes for a known node", func(h *harness) []wire.Message {
			a := h.alive("a", 3)
			a.Addr = []byte{1, 2, 3, 4, 5}
			return []wire.Message{a}
		}, DropBadAddr},
		{"meta over 512 bytes", func(h *harness) []wire.Message {
			a := h.alive("a", 3)
			a.Meta = long
			return []wire.Message{a}
		}, DropMetaTooLarge},
		{"bad versions", func(h *harness) []wire.Message {
			a := h.alive("a", 3)
			a.Vsn = []byte{3, 2, 2, 0, 0, 0}
			return []wire.Message{a}
		}, DropBadVersion},
		{"zero PMin", func(h *harness) []wire.Message {
			a := h.alive("b", 3)
			a.Vsn = []byte{0, 5, 2, 0, 0, 0}
			return []wire.Message{a}
		}, DropBadVersion},
		{"alive without name", func(h *harness) []wire.Message {
			a := h.alive("a", 3)
			a.Node = ""
			return []wire.Message{a}
		}, DropEmptyName},
		{"suspect without name", func(*harness) []wire.Message {
			return []wire.Message{&wire.Suspect{Incarnation: 3, From: "a"}}
		}, DropEmptyName},
		{"dead without name", func(*harness) []wire.Message {
			return []wire.Message{&wire.Dead{Incarnation: 3, From: "a"}}
		}, DropEmptyName},
		{"ping for another node", func(*harness) []wire.Message {
			return []wire.Message{&wire.Ping{SeqNo: 7, Node: "someone-else"}}
		}, DropPingNotForUs},
		{"ack for no probe", func(*harness) []wire.Message {
			return []wire.Message{&wire.Ack{SeqNo: 77}}
		}, DropUnknownAck},
		{"nack for no probe", func(*harness) []wire.Message {
			return []wire.Message{&wire.Nack{SeqNo: 77}}
		}, DropUnknownAck},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.join("a")
			snap := h.n.Members(nil)
			before := h.n.Counters()
			h.recv(tc.msgs(h)...)
			wantDrops(t, tc.name, before, h.n.Counters(), map[Drop]uint64{tc.drop: 1})
			o := h.drain()
			wantKinds(t, tc.name, o.Events)
			if len(o.Packets) != 0 || len(o.Streams) != 0 {
				t.Errorf("got %d packets and %d streams, want none", len(o.Packets), len(o.Streams))
			}
			after := h.n.Members(nil)
			if len(after) != len(snap) {
				t.Fatalf("members: got %d, want %d", len(after), len(snap))
			}
			for i := range after {
				a, b := after[i], snap[i]
				if a.Name != b.Name || a.State != b.State || a.Incarnation != b.Incarnation || a.Addr != b.Addr ||
					!bytes.Equal(a.Meta, b.Meta) {
					t.Errorf("member %d: got %+v, want %+v", i, a, b)
				}
			}
			if h.n.queue.len() != 0 {
				t.Errorf("broadcast queue: got %d, want 0", h.n.queue.len())
			}
		})
	}
	t.Run("meta of exactly 512 bytes", func(t *testing.T) {
		h := newHarness(t)
		a := h.alive("a", 1)
		a.Meta = long[:MetaMaxSize]
		h.recv(a)
		if m := h.member("a"); len(m.Meta) != MetaMaxSize {
			t.Errorf("meta: got %d bytes, want %d", len(m.Meta), MetaMaxSize)
		}
	})
	t.Run("stream ping for another node", func(t *testing.T) {
		h := newHarness(t)
		if r := h.n.HandleStream(h.now, neutral, &wire.Ping{SeqNo: 3, Node: "other"}); r != nil {
			t.Errorf("reply: got %v, want nil", r)
		}
		if got := h.n.Counters().Dropped[DropPingNotForUs]; got != 1 {
			t.Errorf("ping_not_for_us: got %d, want 1", got)
		}
	})
}

func TestTellStaleAlive(t *testing.T) {
	setup := func(t *testing.T, s State, opts ...func(*Config)) *harness {
		h := newHarness(t, append([]func(*Config){func(c *Config) { c.GossipNodes = 0 }}, opts...)...)
		setState(h, s)
		return h
	}
	told := func(h *harness) []*wire.Dead {
		var out []*wire.Dead
		for _, s := range messages(h.t, h.drain()) {
			if d, ok := s.msg.(*wire.Dead); ok && s.to == h.addr("a") && s.dp.Compound == 0 {
				out = append(out, d)
			}
		}
		return out
	}
	t.Run("dead", func(t *testing.T) {
		h := setup(t, StateDead)
		h.recvFrom(h.addr("a"), h.alive("a", 1))
		got := told(h)
		if len(got) != 1 || *got[0] != (wire.Dead{Incarnation: 5, Node: "a", From: "self"}) {
			t.Fatalf("notices: got %+v, want one dead{5, a, From: self}", got)
		}
		h.advanceTo(epoch.Add(time.Second - 1))
		h.recvFrom(h.addr("a"), h.alive("a", 2))
		if got := told(h); len(got) != 0 {
			t.Errorf("within ProbeInterval: got %d notices, want 0", len(got))
		}
		h.advanceTo(epoch.Add(time.Second))
		h.recvFrom(h.addr("a"), h.alive("a", 2))
		if got := told(h); len(got) != 1 {
			t.Errorf("after ProbeInterval: got %d notices, want 1", len(got))
		}
	})
	t.Run("left", func(t *testing.T) {
		h := setup(t, StateLeft)
		h.recvFrom(h.addr("a"), h.alive("a", 4))
		if got := told(h); len(got) != 1 || *got[0] != (wire.Dead{Incarnation: 5, Node: "a", From: "a"}) {
			t.Errorf("notices: got %+v, want one dead{5, a, From: a}", got)
		}
	})
	for _, tc := range []struct {
		name      string
		state     State
		elsewhere bool // sent from an address other than the member's
		inc       uint32
		off       bool
	}{
		{"from another address", StateDead, true, 1, false},
		{"equal incarnation", StateDead, false, 5, false},
		{"alive member", StateAlive, false, 1, false},
		{"disabled", StateDead, false, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t, tc.state, func(c *Config) { c.TellStaleAlive = !tc.off })
			from := h.addr("a")
			if tc.elsewhere {
				from = neutral
			}
			h.recvFrom(from, h.alive("a", tc.inc))
			if got := told(h); len(got) != 0 {
				t.Errorf("got %d notices, want 0", len(got))
			}
		})
	}
}
