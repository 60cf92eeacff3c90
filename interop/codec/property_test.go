package codec

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/rumorproject/rumor/internal/wire"
	"github.com/rumorproject/rumor/interop/mlwire"
)

var (
	propSeed  = flag.Uint64("codec.seed", 0x72756d6f72, "seed of the property tests' random values")
	propIters = flag.Int("codec.iters", 3000, "random values per message type")
)

// maxFailures stops a property after this many counterexamples.
const maxFailures = 10

// property runs check on iters values drawn from a generator seeded with
// the test seed and the property's name, so each property can be re-run
// alone with the same values.
func property(t *testing.T, iters int, check func(g *gen, i int) error) {
	t.Helper()
	t.Logf("seed %d (reproduce with -codec.seed=%d -run '%s')", *propSeed, *propSeed, t.Name())
	g := newGen(*propSeed, t.Name())
	failures := 0
	for i := range iters {
		if err := check(g, i); err != nil {
			t.Errorf("iteration %d: %v", i, err)
			if failures++; failures >= maxFailures {
				t.Fatalf("stopping after %d failures", failures)
			}
		}
	}
}

func iters(n int) int {
	if testing.Short() {
		return max(n/10, 1)
	}
	return n
}

// gotWant formats a byte mismatch as hex. Long inputs are shown around
// the first difference.
func gotWant(got, want []byte) string {
	const window = 96
	if len(got) <= 2*window && len(want) <= 2*window {
		return fmt.Sprintf("got %x, want %x", got, want)
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(i-window/2, 0)
	cut := func(b []byte) string {
		return fmt.Sprintf("…%x…", b[min(lo, len(b)):min(lo+window, len(b))])
	}
	return fmt.Sprintf("first difference at byte %d (len %d vs %d): got %s, want %s", i, len(got), len(want), cut(got), cut(want))
}

func hexCut(b []byte) string {
	if len(b) > 192 {
		return hex.EncodeToString(b[:192]) + fmt.Sprintf("…(%d bytes)", len(b))
	}
	return hex.EncodeToString(b)
}

func sameBytes(what string, got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s: %s", what, gotWant(got, want))
	}
	return nil
}

func sameValue(what string, input []byte, got, want any) error {
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s of %s: got %s, want %s", what, hexCut(input), describe(got), describe(want))
	}
	return nil
}

// checkMessage checks one msgpack message (not push-pull or user) against
// go-msgpack in both directions.
func checkMessage(m wire.Message) error {
	typ, ml := toML(m)
	want, err := gmEncode(typ, ml)
	if err != nil {
		return fmt.Errorf("go-msgpack encode %s: %v", describe(m), err)
	}
	got := wire.AppendMessage(nil, m)
	if err := sameBytes("AppendMessage("+describe(m)+")", got, want); err != nil {
		return err
	}
	// Appending after existing bytes must not disturb them.
	prefix := []byte{0xde, 0xad}
	if err := sameBytes("AppendTo after a prefix", m.AppendTo(prefix), append(prefix, want...)); err != nil {
		return err
	}

	// What go-msgpack makes of its own bytes is what rumor must make of them.
	mlWant := newML(typ)
	if err := gmDecode(want[1:], mlWant); err != nil {
		return fmt.Errorf("go-msgpack decode %x: %v", want, err)
	}
	exp := fromML(mlWant)
	if err := sameValue("go-msgpack round trip (test oracle)", want, exp, normalize(m)); err != nil {
		return err
	}
	decoded, err := decodeLeaf(typ, want)
	if err != nil {
		return fmt.Errorf("rumor decode %s: %v", hexCut(want), err)
	}
	if err := sameValue("rumor decode", want, decoded, exp); err != nil {
		return err
	}
	// And go-msgpack must read rumor's bytes.
	mlGot := newML(typ)
	if err := gmDecode(got[1:], mlGot); err != nil {
		return fmt.Errorf("go-msgpack decode of rumor bytes %s: %v", hexCut(got), err)
	}
	if err := sameValue("go-msgpack decode of rumor bytes", got, mlGot, mlWant); err != nil {
		return err
	}
	// Messages that may travel on a stream (ping and ack over TCP, errors)
	// decode the same way there.
	s, err := wire.DecodeStream(want, wire.DecodeOptions{StreamReply: true})
	if err != nil {
		return fmt.Errorf("rumor DecodeStream %s: %v", hexCut(want), err)
	}
	return sameValue("rumor DecodeStream", want, s.Message, exp)
}

// decodeLeaf decodes a single message the way its channel does: an error
// response only arrives on a stream.
func decodeLeaf(typ byte, b []byte) (wire.Message, error) {
	if typ == mlwire.TypeErr {
		s, err := wire.DecodeStream(b, wire.DecodeOptions{StreamReply: true})
		if err != nil {
			return nil, err
		}
		return s.Message, nil
	}
	return wire.DecodeMessage(b)
}

func TestPropertyMessages(t *testing.T) {
	cases := []struct {
		name string
		gen  func(*gen) wire.Message
	}{
		{"ping", (*gen).ping},
		{"indirect-ping", (*gen).indirectPing},
		{"ack", (*gen).ack},
		{"nack", (*gen).nack},
		{"suspect", (*gen).suspect},
		{"alive", (*gen).alive},
		{"dead", (*gen).dead},
		{"err", (*gen).errResp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			property(t, iters(*propIters), func(g *gen, _ int) error { return checkMessage(c.gen(g)) })
		})
	}
}

// TestPropertyEdges runs every message type over values built only from the
// length and integer edges, so each edge is certainly hit.
func TestPropertyEdges(t *testing.T) {
	var lens []int
	lens = append(append(lens, lenEdges...), bigLenEdges...)
	for _, n := range lens {
		s := string(bytes.Repeat([]byte{'x'}, n))
		b := bytes.Repeat([]byte{0xb7}, n)
		for _, u := range uintEdges {
			u32, u16 := uint32(u), uint16(min(u, 0xffff))
			msgs := []wire.Message{
				&wire.Ping{SeqNo: u32, Node: s, SourceAddr: b, SourcePort: u16, SourceNode: s},
				&wire.IndirectPing{SeqNo: u32, Target: b, Port: u16, Node: s, Nack: true, SourceAddr: b, SourcePort: u16, SourceNode: s},
				&wire.Ack{SeqNo: u32, Payload: b},
				&wire.Nack{SeqNo: u32},
				&wire.Suspect{Incarnation: u32, Node: s, From: s},
				&wire.Alive{Incarnation: u32, Node: s, Addr: b, Port: u16, Meta: b, Vsn: b},
				&wire.Dead{Incarnation: u32, Node: s, From: s},
				&wire.ErrResp{Error: s},
			}
			for _, m := range msgs {
				if err := checkMessage(m); err != nil {
					t.Fatal(err)
				}
			}
			if n > 300 && u > 300 {
				break // the long values need not meet every integer
			}
		}
	}
}

func checkUserPacket(m *wire.User) error {
	want := append([]byte{mlwire.TypeUser}, m.Payload...)
	got := wire.AppendMessage(nil, m)
	if err := sameBytes("user packet", got, want); err != nil {
		return err
	}
	decoded, err := wire.DecodeMessage(want)
	if err != nil {
		return fmt.Errorf("rumor decode %s: %v", hexCut(want), err)
	}
	// memberlist hands the application the rest of the packet: never nil.
	return sameValue("rumor decode", want, decoded, &wire.User{Payload: want[1:]})
}

func checkUserStream(payload []byte) error {
	want, err := gmEncodeUserStream(payload)
	if err != nil {
		return err
	}
	got, err := wire.AppendStream(nil, &wire.User{Payload: payload}, wire.EncodeOptions{})
	if err != nil {
		return err
	}
	if err := sameBytes(fmt.Sprintf("user stream of %d bytes", len(payload)), got, want); err != nil {
		return err
	}
	exp, err := gmDecodeUserStream(want[1:])
	if err != nil {
		return fmt.Errorf("go-msgpack decode %s: %v", hexCut(want), err)
	}
	if err := sameValue("go-msgpack round trip (test oracle)", want, exp, nilIfEmpty(payload)); err != nil {
		return err
	}
	s, err := wire.DecodeStream(want, wire.DecodeOptions{})
	if err != nil {
		return fmt.Errorf("rumor DecodeStream %s: %v", hexCut(want), err)
	}
	if err := sameValue("rumor DecodeStream", want, s.Message, &wire.User{Payload: exp}); err != nil {
		return err
	}
	back, err := gmDecodeUserStream(got[1:])
	if err != nil {
		return fmt.Errorf("go-msgpack decode of rumor bytes %s: %v", hexCut(got), err)
	}
	return sameValue("go-msgpack decode of rumor bytes", got, back, exp)
}

func TestPropertyUser(t *testing.T) {
	t.Run("packet", func(t *testing.T) {
		t.Parallel()
		property(t, iters(*propIters), func(g *gen, _ int) error { return checkUserPacket(g.user().(*wire.User)) })
	})
	t.Run("stream", func(t *testing.T) {
		t.Parallel()
		property(t, iters(*propIters), func(g *gen, _ int) error { return checkUserStream(g.bytes()) })
	})
	t.Run("stream-edges", func(t *testing.T) {
		for _, n := range append(append([]int{}, lenEdges...), bigLenEdges...) {
			if err := checkUserStream(bytes.Repeat([]byte{7}, n)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func checkPushPull(m *wire.PushPull) error {
	want, err := gmEncodePushPull(m.Join, nodesToML(m.Nodes), m.UserState)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("push-pull of %d nodes, %d bytes of user state", len(m.Nodes), len(m.UserState))
	got := m.AppendTo(nil)
	if err := sameBytes(what+": AppendTo", got, want); err != nil {
		return err
	}
	stream, err := wire.AppendStream(nil, m, wire.EncodeOptions{})
	if err != nil {
		return err
	}
	if err := sameBytes(what+": AppendStream", stream, want); err != nil {
		return err
	}
	gm, err := gmDecodePushPull(want[1:])
	if err != nil {
		return fmt.Errorf("go-msgpack decode %s: %v", hexCut(want), err)
	}
	exp := pushPullFromML(gm)
	if err := sameValue("go-msgpack round trip (test oracle)", want, exp, normalize(m)); err != nil {
		return err
	}
	s, err := wire.DecodeStream(want, wire.DecodeOptions{})
	if err != nil {
		return fmt.Errorf("rumor DecodeStream %s: %v", hexCut(want), err)
	}
	if err := sameValue("rumor DecodeStream", want, s.Message, exp); err != nil {
		return err
	}
	// Reading from a socket decodes piece by piece; it must agree.
	// (Short reads only for small inputs: see the benchmark
	// BenchmarkReadStream in internal/wire for why large ones are slow.)
	var src io.Reader = &dribble{b: want}
	if len(want) > 1<<16 {
		src = bytes.NewReader(want)
	}
	r, err := wire.ReadStream(src, wire.DecodeOptions{})
	if err != nil {
		return fmt.Errorf("rumor ReadStream %s: %v", hexCut(want), err)
	}
	if err := sameValue("rumor ReadStream", want, r.Message, exp); err != nil {
		return err
	}
	back, err := gmDecodePushPull(got[1:])
	if err != nil {
		return fmt.Errorf("go-msgpack decode of rumor bytes %s: %v", hexCut(got), err)
	}
	return sameValue("go-msgpack decode of rumor bytes", got, back, gm)
}

// dribble hands out its bytes a few at a time, as a slow socket would.
type dribble struct {
	b []byte
	n int
}

func (d *dribble) Read(p []byte) (int, error) {
	if len(d.b) == 0 {
		return 0, io.EOF
	}
	d.n = d.n%7 + 1
	n := copy(p[:min(len(p), d.n*97)], d.b)
	d.b = d.b[n:]
	return n, nil
}

func TestPropertyPushPull(t *testing.T) {
	t.Run("random", func(t *testing.T) {
		t.Parallel()
		property(t, iters(*propIters/3), func(g *gen, _ int) error { return checkPushPull(g.pushPull()) })
	})
	// Counts and lengths at the msgpack integer edges, one value each.
	t.Run("edges", func(t *testing.T) {
		t.Parallel()
		g := newGen(*propSeed, t.Name())
		for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536} {
			for _, u := range []int{0, 1, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 1 << 20} {
				if testing.Short() && n > 256 {
					continue
				}
				m := &wire.PushPull{Join: n%2 == 0, Nodes: make([]wire.PushNodeState, n), UserState: bytes.Repeat([]byte{0x5a}, u)}
				for i := range m.Nodes {
					m.Nodes[i] = wire.PushNodeState{Name: fmt.Sprint(i), Addr: []byte{10, 0, byte(i >> 8), byte(i)},
						Port: uint16(i), Incarnation: uint32(i) * 65537, State: wire.NodeState(i % 4), Vsn: []byte{1, 5, 2, 0, 0, 0}}
				}
				if n == 1 {
					m.Nodes[0] = g.nodeState()
				}
				if err := checkPushPull(m); err != nil {
					t.Fatal(err)
				}
				if n > 256 && u > 1 {
					break // large node counts once or twice are enough
				}
			}
		}
	})
}

func TestPropertyCompound(t *testing.T) {
	t.Parallel()
	property(t, iters(*propIters), func(g *gen, _ int) error {
		msgs, parts := g.compound()
		want := compoundOf(parts)
		got, err := wire.AppendCompound(nil, parts...)
		if err != nil {
			return fmt.Errorf("AppendCompound of %d parts: %v", len(parts), err)
		}
		if err := sameBytes(fmt.Sprintf("compound of %d parts", len(parts)), got, want); err != nil {
			return err
		}
		split, trunc, err := splitCompound(got[1:])
		if err != nil || trunc != 0 || len(split) != len(parts) {
			return fmt.Errorf("oracle split of %s: %d parts, %d truncated, %v", hexCut(got), len(split), trunc, err)
		}
		p, err := wire.DecodePacket(want, wire.DecodeOptions{})
		if err != nil {
			return fmt.Errorf("rumor DecodePacket %s: %v", hexCut(want), err)
		}
		exp := make([]wire.Message, len(msgs))
		for i, m := range msgs {
			exp[i] = normalize(m)
		}
		if len(exp) == 0 {
			exp = nil
		}
		if p.Compound != len(parts) || p.Truncated != 0 || len(p.PartErrors) != 0 {
			return fmt.Errorf("rumor DecodePacket %s: compound %d, truncated %d, part errors %v; want %d parts", hexCut(want), p.Compound, p.Truncated, p.PartErrors, len(parts))
		}
		if err := sameValue("rumor DecodePacket", want, p.Messages, exp); err != nil {
			return err
		}

		// Cut the packet short after its length table: memberlist keeps the
		// parts that fit and counts the others as truncated.
		if len(parts) == 0 || len(want) == 2+2*len(parts) {
			return nil
		}
		cut := want[:2+2*len(parts)+g.r.IntN(len(want)-2-2*len(parts))]
		kept, trunc, err := splitCompound(cut[1:])
		if err != nil {
			return err
		}
		p, err = wire.DecodePacket(cut, wire.DecodeOptions{})
		if err != nil {
			return fmt.Errorf("rumor DecodePacket of truncated %s: %v", hexCut(cut), err)
		}
		if p.Truncated != trunc || len(p.Messages) != len(kept) {
			return fmt.Errorf("rumor DecodePacket of truncated %s: got %d messages, %d truncated; want %d, %d", hexCut(cut), len(p.Messages), p.Truncated, len(kept), trunc)
		}
		var keptExp []wire.Message
		if len(kept) > 0 {
			keptExp = exp[:len(kept)]
		}
		return sameValue("rumor DecodePacket of truncated compound", cut, p.Messages, keptExp)
	})
}

func TestPropertyCompress(t *testing.T) {
	t.Run("struct", func(t *testing.T) {
		t.Parallel()
		property(t, iters(*propIters), func(g *gen, _ int) error {
			payload := g.raw(g.length())
			want, err := compressOf(payload)
			if err != nil {
				return err
			}
			got := wire.AppendCompressed(nil, payload)
			if err := sameBytes(fmt.Sprintf("compress of %s", hexCut(payload)), got, want); err != nil {
				return err
			}
			var c mlwire.Compress
			if err := gmDecode(got[1:], &c); err != nil {
				return fmt.Errorf("go-msgpack decode of rumor bytes %s: %v", hexCut(got), err)
			}
			if c.Algo != 0 {
				return fmt.Errorf("compress of %s: got Algo %d, want 0", hexCut(payload), c.Algo)
			}
			inflated, err := mlwire.LZWDecompress(c.Buf)
			if err != nil {
				return fmt.Errorf("lzw decode of rumor's Buf %s: %v", hexCut(c.Buf), err)
			}
			return sameBytes("inflated rumor compress", inflated, payload)
		})
	})
	// Compressed packets written by the oracle decode to the messages inside.
	t.Run("packet", func(t *testing.T) {
		t.Parallel()
		property(t, iters(*propIters), func(g *gen, _ int) error {
			msgs, parts := g.compound()
			payload := g.packetPayload(parts)
			want, err := compressOf(payload)
			if err != nil {
				return err
			}
			p, err := wire.DecodePacket(want, wire.DecodeOptions{})
			if err != nil {
				return fmt.Errorf("rumor DecodePacket %s: %v", hexCut(want), err)
			}
			exp := make([]wire.Message, 0, len(msgs))
			for _, m := range msgs {
				exp = append(exp, normalize(m))
			}
			if len(exp) == 0 {
				exp = nil
			}
			if !p.Compressed {
				return fmt.Errorf("rumor DecodePacket %s: not marked compressed", hexCut(want))
			}
			return sameValue("rumor DecodePacket", want, p.Messages, exp)
		})
	})
}

func TestPropertyCRC(t *testing.T) {
	t.Parallel()
	property(t, iters(*propIters), func(g *gen, _ int) error {
		payload := g.raw(g.length())
		return sameBytes("AppendCRC of "+hexCut(payload), wire.AppendCRC(nil, payload), crcOf(payload))
	})
}

// TestPropertyPacketLayers wraps random payloads in random combinations of
// compression, CRC, encryption (both versions, fixed nonce) and label, and
// compares EncodePacket with the from-scratch construction.
func TestPropertyPacketLayers(t *testing.T) {
	t.Parallel()
	property(t, iters(*propIters), func(g *gen, _ int) error {
		msgs, parts := g.compound()
		payload := g.packetPayload(parts)
		if len(parts) == 0 {
			return nil // an empty compound is not a packet anyone sends
		}
		l := packetLayers{label: g.label(), compress: g.bool(), crc: g.bool()}
		opts := wire.EncodeOptions{Label: l.label, Compress: l.compress, CRC: l.crc}
		var keys [][]byte
		if g.r.IntN(5) != 0 {
			l.key, l.vsn = g.key(), byte(g.r.IntN(2))
			nonce := g.raw(12)
			l.nonce = bytes.NewReader(nonce)
			kr, err := wire.NewKeyring(g.key(), l.key) // the primary is not always the one that decrypts
			if err != nil {
				return err
			}
			if err := kr.UseKey(l.key); err != nil {
				return err
			}
			opts.Keyring, opts.EncryptVersion, opts.Rand = kr, l.vsn, bytes.NewReader(nonce)
			keys = kr.Keys()
		}
		want, err := packetOf(payload, l)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("packet (label %q, key %d bytes, version %d, compress %v, crc %v) of %s", l.label, len(l.key), l.vsn, l.compress, l.crc, hexCut(payload))
		got, err := wire.EncodePacket(nil, payload, opts)
		if err != nil {
			return fmt.Errorf("%s: EncodePacket: %v", what, err)
		}
		if err := sameBytes(what, got, want); err != nil {
			return err
		}
		if l.key != nil {
			body := want[len(labelOf(l.label, nil)):]
			if _, err := mlwire.Open(keys, body, []byte(l.label)); err != nil {
				return fmt.Errorf("%s: oracle cannot open rumor's envelope %s: %v", what, hexCut(body), err)
			}
		}
		dopts := wire.DecodeOptions{Label: l.label}
		if l.key != nil {
			dopts.Keyring = opts.Keyring
		}
		p, err := wire.DecodePacket(want, dopts)
		if err != nil {
			return fmt.Errorf("%s: rumor DecodePacket %s: %v", what, hexCut(want), err)
		}
		exp := make([]wire.Message, len(msgs))
		for i, m := range msgs {
			exp[i] = normalize(m)
		}
		if p.Encrypted != (l.key != nil) || p.CRC != l.crc || p.Label != l.label {
			return fmt.Errorf("%s: rumor DecodePacket layers: encrypted %v, crc %v, label %q", what, p.Encrypted, p.CRC, p.Label)
		}
		return sameValue("rumor DecodePacket", want, p.Messages, exp)
	})
}

// TestPropertyStreamLayers does the same for stream messages: compression
// (always, when on) and the 0x0a encryption frame.
func TestPropertyStreamLayers(t *testing.T) {
	t.Parallel()
	property(t, iters(*propIters/2), func(g *gen, _ int) error {
		g.small = true
		var m wire.Message
		var body []byte
		var err error
		switch g.r.IntN(4) {
		case 0:
			pp := g.pushPull()
			m = pp
			body, err = gmEncodePushPull(pp.Join, nodesToML(pp.Nodes), pp.UserState)
		case 1:
			u := &wire.User{Payload: g.bytes()}
			m = u
			body, err = gmEncodeUserStream(u.Payload)
		case 2:
			m = g.errResp()
			body, err = gmEncode(toML(m))
		default:
			m = g.ping()
			body, err = gmEncode(toML(m))
		}
		if err != nil {
			return err
		}
		l := packetLayers{label: g.label(), compress: g.bool()}
		opts := wire.EncodeOptions{Label: l.label, Compress: l.compress}
		if g.r.IntN(4) != 0 {
			l.key, l.vsn = g.key(), byte(g.r.IntN(2))
			nonce := g.raw(12)
			l.nonce = bytes.NewReader(nonce)
			kr, err := wire.NewKeyring(l.key)
			if err != nil {
				return err
			}
			opts.Keyring, opts.EncryptVersion, opts.Rand = kr, l.vsn, bytes.NewReader(nonce)
		}
		want, err := streamOf(body, l)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("stream %T (label %q, key %d bytes, version %d, compress %v)", m, l.label, len(l.key), l.vsn, l.compress)
		got, err := wire.AppendStream(nil, m, opts)
		if err != nil {
			return fmt.Errorf("%s: AppendStream: %v", what, err)
		}
		if err := sameBytes(what, got, want); err != nil {
			return err
		}
		exp := normalize(m)
		if u, ok := m.(*wire.User); ok { // the stream form keeps no empty payload
			exp = &wire.User{Payload: nilIfEmpty(u.Payload)}
		}
		for _, reply := range []bool{false, true} {
			in := want
			if !reply {
				in = labelOf(l.label, want) // the dialer's header
			}
			s, err := wire.DecodeStream(in, wire.DecodeOptions{Label: l.label, Keyring: opts.Keyring, StreamReply: reply})
			if err != nil {
				return fmt.Errorf("%s: rumor DecodeStream (reply %v) %s: %v", what, reply, hexCut(in), err)
			}
			if s.Encrypted != (l.key != nil) || s.Compressed != l.compress {
				return fmt.Errorf("%s: rumor DecodeStream layers: encrypted %v, compressed %v", what, s.Encrypted, s.Compressed)
			}
			if err := sameValue("rumor DecodeStream", in, s.Message, exp); err != nil {
				return err
			}
		}
		return nil
	})
}

// packetPayload lays parts out as a packet payload: a compound, or now and
// then a single message bare, as memberlist sends one.
func (g *gen) packetPayload(parts [][]byte) []byte {
	if len(parts) == 1 && g.bool() {
		return parts[0]
	}
	return compoundOf(parts)
}
