package swim

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// pushState is member name's entry as a peer lists it in a push-pull.
func (h *harness) pushState(name string, inc uint32, s wire.NodeState) wire.PushNodeState {
	a := h.addr(name)
	return wire.PushNodeState{Name: name, Addr: a.Addr().AsSlice(), Port: a.Port(), Incarnation: inc, State: s, Vsn: testVsn}
}

func TestMergeRemote(t *testing.T) {
	tests := []struct {
		name   string
		node   string
		inc    uint32
		state  wire.NodeState
		want   State
		incOut uint32
		events []EventKind
		drops  map[Drop]uint64
	}{
		{"alive, new", "e", 1, wire.StateAlive, StateAlive, 1, []EventKind{EventJoin}, nil},
		{"alive, newer", "a", 2, wire.StateAlive, StateAlive, 2, nil, nil},
		{"alive, same", "a", 1, wire.StateAlive, StateAlive, 1, nil, map[Drop]uint64{DropStaleIncarnation: 1}},
		{"dead is only suspected", "a", 1, wire.StateDead, StateSuspect, 1, []EventKind{EventSuspect}, nil},
		{"dead, newer", "a", 3, wire.StateDead, StateSuspect, 3, []EventKind{EventSuspect}, nil},
		{"dead, older", "a", 0, wire.StateDead, StateAlive, 1, nil, map[Drop]uint64{DropStaleIncarnation: 1}},
		{"suspect", "a", 1, wire.StateSuspect, StateSuspect, 1, []EventKind{EventSuspect}, nil},
		{"left", "a", 1, wire.StateLeft, StateLeft, 1, []EventKind{EventLeave}, nil},
		{"dead, unknown", "z", 1, wire.StateDead, 0, 0, nil, map[Drop]uint64{DropUnknownNode: 1}},
		{"left, unknown", "z", 1, wire.StateLeft, 0, 0, nil, map[Drop]uint64{DropUnknownNode: 1}},
		{"dead, about us", "self", 1, wire.StateDead, StateAlive, 2, []EventKind{EventRefute}, nil},
		{"left, about us", "self", 4, wire.StateLeft, StateAlive, 5, []EventKind{EventRefute}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.join("a", "b")
			before := h.n.Counters()
			pp := &wire.PushPull{Nodes: []wire.PushNodeState{
				h.pushState("a", 1, wire.StateAlive), h.pushState("b", 1, wire.StateAlive),
			}}
			pp.Nodes = append(pp.Nodes, h.pushState(tc.node, tc.inc, tc.state))
			// The two entries the peer shares with us are stale: counted too.
			if tc.drops == nil {
				tc.drops = map[Drop]uint64{}
			}
			tc.drops[DropStaleIncarnation] += 2
			reply := h.n.HandleStream(h.now, h.addr("b"), pp)
			rp, ok := reply.(*wire.PushPull)
			if !ok || rp.Join {
				t.Fatalf("reply: got %T join=%v, want a *wire.PushPull without Join", reply, ok && rp.Join)
			}
			m, known := h.n.Member(tc.node)
			if tc.node == "z" { // never heard of
				if known {
					t.Errorf("%s: got %v, want unknown", tc.node, m.State)
				}
			} else if m.State != tc.want || m.Incarnation != tc.incOut {
				t.Errorf("%s: got %v at %d, want %v at %d", tc.node, m.State, m.Incarnation, tc.want, tc.incOut)
			}
			o := h.drain()
			wantKinds(t, "merge", o.Events, tc.events...)
			wantDrops(t, "merge", before, h.n.Counters(), tc.drops)
			if len(o.Events) == 1 && o.Events[0].Kind == EventSuspect && o.Events[0].From != "self" {
				t.Errorf("suspect event: From got %q, want self (a remote death is our suspicion)", o.Events[0].From)
			}
			// The reply lists every member we hold, ourselves included.
			names := map[string]State{}
			for _, s := range rp.Nodes {
				names[s.Name] = State(s.State)
			}
			if names["self"] != StateAlive || len(rp.Nodes) != h.n.NumMembers() {
				t.Errorf("reply: got %v, want all %d members, self alive", names, h.n.NumMembers())
			}
		})
	}
}

func TestVerifyProtocol(t *testing.T) {
	tests := []struct {
		name  string
		vsn   []byte
		state wire.NodeState
		ok    bool
	}{
		{"same versions", []byte{1, 5, 2, 0, 0, 0}, wire.StateAlive, true},
		{"speaks 3 to 5 only", []byte{3, 5, 3, 0, 0, 0}, wire.StateAlive, false},
		{"speaks 1 only", []byte{1, 1, 1, 0, 0, 0}, wire.StateAlive, false},
		{"current outside its own range", []byte{1, 5, 6, 0, 0, 0}, wire.StateAlive, false},
		{"delegate 1 only", []byte{1, 5, 2, 1, 1, 1}, wire.StateAlive, false},
		{"no versions", nil, wire.StateAlive, false},
		{"dead, range ignored", []byte{3, 5, 3, 0, 0, 0}, wire.StateDead, true},
		{"dead, current still checked", []byte{1, 5, 7, 0, 0, 0}, wire.StateDead, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.join("a")
			before := h.n.Counters()
			odd := h.pushState("a", 1, tc.state)
			odd.Vsn = tc.vsn
			pp := &wire.PushPull{Nodes: []wire.PushNodeState{odd, h.pushState("e", 1, wire.StateAlive)}}
			op := h.n.Join(h.now, []netip.AddrPort{h.addr("a")})
			o := h.drain()
			if len(o.Streams) != 1 {
				t.Fatalf("Join: got %d streams, want 1", len(o.Streams))
			}
			h.n.StreamDone(h.now, o.Streams[0].ID, pp, nil)
			o = h.drain()
			var done *Event
			for i := range o.Events {
				if o.Events[i].Kind == EventJoinDone {
					done = &o.Events[i]
				}
			}
			if done == nil || done.Op != op {
				t.Fatalf("events: got %s, want a join-done for op %d", kindsString(kinds(o.Events)), op)
			}
			_, merged := h.n.Member("e")
			if tc.ok {
				if done.N != 1 || done.Err != nil || !merged {
					t.Errorf("join-done: got N %d err %v, e merged %v; want 1, nil, true", done.N, done.Err, merged)
				}
				return
			}
			if done.N != 0 || !errors.Is(done.Err, errIncompatible) || merged {
				t.Errorf("join-done: got N %d err %v, e merged %v; want 0, incompatible, false", done.N, done.Err, merged)
			}
			wantDrops(t, "incompatible", before, h.n.Counters(), map[Drop]uint64{DropIncompatible: 1})
			if m := h.member("a"); m.State != StateAlive || m.Vsn != [6]uint8(testVsn) {
				t.Errorf("a after a rejected push-pull: got %v vsn %v, want alive, unchanged", m.State, m.Vsn)
			}
		})
	}
	t.Run("our own member out of range", func(t *testing.T) {
		h := newHarness(t)
		old := h.alive("old", 1)
		old.Vsn = []byte{1, 2, 1, 0, 0, 0} // speaks 1 and 2, talks 1
		h.recv(old)
		pp := &wire.PushPull{Nodes: []wire.PushNodeState{h.pushState("a", 1, wire.StateAlive)}}
		pp.Nodes[0].Vsn = []byte{2, 5, 2, 0, 0, 0} // needs at least 2
		h.n.HandleStream(h.now, h.addr("a"), pp)
		if got := h.n.Counters().Dropped[DropIncompatible]; got != 1 {
			t.Errorf("incompatible drops: got %d, want 1", got)
		}
		if _, ok := h.n.Member("a"); ok {
			t.Errorf("a merged from a rejected push-pull")
		}
	})
}

func TestJoin(t *testing.T) {
	h := newHarness(t)
	s1, s2, s3 := h.addr("s1"), h.addr("s2"), h.addr("s3")
	op := h.n.Join(h.now, []netip.AddrPort{s1, s2, s3})
	o := h.drain()
	if len(o.Streams) != 3 {
		t.Fatalf("Join: got %d streams, want 3", len(o.Streams))
	}
	for i, st := range o.Streams {
		pp, _ := st.Msg.(*wire.PushPull)
		if st.Kind != StreamPushPull || st.To != []netip.AddrPort{s1, s2, s3}[i] || pp == nil || !pp.Join ||
			!st.Deadline.Equal(h.now.Add(10*time.Second)) {
			t.Fatalf("stream %d: got %v to %v join=%v deadline %v; want a joining push-pull to seed %d by +10s",
				i, st.Kind, st.To, pp != nil && pp.Join, st.Deadline.Sub(h.now), i+1)
		}
		if len(pp.Nodes) != 1 || pp.Nodes[0].Name != "self" || pp.Nodes[0].State != wire.StateAlive ||
			pp.Nodes[0].Incarnation != 1 || len(pp.Nodes[0].Vsn) != 6 {
			t.Errorf("stream %d: got nodes %+v, want only ourselves, alive at 1 with 6 version bytes", i, pp.Nodes)
		}
	}
	refused := errors.New("connection refused")
	h.n.StreamDone(h.now, o.Streams[0].ID, &wire.PushPull{Nodes: []wire.PushNodeState{h.pushState("s1", 1, wire.StateAlive)}}, nil)
	wantKinds(t, "first seed answered", h.drain().Events, EventJoin)
	h.n.StreamDone(h.now, o.Streams[1].ID, nil, refused)
	wantKinds(t, "second seed failed", h.drain().Events)
	h.n.StreamDone(h.now, o.Streams[2].ID, &wire.ErrResp{Error: "busy"}, nil)
	evs := h.drain().Events
	wantKinds(t, "third seed answered with an error", evs, EventJoinDone)
	if len(evs) == 1 {
		ev := evs[0]
		if ev.Op != op || ev.N != 1 || !errors.Is(ev.Err, refused) {
			t.Errorf("join-done: got op %d N %d err %v; want op %d, N 1, err wrapping %v", ev.Op, ev.N, ev.Err, op, refused)
		}
	}
	// A stream reported twice, or never opened, is ignored.
	h.n.StreamDone(h.now, o.Streams[0].ID, nil, refused)
	h.n.StreamDone(h.now, 999, nil, refused)
	wantKinds(t, "unknown streams", h.drain().Events)

	op2 := h.n.Join(h.now, nil)
	evs = h.drain().Events
	if len(evs) != 1 || evs[0].Kind != EventJoinDone || evs[0].Op != op2 || evs[0].N != 0 || evs[0].Err == nil {
		t.Errorf("Join without seeds: got %+v, want one join-done for op %d with N 0 and an error", evs, op2)
	}

	op3 := h.n.Join(h.now, []netip.AddrPort{s2})
	st := h.drain().Streams
	before := h.n.Counters()
	h.n.StreamDone(h.now, st[0].ID, &wire.Ack{SeqNo: 1}, nil)
	evs = h.drain().Events
	if len(evs) != 1 || evs[0].Op != op3 || evs[0].N != 0 || evs[0].Err == nil {
		t.Errorf("Join answered with an ack: got %+v, want join-done with N 0 and an error", evs)
	}
	wantDrops(t, "ack as push-pull reply", before, h.n.Counters(), map[Drop]uint64{DropUnexpected: 1})
}

// TestJoinFollowUp checks the extra push-pull with the seed that answered,
// one to three probe intervals after the join, which hands the joiner the
// members that joined through the seed just after it.
func TestJoinFollowUp(t *testing.T) {
	h := newHarness(t)
	seed := h.addr("s1")
	h.n.Join(h.now, []netip.AddrPort{seed})
	st := h.drain().Streams[0]
	h.n.StreamDone(h.now, st.ID, &wire.PushPull{Nodes: []wire.PushNodeState{h.pushState("s1", 1, wire.StateAlive)}}, nil)
	h.drain()
	joined := h.now
	var got []Stream
	h.runUntil(joined.Add(3*time.Second), nil, func(o Output) {
		for _, s := range o.Streams {
			if s.Kind == StreamPushPull {
				got = append(got, s)
			}
		}
	})
	if len(got) != 1 || got[0].To != seed {
		t.Fatalf("push-pulls in the 3 s after joining: got %+v, want one to the seed %v", got, seed)
	}
	if pp := got[0].Msg.(*wire.PushPull); pp.Join {
		t.Errorf("follow-up push-pull: got Join=true, want a plain exchange")
	}
}

// A node that took part in a push-pull, either way, starts its own only a
// full period after it: never more than a period without a full sync, but
// not twice per period as memberlist's nodes (one started, one received).
func TestPushPullAfterSync(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PushPullInterval = 10 * time.Second })
	h.joinN(5)
	pushPulls := func(until time.Time) (at []time.Duration) {
		h.runUntil(until, nil, func(o Output) {
			for _, s := range o.Streams {
				if s.Kind == StreamPushPull {
					at = append(at, h.now.Sub(epoch))
					h.n.StreamDone(h.now, s.ID, &wire.PushPull{Nodes: []wire.PushNodeState{h.pushState("m1", 1, wire.StateAlive)}}, nil)
				}
			}
		})
		return at
	}
	// Left alone, the node syncs once a period after its stagger.
	first := pushPulls(epoch.Add(25 * time.Second))
	if len(first) != 1 && len(first) != 2 {
		t.Fatalf("push-pulls started in 25 s of a 10 s period: %v, want one or two", first)
	}
	last := first[len(first)-1]
	// A peer's push-pull 1 s before the node's next one replaces it.
	received := epoch.Add(last + 9*time.Second)
	h.runUntil(received, nil, nil)
	if reply := h.n.HandleStream(h.now, h.addr("m2"), &wire.PushPull{Nodes: []wire.PushNodeState{h.pushState("m2", 1, wire.StateAlive)}}); reply == nil {
		t.Fatal("no reply to a push-pull")
	}
	// Serving a joiner 2 s later is no sync: it does not postpone the next;
	// nor is an empty push-pull (rumor inspect's) 3 s later.
	got := pushPulls(received.Add(2 * time.Second))
	h.n.HandleStream(h.now, h.addr("m9"), &wire.PushPull{Join: true, Nodes: []wire.PushNodeState{h.pushState("m9", 1, wire.StateAlive)}})
	got = append(got, pushPulls(received.Add(3*time.Second))...)
	if reply := h.n.HandleStream(h.now, netip.MustParseAddrPort("127.0.0.9:9"), &wire.PushPull{}); reply == nil {
		t.Fatal("no reply to an empty push-pull")
	}
	got = append(got, pushPulls(received.Add(15*time.Second))...)
	want := received.Add(10 * time.Second).Sub(epoch)
	if len(got) != 1 || got[0] != want {
		t.Errorf("push-pulls started after receiving one at %v: %v, want exactly one, at %v", received.Sub(epoch), got, want)
	}
}
