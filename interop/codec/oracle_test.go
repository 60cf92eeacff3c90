package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	msgpack "github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/rumorproject/rumor/interop/mlwire"
)

// This file rebuilds, from the standard library, go-msgpack and the wire
// schema in package mlwire alone, the byte layouts memberlist v0.7.0 writes.
// It is the reference both the property tests and the go-msgpack side of
// the benchmarks use, and it follows memberlist's habits that cost time (a
// fresh handle and encoder per message, a fresh cipher per encryption) so
// the benchmark is fair to the code rumor replaces.

// gmEncode writes the type byte, then v through a new zero-value
// MsgpackHandle and encoder, as memberlist encodes every message.
func gmEncode(typ byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(nil)
	buf.WriteByte(typ)
	var h msgpack.MsgpackHandle
	if err := msgpack.NewEncoder(buf, &h).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gmDecode decodes one value from b (the bytes after the type byte) with a
// new handle and a decoder reading from a bytes.Reader.
func gmDecode(b []byte, v any) error {
	var h msgpack.MsgpackHandle
	return msgpack.NewDecoder(bytes.NewReader(b), &h).Decode(v)
}

// gmPushPull is a push-pull as memberlist holds it after reading one.
type gmPushPull struct {
	Header    mlwire.PushPullHeader
	Nodes     []mlwire.PushNodeState
	UserState []byte
}

// gmEncodePushPull lays out a push-pull the way memberlist sends its local
// state: type byte, then header and every node state through one encoder,
// then the raw user state.
func gmEncodePushPull(join bool, nodes []mlwire.PushNodeState, user []byte) ([]byte, error) {
	buf := bytes.NewBuffer(nil)
	var h msgpack.MsgpackHandle
	enc := msgpack.NewEncoder(buf, &h)
	buf.WriteByte(mlwire.TypePushPull)
	hdr := mlwire.PushPullHeader{Nodes: len(nodes), UserStateLen: len(user), Join: join}
	if err := enc.Encode(&hdr); err != nil {
		return nil, err
	}
	for i := range nodes {
		if err := enc.Encode(&nodes[i]); err != nil {
			return nil, err
		}
	}
	if user != nil {
		buf.Write(user)
	}
	return buf.Bytes(), nil
}

// gmDecodePushPull reads a push-pull body (after the type byte) with one
// decoder over the stream, then the user state from the same reader, as
// memberlist's remote-state reader does.
func gmDecodePushPull(body []byte) (*gmPushPull, error) {
	r := bytes.NewReader(body)
	var h msgpack.MsgpackHandle
	dec := msgpack.NewDecoder(r, &h)
	p := &gmPushPull{}
	if err := dec.Decode(&p.Header); err != nil {
		return nil, err
	}
	if p.Header.Nodes < 0 || p.Header.Nodes > len(body) {
		return nil, fmt.Errorf("node count %d", p.Header.Nodes)
	}
	p.Nodes = make([]mlwire.PushNodeState, p.Header.Nodes)
	for i := range p.Nodes {
		if err := dec.Decode(&p.Nodes[i]); err != nil {
			return nil, err
		}
	}
	if p.Header.UserStateLen > 0 {
		p.UserState = make([]byte, p.Header.UserStateLen)
		if _, err := io.ReadFull(r, p.UserState); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// gmEncodeUserStream writes a reliable user message: type byte, header,
// payload.
func gmEncodeUserStream(payload []byte) ([]byte, error) {
	buf := bytes.NewBuffer(nil)
	buf.WriteByte(mlwire.TypeUser)
	hdr := mlwire.UserMsgHeader{UserMsgLen: len(payload)}
	var h msgpack.MsgpackHandle
	if err := msgpack.NewEncoder(buf, &h).Encode(&hdr); err != nil {
		return nil, err
	}
	buf.Write(payload)
	return buf.Bytes(), nil
}

// gmDecodeUserStream reads a user message body (after the type byte); the
// payload is nil when the header says 0 bytes.
func gmDecodeUserStream(body []byte) ([]byte, error) {
	r := bytes.NewReader(body)
	var h msgpack.MsgpackHandle
	var hdr mlwire.UserMsgHeader
	if err := msgpack.NewDecoder(r, &h).Decode(&hdr); err != nil {
		return nil, err
	}
	if hdr.UserMsgLen <= 0 {
		return nil, nil
	}
	p := make([]byte, hdr.UserMsgLen)
	_, err := io.ReadFull(r, p)
	return p, err
}

// compoundOf lays out a compound message: type, part count, big-endian
// uint16 lengths, then the parts.
func compoundOf(parts [][]byte) []byte {
	buf := bytes.NewBuffer(nil)
	buf.WriteByte(mlwire.TypeCompound)
	buf.WriteByte(byte(len(parts)))
	for _, p := range parts {
		_ = binary.Write(buf, binary.BigEndian, uint16(len(p)))
	}
	for _, p := range parts {
		buf.Write(p)
	}
	return buf.Bytes()
}

// splitCompound splits a compound body (after the type byte) into the
// parts that fit; truncated counts the parts cut off by the end.
func splitCompound(b []byte) (parts [][]byte, truncated int, err error) {
	if len(b) == 0 {
		return nil, 0, errors.New("no part count")
	}
	n := int(b[0])
	if len(b) < 1+2*n {
		return nil, 0, errors.New("short length table")
	}
	rest := b[1+2*n:]
	for i := range n {
		l := int(b[1+2*i])<<8 | int(b[2+2*i])
		if l > len(rest) {
			return parts, n - i, nil
		}
		parts = append(parts, rest[:l])
		rest = rest[l:]
	}
	return parts, 0, nil
}

// compressOf wraps p in a compress message {Algo: 0, Buf: lzw(p)}.
func compressOf(p []byte) ([]byte, error) {
	return gmEncode(mlwire.TypeCompress, &mlwire.Compress{Algo: 0, Buf: mlwire.LZWCompress(p)})
}

// crcOf frames p with its IEEE CRC-32, big-endian.
func crcOf(p []byte) []byte {
	out := make([]byte, 5, 5+len(p))
	out[0] = mlwire.TypeCRC
	binary.BigEndian.PutUint32(out[1:], crc32.ChecksumIEEE(p))
	return append(out, p...)
}

// labelOf prefixes p with a label header; no label, no header.
func labelOf(label string, p []byte) []byte {
	if label == "" {
		return p
	}
	out := append([]byte{mlwire.TypeLabel, byte(len(label))}, label...)
	return append(out, p...)
}

// seal builds an encryption envelope from scratch: version byte, 12-byte
// nonce read from nonceSrc, then AES-GCM of pt (PKCS#7-padded to 16 bytes
// for version 0) with aad as additional data. A new cipher is made per call.
// mlwire.Open undoes it.
func seal(vsn byte, key []byte, nonceSrc io.Reader, pt, aad []byte) ([]byte, error) {
	gcm, err := mlwire.NewGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+12, 1+12+len(pt)+16+16)
	out[0] = vsn
	if _, err := io.ReadFull(nonceSrc, out[1:13]); err != nil {
		return nil, err
	}
	src := pt
	if vsn == 0 {
		pad := 16 - len(pt)%16
		src = append(append([]byte(nil), pt...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	}
	return gcm.Seal(out, out[1:13], src, aad), nil
}

// encryptedLen is the envelope size for an n-byte plaintext.
func encryptedLen(vsn byte, n int) int {
	if vsn == 0 {
		return 1 + 12 + n + (16 - n%16) + 16
	}
	return 1 + 12 + n + 16
}

// packetLayers says how a packet is wrapped.
type packetLayers struct {
	label    string
	key      []byte // nil: no encryption
	vsn      byte
	nonce    io.Reader
	compress bool
	crc      bool
}

// packetOf wraps a packet payload the way memberlist sends a UDP packet:
// compress when that is smaller, CRC frame, encryption (label as AAD), and
// the label header in front.
func packetOf(payload []byte, l packetLayers) ([]byte, error) {
	msg := payload
	if l.compress {
		c, err := compressOf(msg)
		if err != nil {
			return nil, err
		}
		if len(c) < len(msg) {
			msg = c
		}
	}
	if l.crc {
		msg = crcOf(msg)
	}
	if l.key != nil {
		var err error
		if msg, err = seal(l.vsn, l.key, l.nonce, msg, []byte(l.label)); err != nil {
			return nil, err
		}
	}
	return labelOf(l.label, msg), nil
}

// streamOf wraps a stream message the way memberlist sends one: always
// compressed when compression is on, then the 0x0a frame whose first five
// bytes and the label are the AAD. The dialer's label header is not part of
// it.
func streamOf(body []byte, l packetLayers) ([]byte, error) {
	if l.compress {
		var err error
		if body, err = compressOf(body); err != nil {
			return nil, err
		}
	}
	if l.key == nil {
		return body, nil
	}
	head := make([]byte, 5)
	head[0] = mlwire.TypeEncrypt
	binary.BigEndian.PutUint32(head[1:], uint32(encryptedLen(l.vsn, len(body))))
	aad := append(append([]byte(nil), head...), l.label...)
	env, err := seal(l.vsn, l.key, l.nonce, body, aad)
	if err != nil {
		return nil, err
	}
	return append(head, env...), nil
}
