package swim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// The tests drive one Node through its public inputs at fixed times after
// epoch; nothing reads the wall clock.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// testVsn is what a memberlist v0.7.0 peer advertises: PMin 1, PMax 5,
// PCur 2, no delegate versions.
var testVsn = []byte{1, 5, 2, 0, 0, 0}

// neutral is a sender address that belongs to no member.
var neutral = netip.MustParseAddrPort("127.0.255.254:7946")

// harness is one node under test and the addresses of the members it hears of.
type harness struct {
	t     *testing.T
	n     *Node
	now   time.Time
	addrs map[string]netip.AddrPort
	names map[netip.AddrPort]string
}

// newHarness makes node "self" at 127.0.0.1:7946 from LAN(), after opts.
func newHarness(t *testing.T, opts ...func(*Config)) *harness {
	t.Helper()
	cfg := LAN()
	cfg.Name = "self"
	cfg.Addr = netip.MustParseAddrPort("127.0.0.1:7946")
	for _, o := range opts {
		o(&cfg)
	}
	n, err := New(cfg, epoch, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &harness{t: t, n: n, now: epoch, addrs: map[string]netip.AddrPort{}, names: map[netip.AddrPort]string{}}
	h.addrs["self"] = cfg.Addr
	h.names[cfg.Addr] = "self"
	return h
}

// addr gives each member name its own address, 127.0.x.y:7946, on first use.
func (h *harness) addr(name string) netip.AddrPort {
	if a, ok := h.addrs[name]; ok {
		return a
	}
	k := len(h.addrs) + 1
	a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, byte(k >> 8), byte(k)}), 7946)
	h.addrs[name] = a
	h.names[a] = name
	return a
}

// alive is the alive message member name would send about itself.
func (h *harness) alive(name string, inc uint32) *wire.Alive {
	a := h.addr(name)
	return &wire.Alive{Incarnation: inc, Node: name, Addr: a.Addr().AsSlice(), Port: a.Port(), Vsn: testVsn}
}

// recv hands the node one packet's messages from a neutral sender.
func (h *harness) recv(msgs ...wire.Message) { h.recvFrom(neutral, msgs...) }

func (h *harness) recvFrom(from netip.AddrPort, msgs ...wire.Message) {
	h.n.HandlePacket(h.now, from, msgs)
}

// join adds alive members at incarnation 1 and empties the output and the
// broadcast queue, so a test starts from a quiet, converged node.
func (h *harness) join(names ...string) {
	for _, name := range names {
		h.recv(h.alive(name, 1))
	}
	h.quiet()
}

// joinN adds members m1..m(n-1), making a table of n with ourselves.
func (h *harness) joinN(n int) []string {
	names := make([]string, 0, n-1)
	for i := 1; i < n; i++ {
		names = append(names, fmt.Sprintf("m%d", i))
	}
	h.join(names...)
	if got := h.n.NumMembers(); got != n {
		h.t.Fatalf("NumMembers() after joining: got %d, want %d", got, n)
	}
	return names
}

// quiet sends every queued broadcast until none is left and drops the output.
func (h *harness) quiet() {
	for i := 0; h.n.queue.len() > 0; i++ {
		if i > 1000 {
			h.t.Fatalf("broadcast queue never empties: %d left", h.n.queue.len())
		}
		h.n.broadcasts(nil, 1<<20, 1<<20)
	}
	h.drain()
}

func (h *harness) drain() Output {
	var o Output
	h.n.Drain(&o)
	return o
}

// advanceTo moves the clock to t and fires what is due.
func (h *harness) advanceTo(t time.Time) {
	h.now = t
	h.n.Advance(t)
}

// step advances to the next deadline, failing the test if there is none
// before limit.
func (h *harness) step(limit time.Time) {
	h.t.Helper()
	d, ok := h.n.NextDeadline()
	if !ok || d.After(limit) {
		h.t.Fatalf("no deadline before %v (next %v, %v)", limit.Sub(epoch), d.Sub(epoch), ok)
	}
	h.advanceTo(d)
}

// member returns name's entry, failing if the node does not know it.
func (h *harness) member(name string) Member {
	h.t.Helper()
	m, ok := h.n.Member(name)
	if !ok {
		h.t.Fatalf("Member(%q): not known", name)
	}
	return m
}

// decode decodes a packet the node produced.
func decode(t *testing.T, p Packet) *wire.Packet {
	t.Helper()
	dp, err := wire.DecodePacket(p.Payload, wire.DecodeOptions{})
	if err != nil {
		t.Fatalf("DecodePacket(packet to %v): %v", p.To, err)
	}
	if len(dp.PartErrors) > 0 || dp.Truncated > 0 {
		t.Fatalf("packet to %v: part errors %v, %d truncated", p.To, dp.PartErrors, dp.Truncated)
	}
	return dp
}

// sent is one decoded message with where its packet went.
type sent struct {
	to  netip.AddrPort
	pkt Packet
	dp  *wire.Packet
	msg wire.Message
}

// messages decodes every packet in o, flattened.
func messages(t *testing.T, o Output) []sent {
	t.Helper()
	var out []sent
	for _, p := range o.Packets {
		dp := decode(t, p)
		for _, m := range dp.Messages {
			out = append(out, sent{to: p.To, pkt: p, dp: dp, msg: m})
		}
	}
	return out
}

// ofType keeps the messages of type T.
func ofType[T wire.Message](ms []sent) []T {
	var out []T
	for _, s := range ms {
		if m, ok := s.msg.(T); ok {
			out = append(out, m)
		}
	}
	return out
}

func kinds(evs []Event) []EventKind {
	out := make([]EventKind, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

func kindsString(ks []EventKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = k.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// wantKinds checks the events' kinds, in order.
func wantKinds(t *testing.T, what string, evs []Event, want ...EventKind) {
	t.Helper()
	if got := kinds(evs); !slices.Equal(got, want) {
		t.Errorf("%s: events got %s, want %s", what, kindsString(got), kindsString(want))
	}
}

// drops returns the nonzero drop counters, for messages.
func drops(c Counters) map[Drop]uint64 {
	m := map[Drop]uint64{}
	for d, v := range c.Dropped {
		if v != 0 {
			m[Drop(d)] = v
		}
	}
	return m
}

// dropDelta is the change in each drop counter between two snapshots.
func dropDelta(before, after Counters) map[Drop]uint64 {
	m := map[Drop]uint64{}
	for d := range after.Dropped {
		if v := after.Dropped[d] - before.Dropped[d]; v != 0 {
			m[Drop(d)] = v
		}
	}
	return m
}

func dropsString(m map[Drop]uint64) string {
	var s []string
	for _, d := range Drops() {
		if v := m[d]; v != 0 {
			s = append(s, fmt.Sprintf("%v=%d", d, v))
		}
	}
	return "{" + strings.Join(s, " ") + "}"
}

// wantDrops checks the counters that changed since before.
func wantDrops(t *testing.T, what string, before, after Counters, want map[Drop]uint64) {
	t.Helper()
	got := dropDelta(before, after)
	if dropsString(got) != dropsString(want) {
		t.Errorf("%s: drops got %s, want %s", what, dropsString(got), dropsString(want))
	}
}

// responder answers every ping sent to a member's own address with an ack,
// as a healthy member would, until the node has nothing more to say. It
// returns all output, answers' effects included.
func (h *harness) respond(down map[string]bool) Output {
	var all Output
	for i := 0; ; i++ {
		o := h.drain()
		if len(o.Packets) == 0 && len(o.Events) == 0 && len(o.Streams) == 0 {
			return all
		}
		if i > 100 {
			h.t.Fatalf("node keeps talking")
		}
		all.Packets = append(all.Packets, o.Packets...)
		all.Streams = append(all.Streams, o.Streams...)
		all.Events = append(all.Events, o.Events...)
		for _, s := range messages(h.t, o) {
			p, ok := s.msg.(*wire.Ping)
			if !ok || h.names[s.to] != p.Node || down[p.Node] {
				continue
			}
			h.recvFrom(s.to, &wire.Ack{SeqNo: p.SeqNo})
		}
	}
}

// runUntil steps through every deadline up to end with healthy members
// answering pings, and calls check after each step.
func (h *harness) runUntil(end time.Time, down map[string]bool, check func(Output)) {
	for {
		d, ok := h.n.NextDeadline()
		if !ok || d.After(end) {
			break
		}
		h.advanceTo(d)
		o := h.respond(down)
		if check != nil {
			check(o)
		}
	}
	h.advanceTo(end)
	if o := h.respond(down); check != nil {
		check(o)
	}
}
