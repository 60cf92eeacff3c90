// Package oracle is an independent decoder for the bytes that
// hashicorp/memberlist v0.7.0 puts on the wire. It is test tooling for the
// interop module only: it is built from the Go standard library plus
// go-msgpack v2.1.5 (the codec memberlist itself pins), decoding into the
// wire structs of package mlwire, and the root rumor module never imports
// it.
package oracle

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/rumorproject/rumor/interop/mlwire"
)

// kindNames maps a leaf message type byte to the name used in golden files.
var kindNames = map[byte]string{
	mlwire.TypePing:         "ping",
	mlwire.TypeIndirectPing: "indirect-ping",
	mlwire.TypeAck:          "ack",
	mlwire.TypeSuspect:      "suspect",
	mlwire.TypeAlive:        "alive",
	mlwire.TypeDead:         "dead",
	mlwire.TypePushPull:     "push-pull",
	mlwire.TypeUser:         "user",
	mlwire.TypeNack:         "nack",
	mlwire.TypeErr:          "err",
}

// Layers says which wrappers the decoder peeled off, outermost first in the
// order label, encryption, CRC, compression, compound.
type Layers struct {
	Label          bool `json:"label"`
	Encrypted      bool `json:"encrypted"`
	EncryptVersion int  `json:"encrypt_version"`
	CRC            bool `json:"crc"`
	Compressed     bool `json:"compressed"`
	Compound       int  `json:"compound"`
}

// Message is one leaf message.
type Message struct {
	Type   byte           `json:"type"`
	Kind   string         `json:"kind"`
	Fields map[string]any `json:"fields"`
	// Hex is the message's own encoding: for packets the type byte plus the
	// msgpack body (or raw payload for user messages); for the parts of a
	// stream, the type byte plus msgpack for the first value and just the
	// msgpack bytes for the push-node-state values that follow.
	Hex string `json:"hex"`
}

// Result is everything the decoder found in one packet or stream.
type Result struct {
	Label    string // label read from a label header ("" if none)
	Layers   Layers
	Nonce    []byte // GCM nonce when encrypted
	Messages []Message
	Trailer  []byte // raw bytes after the msgpack values of a stream; nil if none
}

// DecodePacket decodes one UDP datagram exactly as a memberlist node
// received it. keys is the receiver's keyring (primary first); when it is
// non-empty the packet must be encrypted.
func DecodePacket(buf []byte, keys [][]byte) (*Result, error) {
	res := &Result{}
	b, err := stripLabel(buf, res)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		b, err = decryptBlob(b, keys, []byte(res.Label), res)
		if err != nil {
			return nil, err
		}
	}
	if len(b) >= 5 && b[0] == mlwire.TypeCRC {
		want := binary.BigEndian.Uint32(b[1:5])
		if got := crc32.ChecksumIEEE(b[5:]); got != want {
			return nil, fmt.Errorf("crc mismatch: header %08x, computed %08x", want, got)
		}
		res.Layers.CRC = true
		b = b[5:]
	}
	d := &packetWalker{res: res}
	if err := d.walk(b, 0); err != nil {
		return nil, err
	}
	return res, nil
}

type packetWalker struct {
	res          *Result
	seenCompound bool
}

func (d *packetWalker) walk(b []byte, depth int) error {
	if depth > 4 {
		return errors.New("packet nesting too deep")
	}
	if len(b) == 0 {
		return errors.New("empty message")
	}
	t := b[0]
	switch t {
	case mlwire.TypeCompound:
		parts, err := splitCompound(b[1:])
		if err != nil {
			return err
		}
		if !d.seenCompound {
			d.seenCompound = true
			d.res.Layers.Compound = len(parts)
		}
		for i, p := range parts {
			if err := d.walk(p, depth+1); err != nil {
				return fmt.Errorf("compound part %d: %w", i, err)
			}
		}
		return nil
	case mlwire.TypeCompress:
		inner, err := decompressWhole(b[1:])
		if err != nil {
			return err
		}
		d.res.Layers.Compressed = true
		return d.walk(inner, depth+1)
	case mlwire.TypeUser:
		d.res.Messages = append(d.res.Messages, Message{
			Type:   t,
			Kind:   "user",
			Fields: map[string]any{"Payload": hexOrNil(b[1:])},
			Hex:    hex.EncodeToString(b),
		})
		return nil
	}
	v := mlwire.NewMessage(t)
	if v == nil || t == mlwire.TypeErr {
		return fmt.Errorf("message type %d is not valid in a packet", t)
	}
	n, err := decodeValue(b[1:], v)
	if err != nil {
		return fmt.Errorf("%s: %w", kindNames[t], err)
	}
	if n != len(b)-1 {
		return fmt.Errorf("%s: %d unexpected bytes after the msgpack body", kindNames[t], len(b)-1-n)
	}
	d.res.Messages = append(d.res.Messages, Message{Type: t, Kind: kindNames[t], Fields: fieldsOf(v), Hex: hex.EncodeToString(b)})
	return nil
}

// splitCompound parses "count:u8, count*len:u16be, bodies". Unlike
// memberlist (which tolerates truncation and ignores extra bytes), the
// oracle insists on an exact fit, since real captures must be well formed.
func splitCompound(b []byte) ([][]byte, error) {
	if len(b) < 1 {
		return nil, errors.New("compound: missing count")
	}
	n := int(b[0])
	b = b[1:]
	if len(b) < 2*n {
		return nil, errors.New("compound: truncated length table")
	}
	lens := make([]int, n)
	for i := range n {
		lens[i] = int(binary.BigEndian.Uint16(b[2*i:]))
	}
	b = b[2*n:]
	parts := make([][]byte, 0, n)
	for i, l := range lens {
		if len(b) < l {
			return nil, fmt.Errorf("compound: part %d truncated", i)
		}
		parts = append(parts, b[:l])
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("compound: %d bytes after the last part", len(b))
	}
	return parts, nil
}

// DecodeStream decodes everything one side of a TCP connection wrote.
// dialer is true for the connecting side (which may start with a label
// header). label is the label to authenticate with when the stream itself
// carries no header (the acceptor's reply); keys is the reader's keyring.
func DecodeStream(buf []byte, dialer bool, label string, keys [][]byte) (*Result, error) {
	res := &Result{}
	b, err := stripLabel(buf, res)
	if err != nil {
		return nil, err
	}
	if res.Layers.Label {
		if !dialer {
			return nil, errors.New("acceptor reply starts with a label header")
		}
		label = res.Label
	}
	if len(b) == 0 {
		return nil, errors.New("empty stream")
	}
	if b[0] == mlwire.TypeEncrypt {
		if len(keys) == 0 {
			return nil, errors.New("encrypted stream but no keys")
		}
		if len(b) < 5 {
			return nil, errors.New("truncated encryption header")
		}
		n := int(binary.BigEndian.Uint32(b[1:5]))
		if len(b)-5 != n {
			return nil, fmt.Errorf("encrypted block length %d, but %d bytes follow", n, len(b)-5)
		}
		aad := append(append([]byte{}, b[:5]...), label...)
		b, err = decryptBlob(b[5:], keys, aad, res)
		if err != nil {
			return nil, err
		}
	} else if len(keys) > 0 {
		return nil, errors.New("keys configured but stream is not encrypted")
	}
	if len(b) == 0 {
		return nil, errors.New("empty stream payload")
	}
	if b[0] == mlwire.TypeCompress {
		b, err = decompressWhole(b[1:])
		if err != nil {
			return nil, err
		}
		if len(b) == 0 {
			return nil, errors.New("empty decompressed stream payload")
		}
		res.Layers.Compressed = true
	}
	t := b[0]
	body := b[1:]
	switch t {
	case mlwire.TypePushPull:
		var h mlwire.PushPullHeader
		n, err := decodeValue(body, &h)
		if err != nil {
			return nil, fmt.Errorf("push-pull header: %w", err)
		}
		res.Messages = append(res.Messages, Message{Type: t, Kind: "push-pull", Fields: fieldsOf(&h), Hex: hex.EncodeToString(b[:1+n])})
		body = body[n:]
		if h.Nodes < 0 || h.Nodes > 1<<20 {
			return nil, fmt.Errorf("push-pull: bad node count %d", h.Nodes)
		}
		for i := range h.Nodes {
			var s mlwire.PushNodeState
			n, err := decodeValue(body, &s)
			if err != nil {
				return nil, fmt.Errorf("push-node-state %d: %w", i, err)
			}
			res.Messages = append(res.Messages, Message{Type: t, Kind: "push-node-state", Fields: fieldsOf(&s), Hex: hex.EncodeToString(body[:n])})
			body = body[n:]
		}
		if len(body) != h.UserStateLen {
			return nil, fmt.Errorf("push-pull: UserStateLen %d but %d trailing bytes", h.UserStateLen, len(body))
		}
	case mlwire.TypeUser:
		var h mlwire.UserMsgHeader
		n, err := decodeValue(body, &h)
		if err != nil {
			return nil, fmt.Errorf("user header: %w", err)
		}
		res.Messages = append(res.Messages, Message{Type: t, Kind: "user-header", Fields: fieldsOf(&h), Hex: hex.EncodeToString(b[:1+n])})
		body = body[n:]
		if len(body) != h.UserMsgLen {
			return nil, fmt.Errorf("user message: UserMsgLen %d but %d trailing bytes", h.UserMsgLen, len(body))
		}
	case mlwire.TypePing, mlwire.TypeAck, mlwire.TypeErr:
		v := mlwire.NewMessage(t)
		n, err := decodeValue(body, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kindNames[t], err)
		}
		res.Messages = append(res.Messages, Message{Type: t, Kind: kindNames[t], Fields: fieldsOf(v), Hex: hex.EncodeToString(b[:1+n])})
		body = body[n:]
		if len(body) != 0 {
			return nil, fmt.Errorf("%s: %d unexpected trailing bytes", kindNames[t], len(body))
		}
	default:
		return nil, fmt.Errorf("message type %d is not valid on a stream", t)
	}
	if len(body) > 0 {
		res.Trailer = body
	}
	return res, nil
}

func stripLabel(buf []byte, res *Result) ([]byte, error) {
	if len(buf) == 0 || buf[0] != mlwire.TypeLabel {
		return buf, nil
	}
	if len(buf) < 2 {
		return nil, errors.New("truncated label header")
	}
	n := int(buf[1])
	if n == 0 {
		return nil, errors.New("empty label in label header")
	}
	if len(buf) < 2+n {
		return nil, errors.New("truncated label")
	}
	res.Layers.Label = true
	res.Label = string(buf[2 : 2+n])
	return buf[2+n:], nil
}

// decryptBlob opens "version | nonce | ciphertext+tag" with the first key
// that authenticates it, strips (after validating) the padding of version
// 0, and records the layer in res.
func decryptBlob(b []byte, keys [][]byte, aad []byte, res *Result) ([]byte, error) {
	plain, err := mlwire.Open(keys, b, aad)
	if err != nil {
		return nil, err
	}
	res.Layers.Encrypted = true
	res.Layers.EncryptVersion = int(b[0])
	res.Nonce = append([]byte{}, b[1:1+mlwire.NonceSize]...)
	return plain, nil
}

// decompressWhole decodes a compress{Algo, Buf} value that must span all of
// b and returns the LZW-decoded payload. It also checks that compressing
// the result again with Go's LZW writer gives back exactly Buf.
func decompressWhole(b []byte) ([]byte, error) {
	var c mlwire.Compress
	n, err := decodeValue(b, &c)
	if err != nil {
		return nil, fmt.Errorf("compress wrapper: %w", err)
	}
	if n != len(b) {
		return nil, fmt.Errorf("compress wrapper: %d bytes after it", len(b)-n)
	}
	if c.Algo != 0 {
		return nil, fmt.Errorf("unknown compression algorithm %d", c.Algo)
	}
	out, err := mlwire.LZWDecompress(c.Buf)
	if err != nil {
		return nil, fmt.Errorf("lzw: %w", err)
	}
	if !bytes.Equal(mlwire.LZWCompress(out), c.Buf) {
		return nil, errors.New("lzw: recompressing does not reproduce the captured bytes")
	}
	return out, nil
}

// decodeValue decodes one msgpack value from the front of b into v with a
// zero-value MsgpackHandle and returns how many bytes it used. As a guard it
// re-encodes v and requires the identical bytes back, which proves nothing
// (unknown keys, nil/empty distinctions, integer widths) was lost.
func decodeValue(b []byte, v any) (int, error) {
	var h codec.MsgpackHandle
	dec := codec.NewDecoderBytes(b, &h)
	if err := dec.Decode(v); err != nil {
		return 0, err
	}
	n := dec.NumBytesRead()
	var out []byte
	var h2 codec.MsgpackHandle
	if err := codec.NewEncoderBytes(&out, &h2).Encode(v); err != nil {
		return 0, fmt.Errorf("re-encode: %w", err)
	}
	if !bytes.Equal(out, b[:n]) {
		return 0, fmt.Errorf("re-encoding differs: wire %x, re-encoded %x", b[:n], out)
	}
	return n, nil
}

// fieldsOf renders a decoded wire struct as golden-file fields: Go field
// names; byte slices as lowercase hex, or nil for a nil slice.
func fieldsOf(v any) map[string]any {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	m := make(map[string]any, rt.NumField())
	for i := range rt.NumField() {
		f := rv.Field(i)
		name := rt.Field(i).Name
		switch f.Kind() {
		case reflect.Slice:
			if f.IsNil() {
				m[name] = nil
			} else {
				m[name] = hex.EncodeToString(f.Bytes())
			}
		case reflect.String:
			m[name] = f.String()
		case reflect.Bool:
			m[name] = f.Bool()
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			m[name] = f.Uint()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			m[name] = f.Int()
		default:
			panic("oracle: unhandled field kind " + f.Kind().String())
		}
	}
	return m
}

func hexOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return hex.EncodeToString(b)
}
