package wire

import (
	"encoding/binary"
	"errors"
	"io"
	"slices"
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
	if opts.Keyring == nil {
		return appendStreamPayload(dst, m, opts.Compress), nil
	}
	if len(opts.Label) > MaxLabelLen {
		return dst, errors.New("wire: label of " + strconv.Itoa(len(opts.Label)) + " bytes, want at most 255")
	}
	frame := len(dst)
	dst = append(dst, byte(EncryptMsg), 0, 0, 0, 0) // length patched below
	dst, ptStart, err := appendEnvelopeHead(dst, opts.EncryptVersion, opts.Rand)
	if err != nil {
		return dst, err
	}
	dst = appendStreamPayload(dst, m, opts.Compress)
	binary.BigEndian.PutUint32(dst[frame+1:], uint32(encryptedLen(opts.EncryptVersion, len(dst)-ptStart)))
	aad := append(append(make([]byte, 0, streamFrameLen+len(opts.Label)), dst[frame:frame+streamFrameLen]...), opts.Label...)
	return opts.Keyring.appendSealed(dst, ptStart, opts.EncryptVersion, aad), nil
}

// appendStreamPayload appends m in its stream form, compressed if asked.
func appendStreamPayload(dst []byte, m Message, compress bool) []byte {
	if compress {
		return AppendCompressed(dst, appendStreamPayload(nil, m, false))
	}
	if u, ok := m.(*User); ok {
		return appendUserStream(dst, u.Payload)
	}
	return m.AppendTo(dst)
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
		if err := sr.unit("compress", c.decode); err != nil {
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
	if sr.r == nil {
		// Everything is in memory (a capture, or a decrypted or decompressed
		// payload): decode in one pass.
		d := newDecoder(sr.buf, sr.off, typ.String())
		d.oneStruct = typ != PushPullMsg && typ != UserMsg
		m, err := decodeStreamBody(&d, typ)
		sr.off = d.off
		if err != nil {
			return nil, within(err, sr.layer, sr.base)
		}
		return m, nil
	}
	// From a socket: decode one piece at a time, reading only as needed.
	if typ == PushPullMsg {
		return readPushPull(sr)
	}
	var m Message
	err = sr.unit(typ.String(), func(d *decoder) (err error) {
		m, err = decodeStreamBody(d, typ)
		return err
	})
	return m, err
}

// decodeStreamBody decodes the body of a message as a stream carries it.
func decodeStreamBody(d *decoder, typ MsgType) (Message, error) {
	switch typ {
	case PushPullMsg:
		m := &PushPull{}
		if err := m.decodeBody(d); err != nil {
			return nil, err
		}
		return m, nil
	case UserMsg:
		return decodeUserStream(d)
	case ErrMsg:
		m := &ErrResp{}
		if err := m.decodeBody(d); err != nil {
			return nil, err
		}
		return m, nil
	case CompoundMsg, CompressMsg, EncryptMsg, HasCRCMsg, HasLabelMsg:
		return nil, newError("stream", d.off-1, ErrUnknownType, "type "+typ.String()+" is not a stream message")
	}
	return decodePacketBody(d, typ)
}

// readPushPull reads a push-pull from a socket piece by piece, so that it
// only buffers one node state beyond what it has decoded.
func readPushPull(sr *streamReader) (*PushPull, error) {
	var h pushPullHeader
	m := &PushPull{}
	err := sr.unit("push-pull header", func(d *decoder) error {
		if err := h.decode(d); err != nil {
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
		m.Nodes = append(m.Nodes, PushNodeState{})
		st := &m.Nodes[i]
		if err := sr.unit("push-pull node", st.decode); err != nil {
			return nil, within(err, "node "+strconv.Itoa(i), 0)
		}
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
		// Grow only when full, doubling with what has arrived, so memory
		// follows the bytes received, not the lengths a peer claims, and a
		// peer sending small segments costs no more than one big read.
		if len(sr.buf) == cap(sr.buf) {
			sr.buf = slices.Grow(sr.buf, max(len(sr.buf), 4096))
		}
		start := len(sr.buf)
		got, err := sr.r.Read(sr.buf[start:min(cap(sr.buf), sr.max)])
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
		d := newDecoder(sr.buf[sr.off:], 0, layer)
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
