package wire_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/rumorproject/rumor/internal/wire"
)

// The benchmarks encode into a reused buffer (buf = m.AppendTo(buf[:0])),
// as a sender that keeps one packet buffer does, and decode from a
// prepared encoding. interop/codec runs the same set, under the same
// names, through go-msgpack the way memberlist v0.7.0 does, so
//
//	go test -run '^$' -bench 'Encode|Decode' -benchmem -count 6 ./internal/wire/ > rumor.txt
//	(cd interop && go test -run '^$' -bench 'Encode|Decode' -benchmem -count 6 ./codec/) > gomsgpack.txt
//	benchstat -ignore pkg rumor=rumor.txt gomsgpack=gomsgpack.txt
//
// compares them side by side (see docs/benchmarks/codec.md).

var (
	benchKey   = []byte("0123456789abcdef")
	benchVsn   = []byte{1, 5, 2, 0, 0, 0}
	benchMeta  = []byte("role=web,dc=eu-west-1,rack=r17,version=1.4.2")
	benchUser  = bytes.Repeat([]byte("user-event:deploy;"), 15) // 270 bytes
	benchPing  = &wire.Ping{SeqNo: 184467, Node: "node-017.eu-west-1", SourceAddr: []byte{10, 0, 1, 3}, SourcePort: 7946, SourceNode: "node-003.eu-west-1"}
	benchAlive = func(i int) *wire.Alive {
		return &wire.Alive{Incarnation: uint32(40 + i), Node: fmt.Sprintf("node-%03d.eu-west-1", i), Addr: []byte{10, 0, 1, byte(i)}, Port: 7946, Meta: benchMeta, Vsn: benchVsn}
	}
)

// benchMessage is one message benchmarked on its own.
type benchMessage struct {
	name   string
	msg    wire.Message
	stream bool // decoded from a stream (error responses only travel there)
}

func benchMessages() []benchMessage {
	return []benchMessage{
		{name: "ping", msg: benchPing},
		{name: "indirect-ping", msg: &wire.IndirectPing{SeqNo: 184468, Target: []byte{10, 0, 1, 17}, Port: 7946, Node: "node-017.eu-west-1", Nack: true,
			SourceAddr: []byte{10, 0, 1, 3}, SourcePort: 7946, SourceNode: "node-003.eu-west-1"}},
		{name: "ack", msg: &wire.Ack{SeqNo: 184467}},
		{name: "ack-payload", msg: &wire.Ack{SeqNo: 184467, Payload: []byte("rtt-coordinate:0.0031,0.0007,-0.0012")}},
		{name: "nack", msg: &wire.Nack{SeqNo: 184468}},
		{name: "suspect", msg: &wire.Suspect{Incarnation: 41, Node: "node-017.eu-west-1", From: "node-003.eu-west-1"}},
		{name: "alive", msg: benchAlive(17)},
		{name: "dead", msg: &wire.Dead{Incarnation: 41, Node: "node-017.eu-west-1", From: "node-003.eu-west-1"}},
		{name: "user", msg: &wire.User{Payload: benchUser}},
		{name: "err", msg: &wire.ErrResp{Error: "push/pull: remote node name does not match"}, stream: true},
	}
}

// benchGossip is a ping and five gossip messages: what one probe packet
// typically piggybacks.
func benchGossip() []wire.Message {
	return []wire.Message{
		benchPing,
		benchAlive(21),
		&wire.Suspect{Incarnation: 41, Node: "node-017.eu-west-1", From: "node-003.eu-west-1"},
		benchAlive(22),
		&wire.Dead{Incarnation: 7, Node: "node-030.eu-west-1", From: "node-030.eu-west-1"},
		benchAlive(23),
	}
}

func benchPushPull(n int) *wire.PushPull {
	m := &wire.PushPull{Join: false, Nodes: make([]wire.PushNodeState, n)}
	for i := range m.Nodes {
		m.Nodes[i] = wire.PushNodeState{Name: fmt.Sprintf("node-%04d.eu-west-1", i), Addr: []byte{10, 0, byte(i >> 8), byte(i)},
			Port: 7946, Meta: benchMeta, Incarnation: uint32(3 * i), State: wire.NodeState(i % 4), Vsn: benchVsn}
	}
	return m
}

// compoundEncoder encodes messages and their compound into reused buffers.
type compoundEncoder struct {
	parts [][]byte
	store []byte
}

func (c *compoundEncoder) append(dst []byte, msgs []wire.Message) ([]byte, error) {
	c.parts, c.store = c.parts[:0], c.store[:0]
	for _, m := range msgs {
		start := len(c.store)
		c.store = m.AppendTo(c.store)
		c.parts = append(c.parts, c.store[start:])
	}
	// Parts may point into an outgrown array; they still hold their bytes.
	return wire.AppendCompound(dst, c.parts...)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range benchMessages() {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf = c.msg.AppendTo(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
	b.Run("user-stream", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		m := &wire.User{Payload: benchUser}
		for b.Loop() {
			buf = must(wire.AppendStream(buf[:0], m, wire.EncodeOptions{}))
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("compound", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		var enc compoundEncoder
		msgs := benchGossip()
		for b.Loop() {
			buf = must(enc.append(buf[:0], msgs))
		}
		b.SetBytes(int64(len(buf)))
	})
	// compound-inplace builds the same compound without AppendCompound:
	// the length table is reserved and each message appended straight into
	// the packet buffer, which is what AppendCompound's copy costs.
	b.Run("compound-inplace", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		msgs := benchGossip()
		for b.Loop() {
			buf = appendCompoundInPlace(buf[:0], msgs)
		}
		b.SetBytes(int64(len(buf)))
	})
	packet := func(opts wire.EncodeOptions) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			var buf, payload []byte
			var enc compoundEncoder
			msgs := benchGossip()
			for b.Loop() {
				payload = must(enc.append(payload[:0], msgs))
				buf = must(wire.EncodePacket(buf[:0], payload, opts))
			}
			b.SetBytes(int64(len(buf)))
		}
	}
	keyring := must(wire.NewKeyring(benchKey))
	b.Run("compress", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		payload := must(new(compoundEncoder).append(nil, benchGossip()))
		for b.Loop() {
			buf = wire.AppendCompressed(buf[:0], payload)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("packet-encrypted", packet(wire.EncodeOptions{Keyring: keyring, EncryptVersion: wire.EncryptVersion1, CRC: true}))
	b.Run("packet-compressed", packet(wire.EncodeOptions{Compress: true, CRC: true}))
	for _, n := range []int{128, 1024} {
		b.Run(fmt.Sprintf("push-pull-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			m := benchPushPull(n)
			for b.Loop() {
				buf = must(wire.AppendStream(buf[:0], m, wire.EncodeOptions{}))
			}
			b.SetBytes(int64(len(buf)))
		})
		// The same bytes without AppendStream's intermediate buffer.
		b.Run(fmt.Sprintf("push-pull-%d-appendto", n), func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			m := benchPushPull(n)
			for b.Loop() {
				buf = m.AppendTo(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// appendCompoundInPlace lays out a compound of msgs directly in dst.
func appendCompoundInPlace(dst []byte, msgs []wire.Message) []byte {
	dst = append(dst, byte(wire.CompoundMsg), byte(len(msgs)))
	table := len(dst)
	dst = append(dst, make([]byte, 2*len(msgs))...)
	for i, m := range msgs {
		start := len(dst)
		dst = m.AppendTo(dst)
		binary.BigEndian.PutUint16(dst[table+2*i:], uint16(len(dst)-start))
	}
	return dst
}

func BenchmarkDecode(b *testing.B) {
	decode := func(in []byte, f func([]byte) error) func(b *testing.B) {
		return func(b *testing.B) {
			if err := f(in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				_ = f(in)
			}
		}
	}
	message := func(in []byte) error { _, err := wire.DecodeMessage(in); return err }
	stream := func(opts wire.DecodeOptions) func([]byte) error {
		return func(in []byte) error { _, err := wire.DecodeStream(in, opts); return err }
	}
	packet := func(opts wire.DecodeOptions) func([]byte) error {
		return func(in []byte) error { _, err := wire.DecodePacket(in, opts); return err }
	}
	for _, c := range benchMessages() {
		f := message
		if c.stream {
			f = stream(wire.DecodeOptions{StreamReply: true})
		}
		b.Run(c.name, decode(c.msg.AppendTo(nil), f))
	}
	b.Run("user-stream", decode(must(wire.AppendStream(nil, &wire.User{Payload: benchUser}, wire.EncodeOptions{})), stream(wire.DecodeOptions{})))
	compound := must(new(compoundEncoder).append(nil, benchGossip()))
	b.Run("compound", decode(compound, packet(wire.DecodeOptions{})))
	b.Run("compress", decode(wire.AppendCompressed(nil, compound), packet(wire.DecodeOptions{})))
	keyring := must(wire.NewKeyring(benchKey))
	b.Run("packet-encrypted", decode(must(wire.EncodePacket(nil, compound, wire.EncodeOptions{Keyring: keyring, EncryptVersion: wire.EncryptVersion1, CRC: true})),
		packet(wire.DecodeOptions{Keyring: keyring})))
	b.Run("packet-compressed", decode(must(wire.EncodePacket(nil, compound, wire.EncodeOptions{Compress: true, CRC: true})), packet(wire.DecodeOptions{})))
	for _, n := range []int{128, 1024} {
		b.Run(fmt.Sprintf("push-pull-%d", n), decode(must(wire.AppendStream(nil, benchPushPull(n), wire.EncodeOptions{})), stream(wire.DecodeOptions{})))
	}
}

// shortReader returns at most n bytes per Read, as a TCP socket does with
// one segment at a time.
type shortReader struct {
	b []byte
	n int
}

func (r *shortReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// BenchmarkReadStream reads a push-pull from an io.Reader handing out
// everything at once, and one handing out 1460-byte segments.
func BenchmarkReadStream(b *testing.B) {
	for _, n := range []int{128, 1024, 8192} {
		in := must(wire.AppendStream(nil, benchPushPull(n), wire.EncodeOptions{}))
		for _, seg := range []int{len(in), 1460} {
			name := fmt.Sprintf("push-pull-%d/read=all", n)
			if seg != len(in) {
				name = fmt.Sprintf("push-pull-%d/read=%d", n, seg)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					if _, err := wire.ReadStream(&shortReader{b: in, n: seg}, wire.DecodeOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func TestAppendCompoundInPlace(t *testing.T) {
	msgs := benchGossip()
	want := must(new(compoundEncoder).append(nil, msgs))
	if got := appendCompoundInPlace(nil, msgs); !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	pp := benchPushPull(3)
	if got, want := pp.AppendTo(nil), must(wire.AppendStream(nil, pp, wire.EncodeOptions{})); !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}
