package swim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// FuzzNode reads its input as a program of at most fuzzMaxSteps operations
// (the op* constants, with argument bytes) on a Node that starts knowing
// peers a, b and c, after a config byte (see newFuzzRun) and an rng seed
// byte; past the end every byte reads as 0. After every step it drains the
// node and checks the invariants in check; then it runs the program again
// on a fresh node and wants the very same outputs.
func FuzzNode(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// A program takes milliseconds; panicking on a hang keeps the input.
		wd := time.AfterFunc(30*time.Second, func() { panic(fmt.Sprintf("FuzzNode hangs on %q", in)) })
		defer wd.Stop()
		a, b, i := runFuzz(t, in), runFuzz(t, in), 0
		for i < min(len(a), len(b)) && bytes.Equal(a[i], b[i]) {
			i++
		}
		if len(a) != len(b) || i < len(a) {
			t.Fatalf("not deterministic: a second run gives other outputs from step %d on", i)
		}
	})
}

const fuzzMaxSteps = 200

// The fuzz ops.
const (
	opAdvance         = iota // one byte: ×10 ms, or (high bit) ×1 s
	opAdvanceDeadline        // advance to NextDeadline
	opPacket                 // 1–3 messages in one packet
	opStreamPushPull         // a peer's push-pull on a stream it opened
	opStreamOther            // a ping, user, ack or suspect on a peer's stream
	opStreamDone             // end a stream the node asked for, or an unknown one
	opJoin
	opLeave
	opUpdateMeta
	opSendPacket
	opSendReliable
	opAppFill // how the test App fills user broadcasts
	numFuzzOps
)

// fuzzNames are the names messages are about: three known peers, us, the
// empty name, four strangers (for gossip's random draws) and a long name.
var fuzzNames = []string{"a", "b", "c", "self", "", "d", "e", "f", "g", strings.Repeat("n", 300)}

// fuzzHome is name's own address: 10.0.0.(index in fuzzNames + 1):7946.
func fuzzHome(name string) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(slices.Index(fuzzNames, name) + 1)}), 7946)
}

// fuzzVsns are version vectors: none, (random), an impossible range twice,
// CRC-capable, with delegate versions we do not speak, memberlist's.
var fuzzVsns = [][]byte{nil, nil, {0, 5, 2, 0, 0, 0}, {5, 1, 2, 0, 0, 0}, {1, 5, 5, 0, 0, 0}, {1, 5, 2, 1, 3, 2}, testVsn}

// fuzzEventStates is the state an event's member is in.
var fuzzEventStates = map[EventKind]State{EventJoin: StateAlive, EventLeave: StateLeft, EventFailed: StateDead,
	EventUpdate: StateAlive, EventSuspect: StateSuspect, EventRecover: StateAlive, EventRefute: StateAlive}

// fuzzApp is a stateless App; fill chooses its user broadcasts: none, one
// filling the limit exactly, or one of 10 bytes.
type fuzzApp struct{ fill int }

func (*fuzzApp) AckPayload() []byte            { return []byte("ack-payload") }
func (*fuzzApp) LocalState(join bool) []byte   { return []byte("local-state") }
func (*fuzzApp) MergeRemoteState([]byte, bool) {}
func (a *fuzzApp) GetBroadcasts(overhead, limit int) [][]byte {
	switch {
	case a.fill == 1 && limit > overhead:
		return [][]byte{bytes.Repeat([]byte{'u'}, limit-overhead)}
	case a.fill == 2 && limit >= overhead+10:
		return [][]byte{[]byte("user-bcast")}
	}
	return nil
}

// fuzzRun is one execution of a fuzz input.
type fuzzRun struct {
	t      *testing.T
	in     []byte
	pos    int // next byte of in to read
	cfg    Config
	app    *fuzzApp
	n      *Node
	now    time.Time
	step   int
	what   string
	detail any // what the step fed the node, printed on failure

	left                bool   // Leave called
	inc                 uint32 // Incarnation() after the last step
	lastStream          StreamID
	streams             []Stream        // asked for and not yet ended
	seqs                []uint32        // recent sequence numbers of our pings
	joins               map[uint64]bool // Join ops issued → JoinDone seen
	updates, updateDone int             // successful UpdateMeta calls, EventUpdateDone
	leaveDone           int             // EventLeaveDone

	out   Output
	trace [][]byte // per step: everything the node produced, encoded
}

func runFuzz(t *testing.T, in []byte) [][]byte {
	r := newFuzzRun(t, in)
	for r.step = 1; r.step <= fuzzMaxSteps && r.pos < len(r.in); r.step++ {
		r.detail = nil
		r.check(r.do())
	}
	return r.trace
}

// newFuzzRun makes the node from the config byte: bits 0–1 pick LAN,
// Local, WAN or LAN with 1024-byte packets and a 64-byte envelope; bit 2
// adds an App, bit 3 DeadNodeReclaimTime, bit 4 turns TellStaleAlive off,
// bit 5 disables TCP pings, bit 6 starts with 512 bytes of metadata.
func newFuzzRun(t *testing.T, in []byte) *fuzzRun {
	r := &fuzzRun{t: t, in: in, now: epoch, joins: map[uint64]bool{}, what: "setup"}
	c := r.byte()
	r.cfg = [...]func() Config{LAN, Local, WAN, LAN}[c%4]()
	if c%4 == 3 {
		r.cfg.PacketSize, r.cfg.PacketOverhead = 1024, 64
	}
	r.cfg.Name, r.cfg.Addr = "self", fuzzHome("self")
	if r.app = (&fuzzApp{}); c&4 != 0 {
		r.cfg.App = r.app
	}
	r.cfg.DeadNodeReclaimTime = time.Duration(c>>3&1) * 5 * time.Second
	r.cfg.TellStaleAlive = c&16 == 0
	r.cfg.DisableTCPPings = c&32 != 0
	r.cfg.Meta = bytes.Repeat([]byte{'m'}, int(c>>6&1)*MetaMaxSize)
	n, err := New(r.cfg, epoch, rand.New(rand.NewPCG(uint64(r.byte()), 7)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.n, r.inc = n, n.Incarnation()
	for _, name := range fuzzNames[:3] {
		h := fuzzHome(name)
		n.HandlePacket(epoch, h, []wire.Message{&wire.Alive{Incarnation: 1, Node: name,
			Addr: h.Addr().AsSlice(), Port: h.Port(), Vsn: testVsn}})
	}
	r.check(false)
	return r
}

func (r *fuzzRun) byte() (b byte) {
	if r.pos < len(r.in) {
		b, r.pos = r.in[r.pos], r.pos+1
	}
	return b
}

func (r *fuzzRun) pick(n int) int { return int(r.byte()) % n }

func (r *fuzzRun) u32() uint32 {
	return uint32(r.byte())<<24 | uint32(r.byte())<<16 | uint32(r.byte())<<8 | uint32(r.byte())
}

func (r *fuzzRun) name() string { return fuzzNames[r.pick(len(fuzzNames))] }

// from is a packet's or stream's sender: a member's own address, mostly.
func (r *fuzzRun) from() netip.AddrPort {
	if b := r.byte(); b&7 != 7 {
		return fuzzHome(fuzzNames[int(b>>3)%len(fuzzNames)])
	}
	return netip.MustParseAddrPort("192.0.2.1:9999")
}

// addr is an address as advertised for name: its own (mostly), none,
// another, 5 bytes, IPv4-mapped 16 bytes, port 0, or a random port.
func (r *fuzzRun) addr(name string) ([]byte, uint16) {
	home := fuzzHome(name)
	raw, port, a16 := home.Addr().AsSlice(), home.Port(), home.Addr().As16()
	k := r.pick(10)
	switch k {
	case 4:
		port = 0
	case 5:
		port = uint16(r.byte())<<8 | uint16(r.byte())
	}
	return [][]byte{nil, {10, 0, 0, 99}, append(raw[:4:4], 1), a16[:], raw}[min(k, 4)], port
}

// incFor is an incarnation for a message about name: 0, the extremes,
// random, or near the one held.
func (r *fuzzRun) incFor(name string) uint32 {
	m, _ := r.n.Member(name)
	k := r.pick(8)
	v := [...]uint32{0, math.MaxUint32, math.MaxUint32 - 1, 0, m.Incarnation - 1, m.Incarnation}[min(k, 5)]
	if k == 3 {
		v = r.u32()
	} else if k >= 5 {
		v += uint32(r.pick(3))
	}
	return v
}

// meta is nil, of 512, 513 or 600 bytes, or of an even size up to 510.
func (r *fuzzRun) meta() []byte {
	k := r.pick(8)
	if k == 0 {
		return nil
	}
	size := [...]int{0, MetaMaxSize, MetaMaxSize + 1, 600}[min(k, 3)]
	if k >= 4 {
		size = int(r.byte()) * 2
	}
	return bytes.Repeat([]byte{r.byte()}, size)
}

// vsn is one of fuzzVsns, mostly memberlist's (one bad vector fails a
// whole push-pull), or random of up to 7 bytes.
func (r *fuzzRun) vsn() []byte {
	k := r.pick(12)
	if k != 1 {
		return fuzzVsns[min(k, len(fuzzVsns)-1)]
	}
	v := make([]byte, r.pick(8))
	for i := range v {
		v[i] = byte(r.pick(7))
	}
	return v
}

// seq is a sequence number: one of our recent pings' mostly.
func (r *fuzzRun) seq() uint32 {
	if k := len(r.seqs); k > 0 && r.byte()&3 != 0 {
		return r.seqs[k-1-r.pick(k)]
	}
	return uint32(r.byte())
}

func (r *fuzzRun) message() wire.Message {
	switch r.pick(8) {
	case 0:
		name := r.name()
		raw, port := r.addr(name)
		return &wire.Alive{Incarnation: r.incFor(name), Node: name, Addr: raw, Port: port, Meta: r.meta(), Vsn: r.vsn()}
	case 1:
		name := r.name()
		return &wire.Suspect{Incarnation: r.incFor(name), Node: name, From: r.name()}
	case 2:
		name := r.name()
		d := &wire.Dead{Incarnation: r.incFor(name), Node: name, From: r.name()}
		d.From = [...]string{name, d.From}[r.byte()&1] // 0: a graceful leave
		return d
	case 3:
		raw, port := r.addr(r.name())
		return &wire.Ping{SeqNo: r.seq(), Node: r.name(), SourceAddr: raw, SourcePort: port, SourceNode: r.name()}
	case 4:
		target := r.name()
		traw, tport := r.addr(target)
		sraw, sport := r.addr(r.name())
		return &wire.IndirectPing{SeqNo: r.seq(), Target: traw, Port: tport, Node: target, Nack: r.byte()&1 == 1,
			SourceAddr: sraw, SourcePort: sport, SourceNode: r.name()}
	case 5:
		return &wire.Ack{SeqNo: r.seq(), Payload: bytes.Repeat([]byte{'p'}, r.pick(4))}
	case 6:
		return &wire.Nack{SeqNo: r.seq()}
	}
	return &wire.User{Payload: bytes.Repeat([]byte{'u'}, int(r.byte())*4)}
}

// pushPull is a peer's state: up to 6 entries of any name (duplicates and
// ours included) in any state, valid or not.
func (r *fuzzRun) pushPull() *wire.PushPull {
	pp := &wire.PushPull{Join: r.byte()&1 == 1}
	for range r.pick(7) {
		name := r.name()
		raw, port := r.addr(name)
		pp.Nodes = append(pp.Nodes, wire.PushNodeState{Name: name, Addr: raw, Port: port,
			State: []wire.NodeState{0, 1, 2, 3, 4, -1}[r.pick(6)], Meta: r.meta(), Incarnation: r.incFor(name), Vsn: r.vsn()})
	}
	if r.byte()&1 == 1 {
		pp.UserState = []byte("remote-state")
	}
	return pp
}

// reply is how a stream the node asked for ends.
func (r *fuzzRun) reply(s Stream) (wire.Message, error) {
	errs := [...]error{0: errors.New("fuzz: stream failed"), 6: errors.New("fuzz: read failed"), 7: nil}
	switch k := r.pick(8); k {
	case 0, 1:
		return nil, errs[k]
	case 2:
		if p, ok := s.Msg.(*wire.Ping); ok {
			return &wire.Ack{SeqNo: p.SeqNo}, nil
		}
		return &wire.Ack{SeqNo: r.seq()}, nil
	case 3, 4, 6:
		return r.pushPull(), errs[k]
	case 5:
		return &wire.ErrResp{Error: "fuzz"}, nil
	}
	return &wire.User{Payload: []byte("?")}, nil
}

func (r *fuzzRun) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("step %d (%s %+v): %s", r.step, r.what, r.detail, fmt.Sprintf(format, args...))
}

// do runs one op; it reports whether it was an Advance.
func (r *fuzzRun) do() bool {
	n := r.n
	switch r.pick(numFuzzOps) {
	case opAdvance:
		b := r.byte()
		d := time.Duration(b&0x7f) * [...]time.Duration{10 * time.Millisecond, time.Second}[b>>7]
		r.what, r.now = fmt.Sprint("advance ", d), r.now.Add(d)
		n.Advance(r.now)
		return true
	case opAdvanceDeadline:
		r.what = "advance to deadline"
		r.now, _ = n.NextDeadline() // never before now: see check
		n.Advance(r.now)
		return true
	case opPacket:
		msgs := make([]wire.Message, 1+r.pick(3))
		for i := range msgs {
			msgs[i] = r.message()
		}
		from := r.from()
		r.what, r.detail = "packet from "+from.String(), msgs
		n.HandlePacket(r.now, from, msgs)
	case opStreamPushPull:
		pp := r.pushPull()
		r.what, r.detail = "push-pull stream", pp.Nodes
		reply := n.HandleStream(r.now, r.from(), pp)
		if rp, ok := reply.(*wire.PushPull); !ok || rp == nil || rp.Join != pp.Join {
			r.fail("reply %#v, want a push-pull echoing Join=%v", reply, pp.Join)
		}
		r.streamMsg(reply)
	case opStreamOther: // want: an ack to a ping for us, else nothing (memberlist closes the stream)
		seq, node, k := r.u32(), r.name(), r.pick(3)
		m := []wire.Message{&wire.Ping{SeqNo: seq, Node: node}, &wire.User{Payload: []byte("reliable")}, &wire.Ack{SeqNo: seq}}[k]
		want := "<nil>"
		if k == 0 && (node == "" || node == "self") {
			want = "*wire.Ack"
		}
		r.what, r.detail = "stream message", m
		reply := n.HandleStream(r.now, r.from(), m)
		if ack, ok := reply.(*wire.Ack); fmt.Sprintf("%T", reply) != want || (ok && ack.SeqNo != seq) {
			r.fail("answered with %#v, want a %s", reply, want)
		}
		if reply != nil {
			r.streamMsg(reply)
		}
	case opStreamDone:
		var s Stream
		if i := r.pick(len(r.streams) + 1); i < len(r.streams) {
			s, r.streams = r.streams[i], slices.Delete(r.streams, i, i+1)
		} else {
			s.ID = r.lastStream + StreamID(r.pick(2)) // ended already, or not yet asked for
		}
		reply, err := r.reply(s)
		r.what, r.detail = fmt.Sprintf("stream %d (%v) done: %v", s.ID, s.Kind, err), reply
		n.StreamDone(r.now, s.ID, reply, err)
	case opJoin:
		seeds := make([]netip.AddrPort, r.pick(4))
		for i := range seeds {
			seeds[i] = fuzzHome(r.name())
		}
		r.what = fmt.Sprint("join ", seeds)
		op := n.Join(r.now, seeds)
		if _, dup := r.joins[op]; dup || op == 0 {
			r.fail("Join returned op %d again", op)
		}
		r.joins[op] = false
	case opLeave:
		r.what = "leave"
		if err := n.Leave(r.now); r.left != errors.Is(err, ErrLeft) || (!r.left && err != nil) {
			r.fail("Leave: %v (left before: %v)", err, r.left)
		}
		r.left = true
	case opUpdateMeta:
		meta := r.meta()
		r.what = fmt.Sprintf("update meta (%d bytes)", len(meta))
		ok := len(meta) <= MetaMaxSize && !r.left && n.Incarnation() < math.MaxUint32
		if ok {
			r.updates++
		}
		err := n.UpdateMeta(r.now, meta)
		if ok != (err == nil) || (r.left && len(meta) <= MetaMaxSize && !errors.Is(err, ErrLeft)) {
			r.fail("UpdateMeta of %d bytes (left: %v): %v", len(meta), r.left, err)
		}
		if got := n.Self().Meta; ok && !bytes.Equal(got, meta) {
			r.fail("Self().Meta has %d bytes, want the %d just set", len(got), len(meta))
		}
	case opSendPacket:
		limit := r.cfg.PacketSize - r.cfg.PacketOverhead - 1
		size := int(r.byte()) * 4
		if k := r.pick(4); k < 2 {
			size = limit + k
		}
		to := fuzzHome(r.name())
		r.what = fmt.Sprintf("send packet of %d to %v", size, to)
		if err := n.SendPacket(r.now, to, bytes.Repeat([]byte{'s'}, size)); (err != nil) != (size > limit) {
			r.fail("SendPacket of %d bytes (limit %d): %v", size, limit, err)
		}
	case opSendReliable:
		to := fuzzHome(r.name())
		r.what = fmt.Sprint("send reliable to ", to)
		if id, err := n.SendReliable(r.now, to, bytes.Repeat([]byte{'r'}, int(r.byte()))); id == 0 || err != nil {
			r.fail("SendReliable: %d, %v", id, err)
		}
	case opAppFill:
		r.what = "app fill"
		if fill := r.pick(3); r.app != nil {
			r.app.fill = fill
		}
	}
	return false
}

// streamMsg checks that a stream message encodes and decodes; records it.
func (r *fuzzRun) streamMsg(m wire.Message) {
	enc, err := wire.AppendStream(nil, m, wire.EncodeOptions{})
	if err == nil {
		_, err = wire.DecodeStream(enc, wire.DecodeOptions{})
	}
	if err != nil {
		r.fail("stream %T the node made: %v", m, err)
	}
	r.record(enc)
}

func (r *fuzzRun) record(b []byte) {
	if len(r.trace) <= r.step {
		r.trace = append(r.trace, make([][]byte, r.step+1-len(r.trace))...)
	}
	r.trace[r.step] = append(binary.AppendUvarint(r.trace[r.step], uint64(len(b))), b...)
}

// check drains the node and checks every invariant.
func (r *fuzzRun) check(advanced bool) {
	n := r.n
	n.Drain(&r.out)
	budget := r.cfg.PacketSize - r.cfg.PacketOverhead
	for _, p := range r.out.Packets {
		if !p.To.IsValid() || len(p.Payload) > budget {
			r.fail("packet of %d bytes (limit %d) to %v", len(p.Payload), budget, p.To)
		}
		dp, err := wire.DecodePacket(p.Payload, wire.DecodeOptions{})
		if err != nil || len(dp.PartErrors) > 0 || dp.Truncated > 0 || len(dp.Messages) == 0 {
			r.fail("packet to %v does not decode: %v %+v", p.To, err, dp)
		}
		if p, ok := dp.Messages[0].(*wire.Ping); ok { // ours: a probe's or a relayed one
			r.seqs = append(r.seqs, p.SeqNo)
		}
		r.record(fmt.Appendf(p.To.AppendTo(nil), " %v", p.CRC))
		r.record(p.Payload)
	}
	for _, s := range r.out.Streams {
		if p, ok := s.Msg.(*wire.Ping); ok {
			r.seqs = append(r.seqs, p.SeqNo)
		}
		kinds := map[wire.MsgType]StreamKind{wire.PushPullMsg: StreamPushPull, wire.PingMsg: StreamPing, wire.UserMsg: StreamUser}
		// A TCP ping ends with its probe, which a late Advance may have
		// passed already; other streams get TCPTimeout from now.
		if s.ID <= r.lastStream || s.Msg == nil || kinds[s.Msg.Type()] != s.Kind || !s.To.IsValid() ||
			(s.Kind != StreamPing && !s.Deadline.After(r.now)) {
			r.fail("stream %d (after %d): kind %v, message %T, to %v, deadline %v after now",
				s.ID, r.lastStream, s.Kind, s.Msg, s.To, s.Deadline.Sub(r.now))
		}
		r.lastStream = s.ID
		r.record(fmt.Appendf(nil, "stream %d %v %v %d", s.ID, s.Kind, s.To, s.Deadline.UnixNano()))
		r.streamMsg(s.Msg)
		r.streams = append(r.streams, s)
	}
	r.seqs = r.seqs[max(0, len(r.seqs)-16):]
	for _, ev := range r.out.Events {
		st, stated := fuzzEventStates[ev.Kind]
		bad := ev.Kind < EventJoin || ev.Kind > EventUpdateDone || (stated && ev.Member.State != st)
		switch ev.Kind {
		case EventJoinDone:
			done, issued := r.joins[ev.Op]
			bad, r.joins[ev.Op] = !issued || done, true
		case EventLeaveDone:
			r.leaveDone++
			bad = !r.left || r.leaveDone > 1
		case EventUpdateDone:
			r.updateDone++
			bad = r.updateDone > r.updates
		case EventRefute:
			bad = bad || ev.Member.Name != "self"
		}
		if bad {
			r.fail("unexpected event %v (op %d) about %q, %v; left %v, %d leave-done, %d update-done after %d updates",
				ev.Kind, ev.Op, ev.Member.Name, ev.Member.State, r.left, r.leaveDone, r.updateDone, r.updates)
		}
	}
	r.record(fmt.Appendf(nil, "%+v", r.out.Events))
	self, inc := n.Self(), n.Incarnation()
	if self.Name != "self" || self.State != map[bool]State{false: StateAlive, true: StateLeft}[r.left] {
		r.fail("self entry %q is %v (left: %v)", self.Name, self.State, r.left)
	}
	if inc < r.inc {
		r.fail("incarnation went from %d down to %d", r.inc, inc)
	}
	if r.inc = inc; self.Incarnation != inc {
		r.fail("self entry at incarnation %d, Incarnation() %d", self.Incarnation, inc)
	}
	ms := n.Members(nil)
	seen := make(map[string]bool, len(ms))
	var counts [4]int
	for _, m := range ms {
		if m.Name == "" || seen[m.Name] || !m.Addr.IsValid() || len(m.Meta) > MetaMaxSize || m.State > StateLeft {
			r.fail("bad or repeated member %q at %v, %d bytes of meta, %v", m.Name, m.Addr, len(m.Meta), m.State)
		}
		seen[m.Name] = true
		if got, ok := n.Member(m.Name); !ok || got.Incarnation != m.Incarnation || got.State != m.State {
			r.fail("Member(%q) = %+v, %v; Members has %+v", m.Name, got, ok, m)
		}
		counts[m.State]++
		r.record(fmt.Appendf(nil, "%q %v %d %v %x %d", m.Name, m.Addr, m.Incarnation, m.State, m.Vsn, m.StateChange.UnixNano()))
	}
	if c := n.CountStates(); len(ms) != n.NumMembers() || c != counts || n.NumAlive() != counts[StateAlive]+counts[StateSuspect] {
		r.fail("NumMembers %d, CountStates %v, NumAlive %d; Members has %d: %v", n.NumMembers(), c, n.NumAlive(), len(ms), counts)
	}
	d, ok := n.NextDeadline()
	if !ok || d.Before(r.now) || (advanced && !d.After(r.now)) {
		r.fail("NextDeadline %v (%v) at now %v", d.Sub(epoch), ok, r.now.Sub(epoch))
	}
	r.record(fmt.Appendf(nil, "deadline %d inc %d", d.Sub(epoch), inc))

	// The caller owns what Drain returned: scribbling over it must not
	// change what the node sends later.
	for _, p := range r.out.Packets {
		for i := range p.Payload {
			p.Payload[i] = 0xa5
		}
	}
}

// fuzzSeeds are hand-built programs: a config byte, a seed byte, then ops
// with their argument bytes (see do and the generators it calls).
var fuzzSeeds = [][]byte{
	// A suspect about us from a, then a dead about us from b: two refutes.
	{0, 2, opPacket, 0, 1, 3, 5, 0, 0, 0, opAdvanceDeadline, opPacket, 0, 2, 3, 5, 0, 1, 1, 8},
	// A push-pull holding us dead, a newcomer twice and a state out of
	// range; then one where c left.
	{0, 5, opStreamPushPull, 0, 4, 3, 6, 2, 0, 5, 0, 6, 5, 6, 0, 4, 8, 'm', 6, 1, 6, 5, 6, 0, 0, 6, 2, 6,
		1, 6, 4, 0, 5, 1, 6, 1, 8, opStreamPushPull, 1, 1, 2, 6, 3, 0, 5, 0, 6, 0, 16},
	// Join a and b: a answers with its state, b fails.
	{0, 6, opJoin, 2, 0, 1, opStreamDone, 0, 3, 0, 2, 5, 6, 0, 0, 6, 1, 6, 0, 6, 0, 0, 6, 1, 6, 0,
		opStreamDone, 0, 0},
	// Everyone else dies; we update and leave alone; a returns.
	{0, 9, opPacket, 2, 2, 0, 5, 0, 3, 1, 2, 1, 5, 0, 3, 1, 2, 2, 5, 0, 3, 1, 24, opUpdateMeta, 0, opLeave,
		opPacket, 0, 0, 0, 6, 5, 1, 0, 6, 0, opAdvance, 0x8a},
}
