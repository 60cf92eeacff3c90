package codec

import (
	"bytes"
	"compress/lzw"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"testing"

	"github.com/rumorproject/rumor/internal/wire"
	"github.com/rumorproject/rumor/internal/wire/wiretest"
	"github.com/rumorproject/rumor/interop/mlwire"
)

// The benchmark set mirrors internal/wire/bench_test.go value for value and
// name for name.
//
//	BenchmarkCodec/impl={rumor,gomsgpack}/op={encode,decode}/msg=NAME
//
// runs both implementations in one go (benchstat -col /impl), and
// BenchmarkEncode/NAME and BenchmarkDecode/NAME run go-msgpack alone under
// the names the root module's rumor benchmarks use, so that
// `benchstat rumor.txt gomsgpack.txt` lines them up.
//
// The go-msgpack side does what memberlist v0.7.0 does: a new handle and
// encoder per message into a fresh bytes.Buffer, a new decoder over a
// bytes.Reader per message, a new AES cipher per packet. The rumor side
// encodes into a reused buffer, as rumor's runtime does.

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// benchCase is one benchmarked value with both implementations of both
// directions. Encoders return the bytes they produced (rumor's into the
// buffer they are given); decoders take the encoding made in setup.
type benchCase struct {
	Name     string
	rumorEnc func(buf []byte) []byte
	gmEnc    func() []byte
	input    []byte // the encoding both decoders read; both encoders produce it
	rumorDec func([]byte) error
	gmDec    func([]byte) error
	// encodeOnly marks variants of another case's encoder; their decode
	// is that case's.
	encodeOnly bool
}

// --- rumor ------------------------------------------------------------------

type compoundEncoder struct {
	parts [][]byte
	store []byte
}

func (c *compoundEncoder) append(dst []byte, msgs []wire.Message) []byte {
	c.parts, c.store = c.parts[:0], c.store[:0]
	for _, m := range msgs {
		start := len(c.store)
		c.store = m.AppendTo(c.store)
		c.parts = append(c.parts, c.store[start:])
	}
	return must(wire.AppendCompound(dst, c.parts...))
}

func rumorMessage(in []byte) error { _, err := wire.DecodeMessage(in); return err }

func rumorStream(opts wire.DecodeOptions) func([]byte) error {
	return func(in []byte) error { _, err := wire.DecodeStream(in, opts); return err }
}

func rumorPacket(opts wire.DecodeOptions) func([]byte) error {
	return func(in []byte) error { _, err := wire.DecodePacket(in, opts); return err }
}

// --- go-msgpack as memberlist uses it ---------------------------------------

// gmLeaf decodes one message as memberlist's packet handler does: the type
// byte picks a struct, the rest goes through a new decoder.
func gmLeaf(in []byte) error {
	if len(in) == 0 {
		return errors.New("empty message")
	}
	switch in[0] {
	case mlwire.TypeUser:
		// handed to the delegate as is
		return nil
	case mlwire.TypeCompound:
		return gmCompound(in[1:])
	case mlwire.TypeCompress:
		return gmCompressed(in[1:])
	}
	return gmDecode(in[1:], newML(in[0]))
}

func gmCompound(body []byte) error {
	if len(body) == 0 {
		return errors.New("no part count")
	}
	// memberlist first copies the length table into a []uint16.
	n := int(body[0])
	if len(body) < 1+2*n {
		return errors.New("short length table")
	}
	lengths := make([]uint16, n)
	for i := range lengths {
		lengths[i] = binary.BigEndian.Uint16(body[1+2*i:])
	}
	rest := body[1+2*n:]
	var parts [][]byte
	for _, l := range lengths {
		if int(l) > len(rest) {
			break
		}
		parts = append(parts, rest[:l])
		rest = rest[l:]
	}
	for _, p := range parts {
		if err := gmLeaf(p); err != nil {
			return err
		}
	}
	return nil
}

func gmCompressed(body []byte) error {
	var c mlwire.Compress
	if err := gmDecode(body, &c); err != nil {
		return err
	}
	r := lzw.NewReader(bytes.NewReader(c.Buf), lzw.LSB, 8)
	var out bytes.Buffer
	if _, err := io.Copy(&out, r); err != nil {
		return err
	}
	_ = r.Close()
	return gmLeaf(out.Bytes())
}

// gmPacket decodes a UDP packet: decrypt (a new cipher per key and packet),
// check the CRC, then the payload.
func gmPacket(keys [][]byte) func([]byte) error {
	return func(in []byte) error {
		if keys != nil {
			var err error
			if in, err = mlwire.Open(keys, in, nil); err != nil {
				return err
			}
		}
		if len(in) >= 5 && in[0] == mlwire.TypeCRC {
			if crc32.ChecksumIEEE(in[5:]) != binary.BigEndian.Uint32(in[1:5]) {
				return errors.New("bad crc")
			}
			in = in[5:]
		}
		return gmLeaf(in)
	}
}

// gmEncodeCompound encodes each message through go-msgpack, then lays out
// the compound.
func gmEncodeCompound(msgs []any) []byte {
	parts := make([][]byte, len(msgs))
	for i, m := range msgs {
		parts[i] = gmEncodeAny(m)
	}
	return compoundOf(parts)
}

// gmValue is a memberlist-shaped value with its type byte, built before
// the benchmark loop (memberlist builds its structs before encoding too).
type gmValue struct {
	typ byte
	v   any
}

func gmEncodeAny(m any) []byte {
	switch m := m.(type) {
	case gmValue:
		return must(gmEncode(m.typ, m.v))
	case []byte: // a user message: type byte and payload
		return append([]byte{mlwire.TypeUser}, m...)
	}
	panic(fmt.Sprintf("gmEncodeAny: %T", m))
}

func gmValueOf(m wire.Message) any {
	if u, ok := m.(*wire.User); ok {
		return u.Payload
	}
	typ, v := toML(m)
	return gmValue{typ, v}
}

// gmPacketEncode wraps a payload as memberlist's packet sender does:
// compress if smaller, CRC, then encrypt with a nonce from crypto/rand.
func gmPacketEncode(payload []byte, compress bool, key []byte) []byte {
	msg := payload
	if compress {
		if c := must(compressOf(msg)); len(c) < len(msg) {
			msg = c
		}
	}
	msg = crcOf(msg)
	if key != nil {
		var buf bytes.Buffer
		buf.Write(must(seal(1, key, rand.Reader, msg, nil)))
		msg = buf.Bytes()
	}
	return msg
}

func gmPushPullDecode(in []byte) error {
	if len(in) == 0 || in[0] != mlwire.TypePushPull {
		return errors.New("not a push-pull")
	}
	_, err := gmDecodePushPull(in[1:])
	return err
}

func gmUserStreamDecode(in []byte) error {
	_, err := gmDecodeUserStream(in[1:])
	return err
}

func gmErrDecode(in []byte) error {
	var e mlwire.ErrResp
	return gmDecode(in[1:], &e)
}

// --- the set ----------------------------------------------------------------

func benchCases() []benchCase {
	var cases []benchCase
	for _, c := range wiretest.Messages() {
		m := c.Msg
		gv := gmValueOf(m)
		bc := benchCase{
			Name:     c.Name,
			rumorEnc: func(buf []byte) []byte { return m.AppendTo(buf) },
			gmEnc:    func() []byte { return gmEncodeAny(gv) },
			input:    m.AppendTo(nil),
			rumorDec: rumorMessage,
			gmDec:    gmLeaf,
		}
		if c.Stream {
			bc.rumorDec, bc.gmDec = rumorStream(wire.DecodeOptions{StreamReply: true}), gmErrDecode
		}
		cases = append(cases, bc)
	}
	userStream := &wire.User{Payload: wiretest.User}
	cases = append(cases, benchCase{
		Name:     "user-stream",
		rumorEnc: func(buf []byte) []byte { return must(wire.AppendStream(buf, userStream, wire.EncodeOptions{})) },
		gmEnc:    func() []byte { return must(gmEncodeUserStream(wiretest.User)) },
		input:    must(wire.AppendStream(nil, userStream, wire.EncodeOptions{})),
		rumorDec: rumorStream(wire.DecodeOptions{}),
		gmDec:    gmUserStreamDecode,
	})

	gossip := wiretest.Gossip()
	gmGossip := make([]any, len(gossip))
	for i, m := range gossip {
		gmGossip[i] = gmValueOf(m)
	}
	var enc compoundEncoder
	compound := enc.append(nil, gossip)
	cases = append(cases, benchCase{
		Name:     "compound",
		rumorEnc: func(buf []byte) []byte { return enc.append(buf, gossip) },
		gmEnc:    func() []byte { return gmEncodeCompound(gmGossip) },
		input:    compound,
		rumorDec: rumorPacket(wire.DecodeOptions{}),
		gmDec:    gmPacket(nil),
	})
	cases = append(cases, benchCase{
		Name:       "compound-inplace",
		rumorEnc:   func(buf []byte) []byte { return mustCompound(buf, gossip) },
		gmEnc:      func() []byte { return gmEncodeCompound(gmGossip) },
		input:      compound,
		encodeOnly: true,
	})
	cases = append(cases, benchCase{
		Name:     "compress",
		rumorEnc: func(buf []byte) []byte { return wire.AppendCompressed(buf, compound) },
		gmEnc:    func() []byte { return must(compressOf(compound)) },
		input:    wire.AppendCompressed(nil, compound),
		rumorDec: rumorPacket(wire.DecodeOptions{}),
		gmDec:    gmPacket(nil),
	})
	keyring := must(wire.NewKeyring(wiretest.Key))
	encOpts := wire.EncodeOptions{Keyring: keyring, EncryptVersion: wire.EncryptVersion1, CRC: true}
	var payload []byte
	cases = append(cases, benchCase{
		Name: "packet-encrypted",
		rumorEnc: func(buf []byte) []byte {
			payload = enc.append(payload[:0], gossip)
			return must(wire.EncodePacket(buf, payload, encOpts))
		},
		gmEnc:    func() []byte { return gmPacketEncode(gmEncodeCompound(gmGossip), false, wiretest.Key) },
		input:    must(wire.EncodePacket(nil, compound, encOpts)),
		rumorDec: rumorPacket(wire.DecodeOptions{Keyring: keyring}),
		gmDec:    gmPacket([][]byte{wiretest.Key}),
	})
	zipOpts := wire.EncodeOptions{Compress: true, CRC: true}
	cases = append(cases, benchCase{
		Name: "packet-compressed",
		rumorEnc: func(buf []byte) []byte {
			payload = enc.append(payload[:0], gossip)
			return must(wire.EncodePacket(buf, payload, zipOpts))
		},
		gmEnc:    func() []byte { return gmPacketEncode(gmEncodeCompound(gmGossip), true, nil) },
		input:    must(wire.EncodePacket(nil, compound, zipOpts)),
		rumorDec: rumorPacket(wire.DecodeOptions{}),
		gmDec:    gmPacket(nil),
	})
	for _, n := range []int{128, 1024} {
		pp := wiretest.PushPull(n)
		nodes := nodesToML(pp.Nodes)
		cases = append(cases, benchCase{
			Name:     fmt.Sprintf("push-pull-%d", n),
			rumorEnc: func(buf []byte) []byte { return must(wire.AppendStream(buf, pp, wire.EncodeOptions{})) },
			gmEnc:    func() []byte { return must(gmEncodePushPull(pp.Join, nodes, pp.UserState)) },
			input:    must(wire.AppendStream(nil, pp, wire.EncodeOptions{})),
			rumorDec: rumorStream(wire.DecodeOptions{}),
			gmDec:    gmPushPullDecode,
		})
		cases = append(cases, benchCase{
			Name:       fmt.Sprintf("push-pull-%d-appendto", n),
			rumorEnc:   func(buf []byte) []byte { return pp.AppendTo(buf) },
			gmEnc:      func() []byte { return must(gmEncodePushPull(pp.Join, nodes, pp.UserState)) },
			input:      pp.AppendTo(nil),
			encodeOnly: true,
		})
	}
	return cases
}

// TestBenchCases checks that both implementations of every benchmark case
// produce the same bytes (encryption aside, whose nonce is random) and
// decode them, so the benchmarks compare equal work.
func TestBenchCases(t *testing.T) {
	for _, c := range benchCases() {
		got, want := c.rumorEnc(nil), c.gmEnc()
		if c.Name != "packet-encrypted" && !bytes.Equal(got, want) {
			t.Errorf("%s: rumor encodes %s, go-msgpack %s", c.Name, hexCut(got), hexCut(want))
		}
		if len(got) != len(want) {
			t.Errorf("%s: rumor encodes %d bytes, go-msgpack %d", c.Name, len(got), len(want))
		}
		if c.encodeOnly {
			continue
		}
		if err := c.rumorDec(c.input); err != nil {
			t.Errorf("%s: rumor decode: %v", c.Name, err)
		}
		if err := c.gmDec(c.input); err != nil {
			t.Errorf("%s: go-msgpack decode: %v", c.Name, err)
		}
	}
}

func runEncode(b *testing.B, c benchCase, rumor bool) {
	b.ReportAllocs()
	var out []byte
	if rumor {
		for b.Loop() {
			out = c.rumorEnc(out[:0])
		}
	} else {
		for b.Loop() {
			out = c.gmEnc()
		}
	}
	b.SetBytes(int64(len(out)))
}

func runDecode(b *testing.B, c benchCase, rumor bool) {
	dec := c.gmDec
	if rumor {
		dec = c.rumorDec
	}
	if err := dec(c.input); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(c.input)))
	for b.Loop() {
		_ = dec(c.input)
	}
}

func BenchmarkCodec(b *testing.B) {
	cases := benchCases()
	for _, impl := range []string{"rumor", "gomsgpack"} {
		rumor := impl == "rumor"
		for _, c := range cases {
			b.Run("impl="+impl+"/op=encode/msg="+c.Name, func(b *testing.B) { runEncode(b, c, rumor) })
		}
		for _, c := range cases {
			if c.encodeOnly {
				continue
			}
			b.Run("impl="+impl+"/op=decode/msg="+c.Name, func(b *testing.B) { runDecode(b, c, rumor) })
		}
	}
}

// BenchmarkEncode and BenchmarkDecode are the go-msgpack side under the
// root module's benchmark names.
func BenchmarkEncode(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.Name, func(b *testing.B) { runEncode(b, c, false) })
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range benchCases() {
		if c.encodeOnly {
			continue
		}
		b.Run(c.Name, func(b *testing.B) { runDecode(b, c, false) })
	}
}

func mustCompound(dst []byte, msgs []wire.Message) []byte {
	return must(wire.AppendCompoundMessages(dst, msgs))
}
