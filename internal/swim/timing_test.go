package swim

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

func TestSuspicionTimeout(t *testing.T) {
	tests := []struct {
		mult, n  int
		interval time.Duration
		want     time.Duration
	}{
		{4, 0, time.Second, 4 * time.Second},
		{4, 1, time.Second, 4 * time.Second},
		{4, 5, time.Second, 4 * time.Second},
		{4, 10, time.Second, 4 * time.Second},
		{4, 11, time.Second, 4164 * time.Millisecond},
		{4, 100, time.Second, 8 * time.Second},
		{4, 1000, time.Second, 12 * time.Second},
		{6, 10, 5 * time.Second, 30 * time.Second},      // WAN
		{3, 100, time.Second, 6 * time.Second},          // Local
		{4, 465, time.Second, 10668 * time.Millisecond}, // log10 truncated to thousandths: 2.667
	}
	for _, tc := range tests {
		if got := suspicionTimeout(tc.mult, tc.n, tc.interval); got != tc.want {
			t.Errorf("suspicionTimeout(%d, %d, %v): got %v, want %v", tc.mult, tc.n, tc.interval, got, tc.want)
		}
	}
}

func TestSuspicionSchedule(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		accusers  []string // the first raised it
		want      time.Duration
		wantK     int
		confirmed []bool // what confirm returned for each later accuser
	}{
		{"too few for confirmations", 3, []string{"a", "b"}, 4 * time.Second, 0, []bool{false}},
		{"unconfirmed", 5, []string{"a"}, 24 * time.Second, 2, nil},
		{"one confirmation", 5, []string{"a", "b"}, 11381 * time.Millisecond, 2, []bool{true}},
		{"two confirmations", 5, []string{"a", "b", "c"}, 4 * time.Second, 2, []bool{true, true}},
		{"beyond k", 5, []string{"a", "b", "c", "d"}, 4 * time.Second, 2, []bool{true, true, false}},
		{"repeated accuser", 5, []string{"a", "a", "b", "b"}, 11381 * time.Millisecond, 2, []bool{false, true, false}},
		{"n=11 unconfirmed", 11, []string{"a"}, 24984 * time.Millisecond, 2, nil},
		{"n=11 two confirmations", 11, []string{"a", "b", "c"}, 4164 * time.Millisecond, 2, []bool{true, true}},
		// max is exactly 64.008 s; computing it through float seconds and
		// flooring to the millisecond gives 64.007 s.
		{"n=465 unconfirmed", 465, []string{"a"}, 64008 * time.Millisecond, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const start = int64(7 * time.Second)
			s := newSuspicion(start, tc.accusers[0], 4, 6, tc.n, time.Second)
			if s.k != tc.wantK {
				t.Errorf("k: got %d, want %d", s.k, tc.wantK)
			}
			var got []bool
			for _, from := range tc.accusers[1:] {
				got = append(got, s.confirm(from))
			}
			if !slices.Equal(got, tc.confirmed) {
				t.Errorf("confirm results: got %v, want %v", got, tc.confirmed)
			}
			if d := time.Duration(s.deadline() - start); d != tc.want {
				t.Errorf("deadline: got start+%v, want start+%v", d, tc.want)
			}
		})
	}
}

// TestSuspicionEndToEnd raises a suspicion by gossip and checks that the
// node declares the member dead exactly at the deadline, no earlier.
func TestSuspicionEndToEnd(t *testing.T) {
	tests := []struct {
		n         int           // table size, ourselves included
		accusers  int           // distinct accusers, the first raising it
		confirmAt time.Duration // when the confirmations arrive
		want      time.Duration
	}{
		{3, 1, 0, 4 * time.Second},
		{3, 3, 0, 4 * time.Second}, // k = 0: confirmations change nothing
		{5, 1, 0, 24 * time.Second},
		{5, 2, 0, 11381 * time.Millisecond},
		{5, 2, 3 * time.Second, 11381 * time.Millisecond}, // measured from the suspicion's start
		{5, 3, 0, 4 * time.Second},
		{5, 3, 6 * time.Second, 6 * time.Second}, // already past: at once
		{10, 3, 0, 4 * time.Second},
		{11, 3, 0, 4164 * time.Millisecond},
		{11, 1, 0, 24984 * time.Millisecond},
		{100, 3, 0, 8 * time.Second},
		{465, 1, 0, 64008 * time.Millisecond},
		{1000, 3, 0, 12 * time.Second},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("n=%d,accusers=%d,at=%v", tc.n, tc.accusers, tc.confirmAt), func(t *testing.T) {
			h := newHarness(t)
			names := h.joinN(tc.n)
			target := names[0]
			h.recv(&wire.Suspect{Incarnation: 1, Node: target, From: "accuser0"})
			if m := h.member(target); m.State != StateSuspect {
				t.Fatalf("%s: got %v, want suspect", target, m.State)
			}
			var died time.Time
			check := func(Output) {
				if died.IsZero() && h.member(target).State == StateDead {
					died = h.now
				}
			}
			if tc.accusers > 1 {
				h.runUntil(epoch.Add(tc.confirmAt), nil, check)
				for i := 1; i < tc.accusers; i++ {
					h.recv(&wire.Suspect{Incarnation: 1, Node: target, From: fmt.Sprintf("accuser%d", i)})
				}
				check(h.respond(nil))
			}
			h.runUntil(epoch.Add(tc.want+time.Second), nil, check)
			if want := epoch.Add(tc.want); !died.Equal(want) {
				t.Fatalf("%s declared dead at %v, want %v", target, died.Sub(epoch), tc.want)
			}
			m := h.member(target)
			if !m.StateChange.Equal(epoch.Add(tc.want)) {
				t.Errorf("StateChange: got %v, want %v", m.StateChange.Sub(epoch), tc.want)
			}
			if got := h.n.Counters().Suspicions; got != 1 {
				t.Errorf("Counters().Suspicions: got %d, want 1", got)
			}
		})
	}
}

func TestSuspicionDeathEvent(t *testing.T) {
	h := newHarness(t)
	h.join("a", "b")
	h.recv(&wire.Suspect{Incarnation: 1, Node: "a", From: "b"})
	var evs []Event
	h.runUntil(epoch.Add(4*time.Second), nil, func(o Output) { evs = append(evs, o.Events...) })
	var failed []Event
	for _, ev := range evs {
		if ev.Kind == EventFailed {
			failed = append(failed, ev)
		}
	}
	if len(failed) != 1 || failed[0].Member.Name != "a" || failed[0].From != "self" || failed[0].Member.State != StateDead {
		t.Errorf("failed events: got %+v, want one for a, dead, From self", failed)
	}
}

// TestSuspicionRefuted checks that an alive ends the suspicion: no death
// follows at the old deadline.
func TestSuspicionRefuted(t *testing.T) {
	h := newHarness(t)
	h.join("a", "b")
	h.recv(&wire.Suspect{Incarnation: 1, Node: "a", From: "b"})
	h.runUntil(epoch.Add(2*time.Second), nil, nil)
	h.recv(h.alive("a", 2))
	h.runUntil(epoch.Add(10*time.Second), nil, nil)
	if m := h.member("a"); m.State != StateAlive || m.Incarnation != 2 {
		t.Errorf("a: got %v at %d, want alive at 2", m.State, m.Incarnation)
	}
}

// TestStaleSuspicionTimer checks that the deadline of an ended suspicion
// does not end a later suspicion of the same member (found in simulation:
// a refuted node was declared dead 0.3 s into its next suspicion).
func TestStaleSuspicionTimer(t *testing.T) {
	h := newHarness(t)
	h.joinN(6) // k = 2: an unconfirmed suspicion lasts max = 24 s
	h.recv(&wire.Suspect{Incarnation: 1, Node: "m1", From: "m2"})
	h.runUntil(epoch.Add(2*time.Second), nil, nil)
	h.recv(h.alive("m1", 2)) // refuted; the 24 s timer stays in the queue
	h.runUntil(epoch.Add(20*time.Second), nil, nil)
	h.recv(&wire.Suspect{Incarnation: 2, Node: "m1", From: "m2"})
	h.runUntil(epoch.Add(30*time.Second), nil, nil)
	if m := h.member("m1"); m.State != StateSuspect {
		t.Errorf("m1 at 30 s, 10 s into a 24 s suspicion: got %v, want suspect", m.State)
	}
}

func TestRetransmitLimit(t *testing.T) {
	for n := 1; n <= 999; n++ {
		want := 4
		switch {
		case n >= 100:
			want = 12
		case n >= 10:
			want = 8
		}
		if got := retransmitLimit(4, n); got != want {
			t.Errorf("retransmitLimit(4, %d): got %d, want %d", n, got, want)
		}
	}
	if got := retransmitLimit(4, 0); got != 0 {
		t.Errorf("retransmitLimit(4, 0): got %d, want 0", got)
	}
}

// TestRetransmitEndToEnd counts how often a suspect notice is piggybacked
// (on the acks to pings; user packets carry no piggyback).
func TestRetransmitEndToEnd(t *testing.T) {
	for _, n := range []int{2, 9, 10, 99, 100, 999} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := newHarness(t)
			names := h.joinN(n)
			h.recv(&wire.Suspect{Incarnation: 1, Node: names[0], From: "x"})
			h.drain()
			want := retransmitLimit(4, n)
			got := 0
			for i := 0; i < want+5; i++ {
				h.recvFrom(h.addr(names[len(names)-1]), &wire.Ping{SeqNo: uint32(i), Node: "self"})
				got += len(ofType[*wire.Suspect](messages(t, h.drain())))
			}
			if got != want {
				t.Errorf("suspect sent %d times, want %d", got, want)
			}
		})
	}
}

func TestQueueOrder(t *testing.T) {
	msg := func(tag byte, size int) []byte { return bytes.Repeat([]byte{tag}, size) }
	tags := func(msgs [][]byte) string {
		s := ""
		for _, m := range msgs {
			s += string(m[0])
		}
		return s
	}
	none := func(*broadcast) {}

	var q queue
	q.push("a", msg('a', 10), doneNone)
	q.push("b", msg('b', 20), doneNone)
	q.push("c", msg('c', 10), doneNone)
	if got := tags(q.take(nil, 2, 1000, 10, none)); got != "bca" {
		t.Errorf("largest first, then newest: got %q, want %q", got, "bca")
	}
	q.push("d", msg('d', 5), doneNone)
	if got := tags(q.take(nil, 2, 1000, 10, none)); got != "dbca" {
		t.Errorf("fewest transmits first: got %q, want %q", got, "dbca")
	}
	// Room for 14 bytes after overhead: b (20) does not fit, a and c (10)
	// do; the newer of them goes.
	var f queue
	f.push("a", msg('a', 10), doneNone)
	f.push("b", msg('b', 20), doneNone)
	f.push("c", msg('c', 10), doneNone)
	if got := tags(f.take(nil, 2, 16, 10, none)); got != "c" {
		t.Errorf("largest that fits: got %q, want %q", got, "c")
	}
	if got := tags(f.take(nil, 2, 1000, 10, none)); got != "bac" {
		t.Errorf("after a partial take: got %q, want %q", got, "bac")
	}
	// b and a have been sent once, c twice; 23 bytes of room take b, and
	// what is left fits nothing.
	if got := tags(f.take(nil, 2, 25, 10, none)); got != "b" {
		t.Errorf("third take: got %q, want %q", got, "b")
	}

	// Replacement by key: the old message is gone and reported.
	var r queue
	r.push("k", msg('x', 3), doneLeave)
	if old := r.push("k", msg('y', 3), doneNone); old == nil || old.done != doneLeave {
		t.Errorf("push over a key: got %v, want the replaced leave broadcast", old)
	}
	if r.len() != 1 {
		t.Errorf("len after replacement: got %d, want 1", r.len())
	}
	if got := tags(r.take(nil, 2, 1000, 10, none)); got != "y" {
		t.Errorf("after replacement: got %q, want %q", got, "y")
	}

	// A broadcast retires after its transmit limit; a limit of 0 still sends once.
	for _, limit := range []int{0, 1, 4, 12} {
		var q queue
		q.push("k", msg('k', 4), doneUpdate)
		sends, retired := 0, 0
		for i := 0; i < 20; i++ {
			sends += len(q.take(nil, 2, 1000, limit, func(b *broadcast) { retired++ }))
		}
		if want := max(limit, 1); sends != want || retired != 1 || q.len() != 0 {
			t.Errorf("limit %d: got %d sends, %d retirements, %d left; want %d, 1, 0", limit, sends, retired, q.len(), want)
		}
	}
}

func TestAwarenessBounds(t *testing.T) {
	a := awareness{max: 8}
	steps := []struct {
		delta, want int
	}{{-1, 0}, {3, 3}, {10, 7}, {1, 7}, {-2, 5}, {-100, 0}}
	for _, s := range steps {
		a.apply(s.delta)
		if a.score != s.want {
			t.Errorf("apply(%d): got score %d, want %d", s.delta, a.score, s.want)
		}
	}
	for score := 0; score < 8; score++ {
		a.score = score
		if got, want := a.scale(500*time.Millisecond), time.Duration(score+1)*500*time.Millisecond; got != want {
			t.Errorf("scale at score %d: got %v, want %v", score, got, want)
		}
	}
	one := awareness{max: 1}
	one.apply(5)
	if one.score != 0 {
		t.Errorf("max 1: got score %d, want 0", one.score)
	}
}

// TestQueueUnique checks that unique broadcasts (empty key) never replace
// each other, while keyed ones do.
func TestQueueUnique(t *testing.T) {
	var q queue
	q.push("", []byte("u1"), doneNone)
	q.push("", []byte("u2"), doneNone)
	q.push("k", []byte("k1"), doneNone)
	if old := q.push("k", []byte("k2"), doneNone); old == nil || string(old.msg) != "k1" {
		t.Fatalf("push k2: got replaced %v, want k1", old)
	}
	if q.len() != 3 {
		t.Fatalf("len: got %d, want 3", q.len())
	}
	var got []string
	for _, m := range q.take(nil, 2, 1000, 1, func(*broadcast) {}) {
		got = append(got, string(m))
	}
	slices.Sort(got)
	if want := []string{"k2", "u1", "u2"}; !slices.Equal(got, want) {
		t.Fatalf("take: got %v, want %v", got, want)
	}
	if q.len() != 0 {
		t.Fatalf("len after retiring all: got %d, want 0", q.len())
	}
}

// TestStallFiresOnce checks that a node stalled for 10 s runs one gossip
// round when it wakes, not the 50 it missed (Go's ticker keeps one tick).
func TestStallFiresOnce(t *testing.T) {
	h := newHarness(t)
	names := h.joinN(10)
	h.recv(&wire.Suspect{Incarnation: 1, Node: names[0], From: "x"}) // something to gossip
	h.drain()
	h.advanceTo(h.now.Add(10 * time.Second))
	gossip := 0
	for _, p := range h.drain().Packets {
		for _, m := range decode(t, p).Messages {
			if _, ok := m.(*wire.Suspect); ok {
				gossip++
			}
		}
	}
	// One round reaches GossipNodes (3) peers; the probe that also fires
	// may carry it once more.
	if gossip == 0 || gossip > 4 {
		t.Errorf("suspect sent %d times after a 10 s stall, want 1 round (at most 4)", gossip)
	}
	if d, ok := h.n.NextDeadline(); !ok || !d.After(h.now) {
		t.Errorf("next deadline %v, want after now %v", d, h.now)
	}
}

// TestTimerHeapBounded floods the node with suspicions that are refuted
// at once: every one leaves a deadline behind, and the heap must not keep
// them all.
func TestTimerHeapBounded(t *testing.T) {
	h := newHarness(t)
	names := h.joinN(10)
	for i := uint32(1); i <= 20_000; i++ {
		h.recv(&wire.Suspect{Incarnation: i, Node: names[0], From: "x"}, h.alive(names[0], i+1))
	}
	h.drain()
	if got := len(h.n.timers.h); got > 4096 {
		t.Errorf("timer heap after 20,000 refuted suspicions: got %d entries, want at most 4096", got)
	}
}
