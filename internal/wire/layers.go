package wire

import (
	"bytes"
	"compress/lzw"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"slices"
	"strconv"
	"sync"
)

// MaxCompoundParts is the most parts one compound message can hold (its count
// is one byte).
const MaxCompoundParts = 255

// AppendCompound appends a compound message holding parts, each a complete
// message starting with its type byte. It returns an error when there are
// more than MaxCompoundParts parts or a part is 64 KiB or longer.
func AppendCompound(b []byte, parts ...[]byte) ([]byte, error) {
	if len(parts) > MaxCompoundParts {
		return b, errors.New("wire: compound of " + strconv.Itoa(len(parts)) + " parts, want at most 255")
	}
	b = append(b, byte(CompoundMsg), byte(len(parts)))
	for _, p := range parts {
		if len(p) > 0xffff {
			return b, errors.New("wire: compound part of " + strconv.Itoa(len(p)) + " bytes, want under 64 KiB")
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	}
	for _, p := range parts {
		b = append(b, p...)
	}
	return b, nil
}

// AppendCompoundMessages appends a compound of msgs, encoding each message
// straight into dst behind a reserved length table: no per-part buffers.
// The limits are those of AppendCompound; on error dst is returned as given.
func AppendCompoundMessages(dst []byte, msgs []Message) ([]byte, error) {
	if len(msgs) > MaxCompoundParts {
		return dst, errors.New("wire: compound of " + strconv.Itoa(len(msgs)) + " parts, want at most 255")
	}
	start := len(dst)
	dst = append(dst, byte(CompoundMsg), byte(len(msgs)))
	table := len(dst)
	dst = append(dst, make([]byte, 2*len(msgs))...)
	for i, m := range msgs {
		part := len(dst)
		dst = m.AppendTo(dst)
		if n := len(dst) - part; n > 0xffff {
			return dst[:start], errors.New("wire: compound part of " + strconv.Itoa(n) + " bytes, want under 64 KiB")
		}
		binary.BigEndian.PutUint16(dst[table+2*i:], uint16(len(dst)-part))
	}
	return dst, nil
}

// splitCompound splits the body of a compound message (after its type byte).
// Like memberlist, it keeps the parts that fit and counts the ones cut off
// by the end of the input as truncated; a short length table is an error.
func splitCompound(b []byte) (parts [][]byte, truncated int, err error) {
	if len(b) < 1 {
		return nil, 0, newError("compound", 0, ErrTruncated, "missing part count")
	}
	n := int(b[0])
	if len(b) < 1+2*n {
		return nil, 0, newError("compound", 1, ErrTruncated, "length table of "+strconv.Itoa(n)+" parts")
	}
	lengths := b[1 : 1+2*n]
	rest := b[1+2*n:]
	parts = make([][]byte, 0, n)
	for i := range n {
		l := int(binary.BigEndian.Uint16(lengths[2*i:]))
		if l > len(rest) {
			return parts, n - i, nil
		}
		parts = append(parts, rest[:l])
		rest = rest[l:]
	}
	return parts, 0, nil
}

// compressAlgoLZW is the only algorithm memberlist defines.
const compressAlgoLZW = 0

// AppendCompressed appends payload as a compress message: LZW (LSB order,
// 8-bit literals, as memberlist uses) wrapped in msgpack {Algo, Buf}.
func AppendCompressed(b []byte, payload []byte) []byte {
	s := lzwWriters.Get().(*lzwWriterScratch)
	defer s.release()
	s.out.b = s.out.b[:0]
	s.w.Reset(&s.out, lzw.LSB, 8)
	_, _ = s.w.Write(payload) // writes to memory cannot fail
	_ = s.w.Close()
	b = appendMapHeader(append(b, byte(CompressMsg)), 2)
	b = appendUint(appendKey(b, "Algo"), compressAlgoLZW)
	return appendBytes(appendKey(b, "Buf"), s.out.b)
}

// An LZW writer holds a 64 KiB table, so writers and readers are pooled
// rather than built per message; scratch buffers above maxPooledScratch are
// let go so one large push-pull does not pin memory.
const maxPooledScratch = 1 << 20

var (
	lzwWriters = sync.Pool{New: func() any {
		s := &lzwWriterScratch{}
		s.w = lzw.NewWriter(&s.out, lzw.LSB, 8).(*lzw.Writer)
		return s
	}}
	lzwReaders = sync.Pool{New: func() any {
		s := &lzwReaderScratch{}
		s.r = lzw.NewReader(&s.in, lzw.LSB, 8).(*lzw.Reader)
		return s
	}}
)

type lzwWriterScratch struct {
	w   *lzw.Writer
	out byteSink
}

func (s *lzwWriterScratch) release() {
	if cap(s.out.b) > maxPooledScratch {
		s.out.b = nil
	}
	lzwWriters.Put(s)
}

type lzwReaderScratch struct {
	r  *lzw.Reader
	in bytes.Reader
}

// byteSink collects bytes. It has Flush, so compress/lzw writes to it
// directly instead of through a bufio.Writer of its own.
type byteSink struct{ b []byte }

func (s *byteSink) WriteByte(c byte) error { s.b = append(s.b, c); return nil }

func (s *byteSink) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

func (s *byteSink) Flush() error { return nil }

// compressHeader is the msgpack value of a compress message.
type compressHeader struct {
	Algo uint8
	Buf  []byte
}

var compressFields = newFieldSet("Algo", "Buf")

func (c *compressHeader) field(d *decoder, i int) error {
	if i == 0 {
		return readU8(d, &c.Algo)
	}
	// Buf is only read while decoding, so it may alias the input.
	b, _, _, err := d.raw()
	c.Buf = b
	return err
}

func (c *compressHeader) decode(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, compressFields, &i, &err); {
		err = c.field(d, i)
	}
	return err
}

// decompress inflates c.Buf, refusing to produce more than limit bytes, so
// that an LZW bomb costs at most limit bytes of memory.
func decompress(c *compressHeader, limit int) ([]byte, error) {
	if c.Algo != compressAlgoLZW {
		return nil, newError("compress", 0, ErrBadCompression, "unknown algorithm "+strconv.Itoa(int(c.Algo)))
	}
	s := lzwReaders.Get().(*lzwReaderScratch)
	defer lzwReaders.Put(s)
	s.in.Reset(c.Buf)
	s.r.Reset(&s.in, lzw.LSB, 8)
	defer s.in.Reset(nil) // do not keep the input alive in the pool
	// Grow the output ourselves, doubling from a guess at the expansion and
	// never past limit+1 bytes, so an LZW bomb costs at most about twice the
	// limit in allocations (bytes.Buffer would grow past it).
	out := make([]byte, 0, min(len(c.Buf)*4, limit)+1)
	for idle := 0; ; {
		if len(out) == cap(out) {
			if len(out) > limit {
				return nil, newError("compress", 0, ErrDecompressedTooLarge, "over "+strconv.Itoa(limit)+" bytes")
			}
			out = slices.Grow(out, min(cap(out), limit+1-len(out)))
		}
		n, err := s.r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if n == 0 && err == nil {
			if idle++; idle > 100 {
				err = io.ErrNoProgress
			}
		}
		if err != nil {
			return nil, &Error{Layer: "compress", Reason: ErrBadCompression, Err: err}
		}
	}
	if len(out) > limit {
		return nil, newError("compress", 0, ErrDecompressedTooLarge, "over "+strconv.Itoa(limit)+" bytes")
	}
	return out, nil
}

// decodeCompressed reads a compress message body and inflates it.
func decodeCompressed(b []byte, limit int) ([]byte, error) {
	d := newDecoder(b, 0, "compress")
	var c compressHeader
	if err := c.decode(&d); err != nil {
		return nil, err
	}
	return decompress(&c, limit)
}

// crcHeaderLen is the size of the CRC frame: type byte and CRC-32.
const crcHeaderLen = 5

// AppendCRC appends payload behind a CRC frame (IEEE CRC-32, big-endian).
func AppendCRC(b []byte, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(append(b, byte(HasCRCMsg)), crc32.ChecksumIEEE(payload))
	return append(b, payload...)
}

// checkCRC strips a CRC frame when one is present. As in memberlist, a
// frame is only recognised on input of at least 5 bytes.
func checkCRC(b []byte) (payload []byte, had bool, err error) {
	if len(b) < crcHeaderLen || MsgType(b[0]) != HasCRCMsg {
		return b, false, nil
	}
	want := binary.BigEndian.Uint32(b[1:5])
	if got := crc32.ChecksumIEEE(b[5:]); got != want {
		return nil, true, newError("crc", 1, ErrBadCRC, "got "+strconv.FormatUint(uint64(got), 16)+", header says "+strconv.FormatUint(uint64(want), 16))
	}
	return b[5:], true, nil
}

// MaxLabelLen is the longest label memberlist allows.
const MaxLabelLen = 255

// AppendLabelHeader appends a label header (0xf4, length, label). An empty
// label writes nothing, as memberlist does.
func AppendLabelHeader(b []byte, label string) ([]byte, error) {
	if label == "" {
		return b, nil
	}
	if len(label) > MaxLabelLen {
		return b, errors.New("wire: label of " + strconv.Itoa(len(label)) + " bytes, want at most 255")
	}
	return append(append(b, byte(HasLabelMsg), byte(len(label))), label...), nil
}

// splitLabel strips a label header if the input starts with one.
func splitLabel(b []byte) (label string, rest []byte, err error) {
	if len(b) == 0 || MsgType(b[0]) != HasLabelMsg {
		return "", b, nil
	}
	if len(b) < 2 {
		return "", nil, newError("label", 1, ErrTruncated, "missing label length")
	}
	n := int(b[1])
	if n == 0 {
		return "", nil, newError("label", 1, ErrBadLabel, "empty label header")
	}
	if len(b) < 2+n {
		return "", nil, newError("label", 2, ErrTruncated, "label of "+strconv.Itoa(n)+" bytes")
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}
