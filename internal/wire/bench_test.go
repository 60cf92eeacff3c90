package wire_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/rumorproject/rumor/internal/wire"
	"github.com/rumorproject/rumor/internal/wire/wiretest"
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
	for _, c := range wiretest.Messages() {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf = c.Msg.AppendTo(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
	b.Run("user-stream", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		m := &wire.User{Payload: wiretest.User}
		for b.Loop() {
			buf = must(wire.AppendStream(buf[:0], m, wire.EncodeOptions{}))
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("compound", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		var enc compoundEncoder
		msgs := wiretest.Gossip()
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
		msgs := wiretest.Gossip()
		for b.Loop() {
			buf = mustCompound(buf[:0], msgs)
		}
		b.SetBytes(int64(len(buf)))
	})
	packet := func(opts wire.EncodeOptions) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			var buf, payload []byte
			var enc compoundEncoder
			msgs := wiretest.Gossip()
			for b.Loop() {
				payload = must(enc.append(payload[:0], msgs))
				buf = must(wire.EncodePacket(buf[:0], payload, opts))
			}
			b.SetBytes(int64(len(buf)))
		}
	}
	keyring := must(wire.NewKeyring(wiretest.Key))
	b.Run("compress", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		payload := must(new(compoundEncoder).append(nil, wiretest.Gossip()))
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
			m := wiretest.PushPull(n)
			for b.Loop() {
				buf = must(wire.AppendStream(buf[:0], m, wire.EncodeOptions{}))
			}
			b.SetBytes(int64(len(buf)))
		})
		// The same bytes without AppendStream's intermediate buffer.
		b.Run(fmt.Sprintf("push-pull-%d-appendto", n), func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			m := wiretest.PushPull(n)
			for b.Loop() {
				buf = m.AppendTo(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
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
	for _, c := range wiretest.Messages() {
		f := message
		if c.Stream {
			f = stream(wire.DecodeOptions{StreamReply: true})
		}
		b.Run(c.Name, decode(c.Msg.AppendTo(nil), f))
	}
	b.Run("user-stream", decode(must(wire.AppendStream(nil, &wire.User{Payload: wiretest.User}, wire.EncodeOptions{})), stream(wire.DecodeOptions{})))
	compound := must(new(compoundEncoder).append(nil, wiretest.Gossip()))
	b.Run("compound", decode(compound, packet(wire.DecodeOptions{})))
	b.Run("compress", decode(wire.AppendCompressed(nil, compound), packet(wire.DecodeOptions{})))
	keyring := must(wire.NewKeyring(wiretest.Key))
	b.Run("packet-encrypted", decode(must(wire.EncodePacket(nil, compound, wire.EncodeOptions{Keyring: keyring, EncryptVersion: wire.EncryptVersion1, CRC: true})),
		packet(wire.DecodeOptions{Keyring: keyring})))
	b.Run("packet-compressed", decode(must(wire.EncodePacket(nil, compound, wire.EncodeOptions{Compress: true, CRC: true})), packet(wire.DecodeOptions{})))
	for _, n := range []int{128, 1024} {
		b.Run(fmt.Sprintf("push-pull-%d", n), decode(must(wire.AppendStream(nil, wiretest.PushPull(n), wire.EncodeOptions{})), stream(wire.DecodeOptions{})))
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
		in := must(wire.AppendStream(nil, wiretest.PushPull(n), wire.EncodeOptions{}))
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
	msgs := wiretest.Gossip()
	want := must(new(compoundEncoder).append(nil, msgs))
	if got := mustCompound(nil, msgs); !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	pp := wiretest.PushPull(3)
	if got, want := pp.AppendTo(nil), must(wire.AppendStream(nil, pp, wire.EncodeOptions{})); !bytes.Equal(got, want) {
		t.Fatalf("got %x, want %x", got, want)
	}
}

func mustCompound(dst []byte, msgs []wire.Message) []byte {
	return must(wire.AppendCompoundMessages(dst, msgs))
}
