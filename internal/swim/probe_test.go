package swim

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// probeStart steps until the node sends its next probe and returns when,
// the ping, and the packet it went in.
func (h *harness) probeStart() (time.Time, *wire.Ping, sent) {
	h.t.Helper()
	limit := h.now.Add(10 * time.Second)
	for {
		h.step(limit)
		for _, s := range messages(h.t, h.drain()) {
			if p, ok := s.msg.(*wire.Ping); ok && p.SourceNode == "self" {
				return h.now, p, s
			}
		}
	}
}

// joinVsn adds alive members that advertise vsn.
func (h *harness) joinVsn(vsn []byte, names ...string) {
	for _, name := range names {
		a := h.alive(name, 1)
		a.Vsn = vsn
		h.recv(a)
	}
	h.quiet()
}

func vsnWithPMax(pmax byte) []byte { return []byte{1, pmax, 2, 0, 0, 0} }

// raiseHealth refutes k accusations, each raising Health by one.
func (h *harness) raiseHealth(k int) {
	for i := 0; i < k; i++ {
		h.recv(&wire.Suspect{Incarnation: h.n.Incarnation(), Node: "self", From: "x"})
	}
	if got := h.n.Health(); got != k {
		h.t.Fatalf("Health() after %d refutes: got %d, want %d", k, got, k)
	}
	h.quiet()
}

func TestProbeAlive(t *testing.T) {
	h := newHarness(t)
	h.join("a")
	t0, ping, s := h.probeStart()
	if ping.Node != "a" || s.to != h.addr("a") {
		t.Fatalf("ping: got %q to %v, want a to %v", ping.Node, s.to, h.addr("a"))
	}
	// No source address: the ack goes back where the ping came from.
	if len(ping.SourceAddr) != 0 || ping.SourcePort != 0 || ping.SourceNode != "self" || ping.SeqNo == 0 {
		t.Errorf("ping source: got %v:%d %q seq %d, want no address, node self and a sequence number",
			ping.SourceAddr, ping.SourcePort, ping.SourceNode, ping.SeqNo)
	}
	if s.pkt.CRC || s.dp.Compound != 0 {
		t.Errorf("ping packet: got CRC %v, compound %d; want a plain packet", s.pkt.CRC, s.dp.Compound)
	}
	// A direct ack ends the probe: no helpers, a ping-complete event.
	h.advanceTo(t0.Add(100 * time.Millisecond))
	h.drain()
	h.recvFrom(h.addr("a"), &wire.Ack{SeqNo: ping.SeqNo, Payload: []byte("coord")})
	o := h.drain()
	wantKinds(t, "direct ack", o.Events, EventPingComplete)
	if len(o.Events) == 1 {
		ev := o.Events[0]
		if ev.Member.Name != "a" || ev.RTT != 100*time.Millisecond || string(ev.Payload) != "coord" {
			t.Errorf("ping-complete: got %s rtt %v payload %q, want a rtt 100ms payload coord",
				ev.Member.Name, ev.RTT, ev.Payload)
		}
	}
	h.advanceTo(t0.Add(999 * time.Millisecond))
	if got := ofType[*wire.IndirectPing](messages(t, h.drain())); len(got) != 0 {
		t.Errorf("after an ack: got %d indirect pings, want 0", len(got))
	}
	if got := h.n.Counters(); got.Probes != 1 || got.ProbesFailed != 0 {
		t.Errorf("counters: got %d probes, %d failed; want 1, 0", got.Probes, got.ProbesFailed)
	}
}

func TestProbeSuspectTarget(t *testing.T) {
	for _, pmax := range []byte{5, 4} {
		t.Run(fmt.Sprint("PMax ", pmax), func(t *testing.T) {
			h := newHarness(t)
			h.joinVsn(vsnWithPMax(pmax), "a")
			h.recv(&wire.Suspect{Incarnation: 1, Node: "a", From: "b"})
			h.quiet()
			_, ping, s := h.probeStart()
			if s.to != h.addr("a") || s.dp.Compound != 2 || len(s.dp.Messages) != 2 {
				t.Fatalf("probe: got %d-part compound to %v, want ping+suspect to a", s.dp.Compound, s.to)
			}
			if s.dp.Messages[0] != wire.Message(ping) {
				t.Errorf("probe: first part got %T, want the ping", s.dp.Messages[0])
			}
			sus, ok := s.dp.Messages[1].(*wire.Suspect)
			if !ok || *sus != (wire.Suspect{Incarnation: 1, Node: "a", From: "self"}) {
				t.Errorf("probe: second part got %+v, want suspect{1, a, From: self}", s.dp.Messages[1])
			}
			if want := pmax >= 5; s.pkt.CRC != want {
				t.Errorf("probe: CRC got %v, want %v", s.pkt.CRC, want)
			}
		})
	}
}

// TestProbeIndirect checks the second phase: helpers asked after
// ProbeTimeout, nacks asked of those that speak protocol 4, TCP fallback.
func TestProbeIndirect(t *testing.T) {
	// Every member speaks TCP pings (PMax >= 3); those with PMax >= 4 are
	// asked for nacks.
	pmax := map[string]byte{"a": 5, "b": 4, "c": 3, "d": 3}
	for _, tc := range []struct {
		name   string
		result func(seq uint32) (wire.Message, error) // nil: the stream never ends in the window
		fail   bool
	}{
		{"tcp ack", func(seq uint32) (wire.Message, error) { return &wire.Ack{SeqNo: seq}, nil }, false},
		{"tcp ack for another probe", func(seq uint32) (wire.Message, error) { return &wire.Ack{SeqNo: seq + 1}, nil }, true},
		{"tcp error", func(uint32) (wire.Message, error) { return nil, errors.New("refused") }, true},
		{"tcp unexpected reply", func(uint32) (wire.Message, error) { return &wire.Nack{}, nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for _, name := range []string{"a", "b", "c", "d"} {
				h.joinVsn(vsnWithPMax(pmax[name]), name)
			}
			h.raiseHealth(1) // Health 1: the probe window is 2 s
			t0, ping, _ := h.probeStart()
			target := ping.Node
			h.advanceTo(t0.Add(500*time.Millisecond - 1))
			if got := ofType[*wire.IndirectPing](messages(t, h.drain())); len(got) != 0 {
				t.Fatalf("before ProbeTimeout: got %d indirect pings, want 0", len(got))
			}
			h.advanceTo(t0.Add(500 * time.Millisecond))
			o := h.drain()
			helpers := map[string]bool{}
			for _, s := range messages(t, o) {
				ind, ok := s.msg.(*wire.IndirectPing)
				if !ok {
					continue
				}
				helper := h.names[s.to]
				helpers[helper] = true
				want := wire.IndirectPing{SeqNo: ping.SeqNo, Target: h.addr(target).Addr().AsSlice(), Port: 7946,
					Node: target, Nack: pmax[helper] >= 4, SourceAddr: []byte{127, 0, 0, 1}, SourcePort: 7946,
					SourceNode: "self"}
				if fmt.Sprint(*ind) != fmt.Sprint(want) {
					t.Errorf("indirect ping to %s: got %+v, want %+v", helper, *ind, want)
				}
			}
			if len(helpers) != 3 || helpers[target] || helpers["self"] {
				t.Errorf("helpers: got %v, want the 3 members other than %s", helpers, target)
			}
			if len(o.Streams) != 1 {
				t.Fatalf("TCP fallback: got %d streams, want 1", len(o.Streams))
			}
			st := o.Streams[0]
			sp, _ := st.Msg.(*wire.Ping)
			if st.Kind != StreamPing || st.To != h.addr(target) || sp == nil || sp.SeqNo != ping.SeqNo ||
				sp.Node != target || !st.Deadline.Equal(t0.Add(2*time.Second)) {
				t.Errorf("TCP fallback: got %v to %v msg %+v deadline %v; want ping %d to %s by t0+2s",
					st.Kind, st.To, st.Msg, st.Deadline.Sub(t0), ping.SeqNo, target)
			}
			// The window (2 s at Health 1) ends with the TCP probe still out:
			// the node waits for it.
			h.advanceTo(t0.Add(2 * time.Second))
			if m := h.member(target); m.State != StateAlive {
				t.Fatalf("%s at window end with TCP pending: got %v, want alive", target, m.State)
			}
			h.drain()
			h.advanceTo(t0.Add(2100 * time.Millisecond))
			reply, err := tc.result(ping.SeqNo)
			h.n.StreamDone(h.now, st.ID, reply, err)
			m := h.member(target)
			o = h.drain()
			if !tc.fail {
				if m.State != StateAlive || h.n.Health() != 0 {
					t.Errorf("after TCP ack: got %s %v, Health %d; want alive, 0", target, m.State, h.n.Health())
				}
				wantKinds(t, "TCP ack", o.Events)
				return
			}
			if m.State != StateSuspect {
				t.Errorf("after failed TCP: got %s %v, want suspect", target, m.State)
			}
			wantKinds(t, "failed probe", o.Events, EventSuspect)
			if len(o.Events) == 1 && o.Events[0].From != "self" {
				t.Errorf("suspect event: From got %q, want self", o.Events[0].From)
			}
			if got := h.n.Counters().ProbesFailed; got != 1 {
				t.Errorf("ProbesFailed: got %d, want 1", got)
			}
		})
	}
}

// TestProbeWindow checks that the wait for acks is the probe interval
// scaled by health, and ProbeTimeout is not.
func TestProbeWindow(t *testing.T) {
	for _, health := range []int{0, 2, 7} {
		t.Run(fmt.Sprint("health ", health), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.DisableTCPPings = true })
			h.join("a", "b")
			h.raiseHealth(health)
			t0, ping, _ := h.probeStart()
			target := ping.Node
			window := time.Duration(health+1) * time.Second
			h.advanceTo(t0.Add(500 * time.Millisecond))
			o := h.drain()
			if got := len(ofType[*wire.IndirectPing](messages(t, o))); got != 1 {
				t.Errorf("at ProbeTimeout: got %d indirect pings, want 1", got)
			}
			if len(o.Streams) != 0 {
				t.Errorf("TCP pings disabled: got %d streams, want 0", len(o.Streams))
			}
			h.advanceTo(t0.Add(window - 1))
			if m := h.member(target); m.State != StateAlive {
				t.Errorf("%s just before the window ends: got %v, want alive", target, m.State)
			}
			h.advanceTo(t0.Add(window))
			if m := h.member(target); m.State != StateSuspect || !m.StateChange.Equal(t0.Add(window)) {
				t.Errorf("%s at window end: got %v since %v, want suspect since t0+%v", target, m.State,
					m.StateChange.Sub(t0), window)
			}
		})
	}
}

// TestProbeAwareness checks Lifeguard's health changes after a probe.
func TestProbeAwareness(t *testing.T) {
	tests := []struct {
		name  string
		pmax  byte // of every member
		nacks int
		ack   bool // a relayed ack arrives after ProbeTimeout
		n     int  // members besides us
		start int  // Health before the probe
		want  int
	}{
		{"three nack helpers, no nacks", 5, 0, false, 4, 0, 3},
		{"three nack helpers, one nack", 5, 1, false, 4, 0, 2},
		{"three nack helpers, three nacks", 5, 3, false, 4, 0, 0},
		{"three nack helpers, extra nacks", 5, 5, false, 4, 1, 1},
		{"helpers without nacks", 3, 0, false, 4, 0, 1},
		{"no helpers", 5, 0, false, 1, 0, 1},
		{"bounded", 5, 0, false, 4, 6, 7},
		{"late ack", 5, 0, true, 4, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.DisableTCPPings = true })
			var names []string
			for i := 1; i <= tc.n; i++ {
				names = append(names, fmt.Sprintf("m%d", i))
			}
			h.joinVsn(vsnWithPMax(tc.pmax), names...)
			h.raiseHealth(tc.start)
			t0, ping, _ := h.probeStart()
			h.advanceTo(t0.Add(500 * time.Millisecond))
			h.drain()
			for i := 0; i < tc.nacks; i++ {
				h.recv(&wire.Nack{SeqNo: ping.SeqNo})
			}
			if tc.ack {
				h.advanceTo(t0.Add(700 * time.Millisecond))
				h.recv(&wire.Ack{SeqNo: ping.SeqNo})
				// Only an ack within ProbeTimeout is a completed ping.
				wantKinds(t, "late ack", h.drain().Events)
			}
			h.advanceTo(t0.Add(time.Duration(tc.start+1) * time.Second))
			if got := h.n.Health(); got != tc.want {
				t.Errorf("Health(): got %d, want %d", got, tc.want)
			}
			wantState := StateSuspect
			if tc.ack {
				wantState = StateAlive
			}
			if m := h.member(ping.Node); m.State != wantState {
				t.Errorf("%s: got %v, want %v", ping.Node, m.State, wantState)
			}
		})
	}
	t.Run("direct ack", func(t *testing.T) {
		h := newHarness(t)
		h.join("a")
		h.raiseHealth(2)
		_, ping, _ := h.probeStart()
		h.recv(&wire.Ack{SeqNo: ping.SeqNo})
		if got := h.n.Health(); got != 1 {
			t.Errorf("Health(): got %d, want 1", got)
		}
	})
	t.Run("nack before helpers were asked", func(t *testing.T) {
		h := newHarness(t)
		h.join("a")
		_, ping, _ := h.probeStart()
		h.recv(&wire.Nack{SeqNo: ping.SeqNo})
		if got := h.n.Counters().Dropped[DropUnknownAck]; got != 1 {
			t.Errorf("unknown_ack drops: got %d, want 1", got)
		}
	})
}

func TestAnswerPing(t *testing.T) {
	h := newHarness(t)
	h.join("a")
	for _, tc := range []struct {
		name string
		ping *wire.Ping
		to   string
	}{
		{"with source", &wire.Ping{SeqNo: 9, Node: "self", SourceAddr: h.addr("a").Addr().AsSlice(), SourcePort: 7946}, "a"},
		{"without source", &wire.Ping{SeqNo: 9, Node: "self"}, "neutral"},
		{"without node name", &wire.Ping{SeqNo: 9}, "neutral"},
	} {
		h.recv(tc.ping)
		ms := messages(t, h.drain())
		want := neutral
		if tc.to == "a" {
			want = h.addr("a")
		}
		if len(ms) != 1 || ms[0].to != want || fmt.Sprint(ms[0].msg) != fmt.Sprint(&wire.Ack{SeqNo: 9}) {
			t.Errorf("%s: got %d messages (%v), want ack 9 to %v", tc.name, len(ms), ms, want)
		}
	}
	if r := h.n.HandleStream(h.now, neutral, &wire.Ping{SeqNo: 4, Node: "self"}); fmt.Sprint(r) != fmt.Sprint(&wire.Ack{SeqNo: 4}) {
		t.Errorf("stream ping: got %v, want ack 4", r)
	}
}

// TestRelay checks the helper's side of an indirect probe.
func TestRelay(t *testing.T) {
	for _, tc := range []struct {
		name string
		nack bool
		ack  bool
		want wire.Message // sent back to the requester
	}{
		{"ack relayed", true, true, &wire.Ack{SeqNo: 42}},
		{"nack", true, false, &wire.Nack{SeqNo: 42}},
		{"no nack asked", false, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.GossipNodes = 0 })
			h.join("a", "b")
			h.recvFrom(h.addr("b"), &wire.IndirectPing{SeqNo: 42, Target: h.addr("a").Addr().AsSlice(), Port: 7946,
				Node: "a", Nack: tc.nack, SourceAddr: h.addr("b").Addr().AsSlice(), SourcePort: 7946, SourceNode: "b"})
			ms := messages(t, h.drain())
			if len(ms) != 1 || ms[0].to != h.addr("a") {
				t.Fatalf("relay: got %v, want one ping to a", ms)
			}
			p, _ := ms[0].msg.(*wire.Ping)
			if p == nil || p.Node != "a" || p.SourceNode != "self" {
				t.Fatalf("relay: got %+v, want a ping for a from self", ms[0].msg)
			}
			if tc.ack {
				h.recvFrom(h.addr("a"), &wire.Ack{SeqNo: p.SeqNo})
			}
			h.advanceTo(epoch.Add(500 * time.Millisecond))
			var back []sent
			for _, s := range messages(t, h.drain()) {
				switch s.msg.(type) {
				case *wire.Ack, *wire.Nack:
					if s.to == h.addr("b") {
						back = append(back, s)
					}
				}
			}
			if tc.want == nil {
				if len(back) != 0 {
					t.Errorf("to the requester: got %v, want nothing", back)
				}
				return
			}
			if len(back) != 1 || fmt.Sprint(back[0].msg) != fmt.Sprint(tc.want) {
				t.Errorf("to the requester: got %v, want %v", back, tc.want)
			}
		})
	}
}

// TestProbeNoTCP checks that the TCP fallback is tried only with members
// that speak protocol 3 or later, and not when disabled.
func TestProbeNoTCP(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pmax    byte
		disable bool
		want    int
	}{
		{"PMax 2", 2, false, 0},
		{"PMax 3", 3, false, 1},
		{"PMax 3, disabled", 3, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.DisableTCPPings = tc.disable; c.PushPullInterval = 0 })
			h.joinVsn(vsnWithPMax(tc.pmax), "a")
			t0, _, _ := h.probeStart()
			h.advanceTo(t0.Add(500 * time.Millisecond))
			if got := len(h.drain().Streams); got != tc.want {
				t.Errorf("streams at ProbeTimeout: got %d, want %d", got, tc.want)
			}
		})
	}
}
