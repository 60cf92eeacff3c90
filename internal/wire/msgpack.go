package wire

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"unsafe"
)

// msgpack format bytes used by the subset memberlist speaks.
const (
	mpNil      = 0xc0
	mpFalse    = 0xc2
	mpTrue     = 0xc3
	mpBin8     = 0xc4
	mpBin16    = 0xc5
	mpBin32    = 0xc6
	mpFloat32  = 0xca
	mpFloat64  = 0xcb
	mpUint8    = 0xcc
	mpUint16   = 0xcd
	mpUint32   = 0xce
	mpUint64   = 0xcf
	mpInt8     = 0xd0
	mpInt16    = 0xd1
	mpInt32    = 0xd2
	mpInt64    = 0xd3
	mpStr8     = 0xd9
	mpStr16    = 0xda
	mpStr32    = 0xdb
	mpArray16  = 0xdc
	mpArray32  = 0xdd
	mpMap16    = 0xde
	mpMap32    = 0xdf
	mpFixMap   = 0x80
	mpFixArray = 0x90
	mpFixStr   = 0xa0
)

// --- decoding ---------------------------------------------------------------

// maxSkipDepth bounds the nesting of values skipped as unknown fields, so a
// hostile input cannot exhaust the stack.
const maxSkipDepth = 32

// decoder reads msgpack values from an in-memory buffer. Every length is
// checked against the remaining input before anything is allocated.
type decoder struct {
	buf   []byte
	off   int
	layer string // for error messages
	// The struct being decoded, and the copies its fields are sliced from.
	structStart int // -1 outside a struct
	structLen   int // -1 until known
	arena       []byte
	oneStruct   bool // the input after the type byte is one struct
	// need is set on a truncation error: how many more bytes would let the
	// failed read make progress. Stream readers use it to read just enough.
	need int
}

func (d *decoder) fail(r Reason, detail string) error {
	return newError(d.layer, d.off, r, detail)
}

func (d *decoder) truncated(need int) error {
	d.need = need
	return d.fail(ErrTruncated, "")
}

func (d *decoder) remaining() int { return len(d.buf) - d.off }

// take returns the next n bytes without copying.
func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > d.remaining() {
		return nil, d.truncated(n - d.remaining())
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *decoder) byte1() (byte, error) {
	if d.off >= len(d.buf) {
		return 0, d.truncated(1)
	}
	c := d.buf[d.off]
	d.off++
	return c, nil
}

func (d *decoder) uintN(n int) (uint64, error) {
	b, err := d.take(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	default:
		return binary.BigEndian.Uint64(b), nil
	}
}

// structHeader reads the header of a struct, which go-msgpack accepts as a map
// (keyed by field name) or an array (fields in declaration order).
func (d *decoder) structHeader() (n int, isArray bool, err error) {
	start := d.off
	c, err := d.byte1()
	if err != nil {
		return 0, false, err
	}
	var size uint64
	switch {
	case c&0xf0 == mpFixMap:
		return int(c & 0x0f), false, nil
	case c&0xf0 == mpFixArray:
		return int(c & 0x0f), true, nil
	case c == mpMap16, c == mpArray16:
		size, err = d.uintN(2)
	case c == mpMap32, c == mpArray32:
		size, err = d.uintN(4)
	case c == mpNil:
		return 0, false, nil // a nil struct decodes to the zero value
	default:
		d.off = start
		return 0, false, d.fail(ErrMalformed, "want a map or array for a struct, got "+describe(c))
	}
	if err != nil {
		return 0, false, err
	}
	isArray = c == mpArray16 || c == mpArray32
	// Each entry takes at least one byte (two for a map), so a count larger
	// than the rest of the input is a lie: reject it before looping.
	per := uint64(2)
	if isArray {
		per = 1
	}
	if size*per > uint64(d.remaining()) {
		return 0, false, d.truncated(int(min(size*per, math.MaxInt32)) - d.remaining())
	}
	return int(size), isArray, nil
}

// rawHeader reads the length of a str, bin, or nil value. isNil reports nil.
// isArray reports a fixarray/array16/array32 header (go-msgpack accepts an
// array of small integers for a byte slice); n is then the element count.
func (d *decoder) rawHeader() (n int, isNil, isArray bool, err error) {
	start := d.off
	c, err := d.byte1()
	if err != nil {
		return 0, false, false, err
	}
	var size uint64
	switch {
	case c == mpNil:
		return 0, true, false, nil
	case c&0xe0 == mpFixStr:
		return int(c & 0x1f), false, false, nil
	case c&0xf0 == mpFixArray:
		return int(c & 0x0f), false, true, nil
	case c == mpStr8, c == mpBin8:
		size, err = d.uintN(1)
	case c == mpStr16, c == mpBin16, c == mpArray16:
		size, err = d.uintN(2)
	case c == mpStr32, c == mpBin32, c == mpArray32:
		size, err = d.uintN(4)
	default:
		d.off = start
		return 0, false, false, d.fail(ErrMalformed, "want a string or bytes, got "+describe(c))
	}
	if err != nil {
		return 0, false, false, err
	}
	if size > uint64(d.remaining()) {
		return 0, false, false, d.truncated(int(min(size, math.MaxInt32)) - d.remaining())
	}
	return int(size), false, c == mpArray16 || c == mpArray32, nil
}

// raw reads a str, bin or nil value, or an array of small integers (which
// go-msgpack also accepts for a byte slice). The result aliases the input,
// except for the array form, which is reported as fresh.
func (d *decoder) raw() (b []byte, isNil, fresh bool, err error) {
	n, isNil, isArray, err := d.rawHeader()
	if err != nil || isNil {
		return nil, isNil, false, err
	}
	if !isArray {
		b, err = d.take(n)
		return b, false, false, err
	}
	b = make([]byte, n)
	for i := range b {
		v, err := d.uint(math.MaxUint8)
		if err != nil {
			return nil, false, false, err
		}
		b[i] = byte(v)
	}
	return b, false, true, nil
}

// bytes reads a byte slice; nil stays nil, empty stays empty and non-nil,
// as with go-msgpack. The result does not alias the input.
func (d *decoder) bytes() ([]byte, error) {
	b, isNil, fresh, err := d.raw()
	switch {
	case err != nil || isNil:
		return nil, err
	case fresh:
		return b, nil
	case !d.inStruct():
		return append(make([]byte, 0, len(b)), b...), nil
	}
	o := d.off - len(b) - d.structStart
	d.ensureArena()
	return d.arena[o : o+len(b) : o+len(b)], nil
}

// string reads a string. It does not alias the input.
func (d *decoder) string() (string, error) {
	b, _, fresh, err := d.raw()
	if err != nil || len(b) == 0 || fresh || !d.inStruct() {
		return string(b), err
	}
	o := d.off - len(b) - d.structStart
	d.ensureArena()
	// Safe: the arena is never written after the copy, and every byte slice
	// handed out of it is capped to its own field's region, which no string
	// overlaps, so nothing can change these bytes.
	return unsafe.String(&d.arena[o], len(b)), nil
}

// The strings and byte slices of one struct all point into one copy of the
// struct's bytes (made on first use) rather than being copied one by one:
// decoding allocates per struct, not per field. A kept field therefore keeps
// its struct's bytes (a few hundred at most) alive, never more.

func (d *decoder) inStruct() bool { return d.structStart >= 0 }

// newDecoder returns a decoder positioned at off in buf.
func newDecoder(buf []byte, off int, layer string) decoder {
	return decoder{buf: buf, off: off, layer: layer, structStart: -1, structLen: -1}
}

// structEnd finds where the current struct ends by skipping over it; a
// truncated struct extends to the end of the input. When the input holds
// one struct (a message body), the end of the input is close enough and
// costs no second pass.
func (d *decoder) structEnd() int {
	if d.oneStruct {
		return len(d.buf)
	}
	if d.structLen < 0 {
		save := d.off
		d.off = d.structStart
		if d.skip(0) == nil {
			d.structLen = d.off - d.structStart
		} else {
			d.structLen = len(d.buf) - d.structStart
		}
		d.off, d.need = save, 0
	}
	return d.structStart + d.structLen
}

func (d *decoder) ensureArena() {
	if d.arena == nil {
		src := d.buf[d.structStart:d.structEnd()]
		d.arena = make([]byte, len(src))
		copy(d.arena, src)
	}
}

// structIter walks the fields of one struct.
type structIter struct {
	n, k    int
	isArray bool
}

// beginStruct reads a struct header and starts a new arena for its fields.
func (d *decoder) beginStruct() (structIter, error) {
	d.structStart, d.structLen, d.arena = d.off, -1, nil
	n, isArray, err := d.structHeader()
	return structIter{n: n, isArray: isArray}, err
}

// fieldSet names a struct's fields in Go declaration order (the order of
// the array form) and remembers the order go-msgpack writes them in (sorted
// by name), so that a well-formed key is matched with one comparison.
type fieldSet struct {
	names []string
	wire  []int // wire[k] = index in names of the k-th key go-msgpack writes
}

func newFieldSet(names ...string) *fieldSet {
	wire := make([]int, len(names))
	for i := range wire {
		wire[i] = i
	}
	slices.SortFunc(wire, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	return &fieldSet{names: names, wire: wire}
}

// next advances to the struct's next known field, skipping unknown ones as
// go-msgpack does, and sets *i to its index in fs.names. It returns false
// after the last field, or with *err set.
func (d *decoder) next(it *structIter, fs *fieldSet, i *int, err *error) bool {
	for it.k < it.n {
		k := it.k
		it.k++
		idx := k
		if !it.isArray {
			key, e := d.key()
			if e != nil {
				*err = e
				return false
			}
			if k < len(fs.wire) && fs.names[fs.wire[k]] == string(key) {
				idx = fs.wire[k]
			} else {
				idx = indexOf(fs.names, key)
			}
		}
		if idx >= 0 && idx < len(fs.names) {
			*i = idx
			return true
		}
		if e := d.skip(0); e != nil {
			*err = e
			return false
		}
	}
	return false
}

// indexOf finds a field name; the compiler compares string(key) in place.
func indexOf(names []string, key []byte) int {
	for i, n := range names {
		if n == string(key) {
			return i
		}
	}
	return -1
}

// integer reads any msgpack integer. neg reports a negative value held in v
// as two's complement.
func (d *decoder) integer() (v uint64, neg bool, err error) {
	start := d.off
	c, err := d.byte1()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c <= 0x7f:
		return uint64(c), false, nil
	case c >= 0xe0:
		return uint64(int64(int8(c))), true, nil
	case c == mpUint8:
		v, err = d.uintN(1)
	case c == mpUint16:
		v, err = d.uintN(2)
	case c == mpUint32:
		v, err = d.uintN(4)
	case c == mpUint64:
		v, err = d.uintN(8)
	case c == mpInt8:
		v, err = d.uintN(1)
		v = uint64(int64(int8(v)))
	case c == mpInt16:
		v, err = d.uintN(2)
		v = uint64(int64(int16(v)))
	case c == mpInt32:
		v, err = d.uintN(4)
		v = uint64(int64(int32(v)))
	case c == mpInt64:
		v, err = d.uintN(8)
	default:
		d.off = start
		return 0, false, d.fail(ErrMalformed, "want an integer, got "+describe(c))
	}
	signed := c >= mpInt8 && c <= mpInt64
	return v, signed && int64(v) < 0, err
}

// uint reads an integer into an unsigned field whose largest value is max.
func (d *decoder) uint(max uint64) (uint64, error) {
	start := d.off
	v, neg, err := d.integer()
	if err != nil {
		return 0, err
	}
	if neg || v > max {
		d.off = start
		return 0, d.fail(ErrMalformed, "integer out of range for its field")
	}
	return v, nil
}

// int reads an integer into a Go int field (64-bit, as on memberlist's
// supported platforms).
func (d *decoder) int() (int, error) {
	start := d.off
	v, neg, err := d.integer()
	if err != nil {
		return 0, err
	}
	if !neg && v > math.MaxInt64 {
		d.off = start
		return 0, d.fail(ErrMalformed, "integer out of range for its field")
	}
	return int(int64(v)), nil
}

func (d *decoder) bool() (bool, error) {
	start := d.off
	c, err := d.byte1()
	if err != nil {
		return false, err
	}
	switch c {
	case mpFalse, 0:
		return false, nil
	case mpTrue, 1:
		return true, nil
	}
	d.off = start
	return false, d.fail(ErrMalformed, "want a bool, got "+describe(c))
}

// key reads a map key (a field name) without copying it.
func (d *decoder) key() ([]byte, error) {
	n, isNil, isArray, err := d.rawHeader()
	if err != nil {
		return nil, err
	}
	if isNil || isArray {
		return nil, d.fail(ErrMalformed, "map key is not a string")
	}
	return d.take(n)
}

// skip steps over one value of any type: unknown fields are ignored, as
// go-msgpack does.
func (d *decoder) skip(depth int) error {
	if depth > maxSkipDepth {
		return d.fail(ErrMalformed, "values nested too deeply")
	}
	start := d.off
	c, err := d.byte1()
	if err != nil {
		return err
	}
	var n uint64
	perItem := uint64(1) // values per container item
	switch {
	case c <= 0x7f, c >= 0xe0, c == mpNil, c == mpFalse, c == mpTrue:
		return nil
	case c&0xe0 == mpFixStr:
		_, err = d.take(int(c & 0x1f))
		return err
	case c&0xf0 == mpFixMap:
		n, perItem = uint64(c&0x0f), 2
	case c&0xf0 == mpFixArray:
		n = uint64(c & 0x0f)
	case c == mpUint8, c == mpInt8:
		_, err = d.take(1)
		return err
	case c == mpUint16, c == mpInt16:
		_, err = d.take(2)
		return err
	case c == mpUint32, c == mpInt32, c == mpFloat32:
		_, err = d.take(4)
		return err
	case c == mpUint64, c == mpInt64, c == mpFloat64:
		_, err = d.take(8)
		return err
	case c == mpStr8, c == mpBin8, c == mpStr16, c == mpBin16, c == mpStr32, c == mpBin32:
		d.off = start
		n, _, _, err := d.rawHeader()
		if err != nil {
			return err
		}
		_, err = d.take(n)
		return err
	case c == mpArray16:
		n, err = d.uintN(2)
	case c == mpArray32:
		n, err = d.uintN(4)
	case c == mpMap16:
		n, err = d.uintN(2)
		perItem = 2
	case c == mpMap32:
		n, err = d.uintN(4)
		perItem = 2
	case c == 0xd4, c == 0xd5, c == 0xd6, c == 0xd7, c == 0xd8: // fixext 1..16
		_, err = d.take(1 << (c - 0xd4))
		if err == nil {
			_, err = d.take(1) // the ext type byte
		}
		return err
	case c == 0xc7, c == 0xc8, c == 0xc9: // ext 8/16/32
		var size uint64
		size, err = d.uintN(1 << (c - 0xc7))
		if err == nil {
			_, err = d.take(1)
		}
		if err == nil {
			if size > uint64(d.remaining()) {
				return d.truncated(int(min(size, math.MaxInt32)) - d.remaining())
			}
			_, err = d.take(int(size))
		}
		return err
	default:
		d.off = start
		return d.fail(ErrMalformed, "unknown msgpack type "+describe(c))
	}
	if err != nil {
		return err
	}
	items := n * perItem
	if items > uint64(d.remaining()) {
		return d.truncated(int(min(items, math.MaxInt32)) - d.remaining())
	}
	for range items {
		if err := d.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

func describe(c byte) string {
	const hexdigits = "0123456789abcdef"
	return "0x" + string([]byte{hexdigits[c>>4], hexdigits[c&0xf]})
}
