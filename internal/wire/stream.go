package wire

import (
	"encoding/binary"
	"errors"
	"io"
	"strconv"
)

// streamFrameLen is the size of the stream encryption frame: 0x0a and the
// big-endian length of the envelope that follows.
const streamFrameLen = 5

// AppendStream appends m as one stream exchange writes it: the message in
// its stream form (a user message gets its length header; a push-pull its
// node states and user state), compressed when opts.Compress (always, as
// memberlist does on streams), then encrypted in the 0x0a frame when
// opts.Keyring is set. opts.CRC is ignored: streams carry no CRC.
//
// The label header is not included: only the dialer writes it, once, with
// AppendLabelHeader before its message.
func AppendStream(dst []byte, m Message, opts EncodeOptions) ([]byte, error) {
	var payload []byte
	if u, ok := m.(*User); ok {
		payload = appendUserStream(nil, u.Payload)
	} else {
		payload = m.AppendTo(nil)
	}
	if opts.Compress {
		payload = AppendCompressed(nil, payload)
	}
	if opts.Keyring == nil {
		return append(dst, payload...), nil
	}
	if len(opts.Label) > MaxLabelLen {
		return dst, errors.New("wire: label of " + strconv.Itoa(len(opts.Label)) + " bytes, want at most 255")
	}
	frame := len(dst)
	n := encryptedLen(opts.EncryptVersion, len(payload))
	dst = binary.BigEndian.AppendUint32(append(dst, byte(EncryptMsg)), uint32(n))
	aad := append(append(make([]byte, 0, streamFrameLen+len(opts.Label)), dst[frame:]...), opts.Label...)
	dst, ptStart, err := appendEnvelopeHead(dst, opts.EncryptVersion, opts.Rand)
	if err != nil {
		return dst, err
	}
	dst = append(dst, payload...)
	return opts.Keyring.appendSealed(dst, ptStart, opts.EncryptVersion, aad), nil
}

// Stream is one decoded stream message and the layers it came in.
type Stream struct {
	Label          string // label header found, "" if none
	Encrypted      bool
	EncryptVersion uint8
	KeyIndex       int // which keyring entry decrypted it (0 = primary)
	Nonce          [nonceLen]byte
	Compressed     bool
	// Message is a *PushPull, a *User (stream form), a *Ping, an *Ack, an
	// *ErrResp, or another packet message type a peer chose to send.
	Message Message
}

// EncodeOptions returns the options that re-encode the stream with the same
// layers and nonce, so that AppendStream reproduces its bytes.
func (s *Stream) EncodeOptions(keyring *Keyring) EncodeOptions {
	p := Packet{Label: s.Label, Encrypted: s.Encrypted, EncryptVersion: s.EncryptVersion, KeyIndex: s.KeyIndex,
		Nonce: s.Nonce, Compressed: s.Compressed}
	return p.EncodeOptions(keyring)
}

// DecodeStream decodes a whole stream held in memory; see ReadStream.
func DecodeStream(b []byte, opts DecodeOptions) (*Stream, error) {
	return readStream(&streamReader{buf: b, max: len(b)}, opts)
}

// ReadStream reads one message from a stream: the label header (unless
// opts.StreamReply), the optional encryption frame, the optional compress
// wrapper, then the message. It reads no further than the message needs
// and never buffers more than the protocol's limits (20 MiB encrypted,
// 40 MiB decompressed or plain), so the caller should also bound it in time
// with a deadline.
func ReadStream(r io.Reader, opts DecodeOptions) (*Stream, error) {
	return readStream(&streamReader{r: r, max: MaxDecompressBytes}, opts)
}

func readStream(sr *streamReader, opts DecodeOptions) (*Stream, error) {
	s := &Stream{}
	first, err := sr.peek(1, "stream")
	if err != nil {
		return nil, err
	}
	if MsgType(first[0]) == HasLabelMsg {
		if err := s.readLabel(sr); err != nil {
			return nil, err
		}
	}
	if !opts.StreamReply && s.Label != opts.Label {
		return nil, newError("label", 0, ErrLabelMismatch, "got "+strconv.Quote(s.Label)+", want "+strconv.Quote(opts.Label))
	}
	if opts.StreamReply && s.Label != "" {
		return nil, newError("label", 0, ErrBadLabel, "a stream reply carries no label header")
	}

	t, err := sr.peek(1, "stream")
	if err != nil {
		return nil, err
	}
	switch {
	case MsgType(t[0]) == EncryptMsg:
		if opts.Keyring == nil {
			return nil, newError("encryption", sr.off, ErrNoKeyring, "")
		}
		plain, err := s.readEncrypted(sr, opts)
		if err != nil {
			return nil, err
		}
		sr = &streamReader{buf: plain, max: len(plain), layer: "decrypted stream"}
	case opts.Keyring != nil && !opts.AllowPlaintext:
		return nil, newError("encryption", sr.off, ErrNotEncrypted, "stream is not encrypted")
	}

	t, err = sr.peek(1, "stream")
	if err != nil {
		return nil, err
	}
	if MsgType(t[0]) == CompressMsg {
		limit := opts.MaxDecompressed
		if limit <= 0 {
			limit = MaxDecompressBytes
		}
		sr.off++
		var c compressHeader
		if err := sr.unit("compress", func(d *decoder) error { return decodeStruct(d, compressFields, &c) }); err != nil {
			return nil, err
		}
		plain, err := decompress(&c, limit)
		if err != nil {
			return nil, within(err, "", sr.base+sr.off)
		}
		if len(plain) == 0 {
			return nil, newError("compress", sr.base+sr.off, ErrMalformed, "decompressed stream is empty")
		}
		s.Compressed = true
		sr = &streamReader{buf: plain, max: len(plain), layer: "decompressed stream"}
	}
	s.Message, err = readStreamMessage(sr)
	return s, err
}

func (s *Stream) readLabel(sr *streamReader) error {
	head, err := sr.peek(2, "label")
	if err != nil {
		return err
	}
	n := int(head[1])
	all, err := sr.peek(2+n, "label")
	if err != nil {
		return err
	}
	label, _, err := splitLabel(all)
	if err != nil {
		return err
	}
	s.Label = label
	sr.off += 2 + n
	return nil
}

// readEncrypted reads and opens the 0x0a frame, returning the plaintext.
func (s *Stream) readEncrypted(sr *streamReader, opts DecodeOptions) ([]byte, error) {
	frameAt := sr.base + sr.off
	head, err := sr.peek(streamFrameLen, "encryption")
	if err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n > MaxPushStateBytes {
		return nil, newError("encryption", frameAt+1, ErrTooLarge, "encrypted stream of "+strconv.FormatUint(uint64(n), 10)+" bytes")
	}
	aad := append(append(make([]byte, 0, streamFrameLen+len(opts.Label)), head...), opts.Label...)
	sr.off += streamFrameLen
	env, err := sr.peek(int(n), "encryption")
	if err != nil {
		return nil, err
	}
	plain, version, keyIndex, err := opts.Keyring.open(env, aad, "encryption")
	if err != nil {
		return nil, within(err, "", frameAt+streamFrameLen)
	}
	s.Encrypted, s.EncryptVersion, s.KeyIndex = true, version, keyIndex
	copy(s.Nonce[:], env[1:])
	sr.off += int(n)
	if len(plain) == 0 {
		return nil, newError("encryption", frameAt, ErrTruncated, "empty plaintext")
	}
	return plain, nil
}

// readStreamMessage decodes the message at the reader's position.
func readStreamMessage(sr *streamReader) (Message, error) {
	t, err := sr.peek(1, "stream")
	if err != nil {
		return nil, err
	}
	typ := MsgType(t[0])
	sr.off++
	switch typ {
	case PushPullMsg:
		return readPushPull(sr)
	case UserMsg:
		var u *User
		err := sr.unit("user", func(d *decoder) (err error) { u, err = decodeUserStream(d); return err })
		return u, err
	case ErrMsg:
		m := &ErrResp{}
		return m, sr.unit("err", m.decodeBody)
	}
	m := newPacketMessage(typ)
	if m == nil {
		return nil, newError("stream", sr.base+sr.off-1, ErrUnknownType, "type "+typ.String()+" is not a stream message")
	}
	return m, sr.unit(typ.String(), m.decodeBody)
}

// readPushPull reads a push-pull piece by piece, so that a stream read from
// a socket only buffers one node state beyond what it has decoded.
func readPushPull(sr *streamReader) (*PushPull, error) {
	var h pushPullHeader
	m := &PushPull{}
	err := sr.unit("push-pull header", func(d *decoder) error {
		if err := decodeStruct(d, pushPullHeaderFields, &h); err != nil {
			return err
		}
		return m.checkHeader(d, h)
	})
	if err != nil {
		return nil, err
	}
	m.Join = h.Join
	// Grow the slice as entries arrive rather than trusting the count.
	m.Nodes = make([]PushNodeState, 0, min(h.Nodes, 1024))
	for i := range h.Nodes {
		var st PushNodeState
		if err := sr.unit("push-pull node "+strconv.Itoa(i), func(d *decoder) error {
			return decodeStruct(d, pushNodeFields, &st)
		}); err != nil {
			return nil, err
		}
		m.Nodes = append(m.Nodes, st)
	}
	if h.UserStateLen > 0 {
		b, err := sr.peek(h.UserStateLen, "push-pull user state")
		if err != nil {
			return nil, err
		}
		m.UserState = append([]byte{}, b...)
		sr.off += h.UserStateLen
	}
	return m, nil
}

// streamReader buffers a stream and lets decoders work on whole units (one
// msgpack value) at a time, reading more only when a unit is cut short.
type streamReader struct {
	r     io.Reader // nil when buf already holds everything
	buf   []byte
	off   int
	max   int    // most bytes the stream may buffer in all
	base  int    // offset of buf[0] in the stream, for errors
	layer string // name of this layer, for errors
	eof   bool
	stuck int // consecutive empty reads
}

// peek returns the next n bytes without consuming them, reading as needed.
func (sr *streamReader) peek(n int, layer string) ([]byte, error) {
	if err := sr.fill(n, layer); err != nil {
		return nil, err
	}
	return sr.buf[sr.off : sr.off+n], nil
}

// fill makes sure n unread bytes are buffered.
func (sr *streamReader) fill(n int, layer string) error {
	for len(sr.buf)-sr.off < n {
		if sr.r == nil || sr.eof {
			return newError(sr.name(layer), sr.base+len(sr.buf), ErrTruncated, "stream ended")
		}
		if len(sr.buf) >= sr.max {
			return newError(sr.name(layer), sr.base+sr.off, ErrTooLarge, "stream over "+strconv.Itoa(sr.max)+" bytes")
		}
		// Read in chunks that grow with what has arrived, so memory follows
		// the bytes received, not the lengths a peer claims.
		want := min(max(len(sr.buf), 4096), sr.max-len(sr.buf))
		start := len(sr.buf)
		sr.buf = append(sr.buf, make([]byte, want)...)
		got, err := sr.r.Read(sr.buf[start:])
		sr.buf = sr.buf[:start+got]
		if got == 0 && err == nil {
			if sr.stuck++; sr.stuck > 100 {
				err = io.ErrNoProgress
			}
		} else {
			sr.stuck = 0
		}
		if err == io.EOF {
			sr.eof = true
		} else if err != nil {
			return &Error{Layer: sr.name(layer), Offset: sr.base + len(sr.buf), Reason: ErrTruncated, Detail: "read failed", Err: err}
		}
	}
	return nil
}

// unit runs decode over the buffered bytes, reading more and retrying while
// the decoder reports the unit is truncated.
func (sr *streamReader) unit(layer string, decode func(d *decoder) error) error {
	for {
		d := decoder{buf: sr.buf[sr.off:], layer: layer}
		err := decode(&d)
		if err == nil {
			sr.off += d.off
			return nil
		}
		if ReasonOf(err) != ErrTruncated || d.need <= 0 || sr.r == nil || sr.eof {
			return within(err, sr.layer, sr.base+sr.off)
		}
		if ferr := sr.fill(len(sr.buf)-sr.off+d.need, layer); ferr != nil {
			if ReasonOf(ferr) == ErrTruncated {
				return within(err, sr.layer, sr.base+sr.off)
			}
			return ferr
		}
	}
}

func (sr *streamReader) name(layer string) string {
	if sr.layer == "" {
		return layer
	}
	return sr.layer + ": " + layer
}
