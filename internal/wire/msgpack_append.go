package wire

import (
	"encoding/binary"
	"math"
)

// The appenders reproduce go-msgpack v2.1.5's default MsgpackHandle output
// for the subset of msgpack memberlist uses.

func appendMapHeader(b []byte, n int) []byte {
	// Every memberlist struct has fewer than 16 fields.
	return append(b, mpFixMap|byte(n))
}

// appendRawLen writes a legacy raw (str) header: fixstr, str16 or str32.
// go-msgpack's default handle never emits str8.
func appendRawLen(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, mpFixStr|byte(n))
	case n <= math.MaxUint16:
		return append(b, mpStr16, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, mpStr32), uint32(n))
	}
}

func appendString(b []byte, s string) []byte {
	return append(appendRawLen(b, len(s)), s...)
}

// appendBytes writes a byte slice as raw, and a nil slice as msgpack nil.
func appendBytes(b []byte, v []byte) []byte {
	if v == nil {
		return append(b, mpNil)
	}
	return append(appendRawLen(b, len(v)), v...)
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= math.MaxInt8:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, mpUint8, byte(v))
	case v <= math.MaxUint16:
		return append(b, mpUint16, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, mpUint32), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(b, mpUint64), v)
	}
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v > math.MaxInt8:
		switch {
		case v <= math.MaxInt16:
			return append(b, mpInt16, byte(v>>8), byte(v))
		case v <= math.MaxInt32:
			return binary.BigEndian.AppendUint32(append(b, mpInt32), uint32(v))
		default:
			return binary.BigEndian.AppendUint64(append(b, mpInt64), uint64(v))
		}
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, mpInt8, byte(v))
	case v >= math.MinInt16:
		return append(b, mpInt16, byte(v>>8), byte(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, mpInt32), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(b, mpInt64), uint64(v))
	}
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, mpTrue)
	}
	return append(b, mpFalse)
}

// appendKey writes a map key; keys are short field names, always fixstr.
func appendKey(b []byte, k string) []byte {
	return append(append(b, mpFixStr|byte(len(k))), k...)
}
