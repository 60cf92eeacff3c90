// Package tags encodes and decodes node tags carried in memberlist node
// metadata, in HashiCorp Serf's format, so that rumor shows the tags of Serf
// and Consul members and Serf reads the tags of rumor nodes.
//
// Serf (serf/serf.go, encodeTags and decodeTags) writes the magic byte 255
// and then the tags as a msgpack map[string]string encoded with
// go-msgpack's zero-value MsgpackHandle: maps as fixmap, map16 or map32,
// strings as legacy raw strings (fixstr, str16 or str32, never str8 nor
// bin), keys in Go's random map order, and a nil map as msgpack nil. Encode
// writes the same forms with the keys sorted, so its output is
// deterministic; Decode also takes str8 and bin strings, which other
// msgpack encoders emit.
//
// Metadata that does not start with the magic byte is not tags: Serf at
// protocol version 2 or lower sent a bare role name there, and memberlist
// applications put whatever they like in it. Decode returns a nil map for
// such metadata; IsTags tells the two apart without decoding.
package tags

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Magic is the first byte of metadata holding tags (Serf's tagMagicByte).
const Magic byte = 255

// MaxSize is the most bytes of metadata memberlist carries for a node
// (its MetaMaxSize); Serf refuses tags that encode to more.
const MaxSize = 512

// msgpack format bytes used by the codec.
const (
	mpFixMap    = 0x80 // 0x80-0x8f
	mpFixStr    = 0xa0 // 0xa0-0xbf
	mpNil       = 0xc0
	mpBin8      = 0xc4
	mpBin16     = 0xc5
	mpBin32     = 0xc6
	mpStr8      = 0xd9
	mpStr16     = 0xda
	mpStr32     = 0xdb
	mpMap16     = 0xde
	mpMap32     = 0xdf
	fixMapLimit = 16
	fixStrLimit = 32
)

// Errors Decode and Encode wrap, for errors.Is.
var (
	// ErrMalformed: the metadata starts with the magic byte but the rest
	// is not one msgpack map of strings.
	ErrMalformed = errors.New("tags: malformed")
	// ErrTooLarge: the encoded tags would exceed MaxSize bytes.
	ErrTooLarge = errors.New("tags: too large")
	// ErrEmptyKey: a tag has an empty name.
	ErrEmptyKey = errors.New("tags: empty key")
)

// IsTags reports whether meta holds tags, that is, starts with Magic.
func IsTags(meta []byte) bool { return len(meta) > 0 && meta[0] == Magic }

// Encode returns tags in Serf's format: Magic, then a msgpack map with the
// keys sorted byte-wise. nil and empty maps both encode as an empty map.
// It fails when a key is empty or the result would exceed MaxSize bytes.
func Encode(tags map[string]string) ([]byte, error) {
	keys := make([]string, 0, len(tags))
	size := 1 + mapHeaderLen(len(tags))
	for k, v := range tags {
		if k == "" {
			return nil, ErrEmptyKey
		}
		keys = append(keys, k)
		size += strLen(len(k)) + strLen(len(v))
	}
	// Sized before building, so a huge value costs no huge buffer.
	if size > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes encoded, want at most %d", ErrTooLarge, size, MaxSize)
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = appendMapHeader(append(b, Magic), len(keys))
	for _, k := range keys {
		b = appendString(appendString(b, k), tags[k])
	}
	return b, nil
}

// Decode returns the tags meta holds. Metadata that is not tags (see
// IsTags) gives (nil, nil); tags give a non-nil map, empty for an empty or
// nil msgpack map. A key that appears twice keeps its last value, as
// go-msgpack does. Anything after the map, or any value that is not a
// string, is an error wrapping ErrMalformed.
//
// Decode never panics, and allocates no more than the input's length
// justifies: every length is checked against the bytes that remain.
func Decode(meta []byte) (map[string]string, error) {
	if !IsTags(meta) {
		return nil, nil
	}
	d := decoder{b: meta, off: 1}
	n, err := d.mapHeader()
	if err != nil {
		return nil, err
	}
	// Each entry takes at least two bytes (two empty strings).
	if n > d.remaining()/2 {
		return nil, d.fail(fmt.Sprintf("map of %d entries in %d bytes", n, d.remaining()))
	}
	tags := make(map[string]string, n)
	for i := range n {
		k, err := d.str()
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		v, err := d.str()
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
		tags[k] = v
	}
	if d.remaining() > 0 {
		return nil, d.fail(fmt.Sprintf("%d bytes after the map", d.remaining()))
	}
	return tags, nil
}

func mapHeaderLen(n int) int {
	switch {
	case n < fixMapLimit:
		return 1
	case n <= math.MaxUint16:
		return 3
	}
	return 5
}

// strLen is the encoded size of an n-byte string.
func strLen(n int) int {
	switch {
	case n < fixStrLimit:
		return 1 + n
	case n <= math.MaxUint16:
		return 3 + n
	}
	return 5 + n
}

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < fixMapLimit:
		return append(b, mpFixMap|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpMap16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, mpMap32), uint32(n))
}

// appendString writes s as go-msgpack's default handle does: legacy raw,
// so fixstr, str16 or str32 but never str8.
func appendString(b []byte, s string) []byte {
	switch {
	case len(s) < fixStrLimit:
		b = append(b, mpFixStr|byte(len(s)))
	case len(s) <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, mpStr16), uint16(len(s)))
	default:
		b = binary.BigEndian.AppendUint32(append(b, mpStr32), uint32(len(s)))
	}
	return append(b, s...)
}

// decoder reads msgpack from b, checking every length against what is left.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) fail(detail string) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrMalformed, d.off, detail)
}

// take consumes n bytes, failing if fewer remain.
func (d *decoder) take(n int, what string) ([]byte, error) {
	if n < 0 || n > d.remaining() {
		return nil, d.fail(fmt.Sprintf("%s of %d bytes, %d left", what, n, d.remaining()))
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b, nil
}

// length reads a big-endian length of size bytes (1, 2 or 4).
func (d *decoder) length(size int, what string) (int, error) {
	b, err := d.take(size, what+" length")
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return int(b[0]), nil
	case 2:
		return int(binary.BigEndian.Uint16(b)), nil
	}
	// A 32-bit length may exceed int on 32-bit platforms; take rejects it
	// anyway, as no input is that long.
	return int(min(binary.BigEndian.Uint32(b), math.MaxInt32)), nil
}

// mapHeader reads a map's entry count; msgpack nil is an empty map.
func (d *decoder) mapHeader() (int, error) {
	t, err := d.take(1, "map header")
	if err != nil {
		return 0, err
	}
	switch c := t[0]; {
	case c&0xf0 == mpFixMap:
		return int(c & 0x0f), nil
	case c == mpMap16:
		return d.length(2, "map")
	case c == mpMap32:
		return d.length(4, "map")
	case c == mpNil: // Serf encodes a nil tag map so
		return 0, nil
	default:
		d.off--
		return 0, d.fail(fmt.Sprintf("format 0x%02x, want a map", c))
	}
}

// str reads a string in any of msgpack's string or binary forms.
func (d *decoder) str() (string, error) {
	t, err := d.take(1, "string header")
	if err != nil {
		return "", err
	}
	var n int
	switch c := t[0]; {
	case c&0xe0 == mpFixStr:
		n = int(c & 0x1f)
	case c == mpStr8 || c == mpBin8:
		n, err = d.length(1, "string")
	case c == mpStr16 || c == mpBin16:
		n, err = d.length(2, "string")
	case c == mpStr32 || c == mpBin32:
		n, err = d.length(4, "string")
	default:
		d.off--
		return "", d.fail(fmt.Sprintf("format 0x%02x, want a string", c))
	}
	if err != nil {
		return "", err
	}
	b, err := d.take(n, "string")
	return string(b), err
}
