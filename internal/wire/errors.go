package wire

import (
	"errors"
	"fmt"
)

// Reason classifies why input was rejected, so callers can count drops by
// reason. A Reason is itself an error: errors.Is(err, ErrTruncated) reports
// whether err was rejected for that reason.
type Reason uint8

// The reasons a decoder rejects input. ReasonOf maps any error to one of them.
const (
	ReasonNone              Reason = iota // not a wire error
	ErrTruncated                          // the input ends before a value does
	ErrMalformed                          // a value has the wrong msgpack type or an impossible value
	ErrUnknownType                        // a message type this channel does not carry
	ErrTooLarge                           // a length or count is above its limit
	ErrBadCRC                             // the CRC frame does not match its payload
	ErrNoKey                              // no key in the keyring decrypts the message
	ErrNotEncrypted                       // encryption is required but the input is plain
	ErrNoKeyring                          // the input is encrypted but no keyring is configured
	ErrBadEncryptVersion                  // the encryption version byte is unknown
	ErrLabelMismatch                      // the label differs from the configured one
	ErrBadLabel                           // a label header is empty or longer than 255 bytes
	ErrBadCompression                     // an unknown algorithm or corrupt LZW data
	ErrDecompressedTooLarge               // decompression would exceed the size limit
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:              "none",
	ErrTruncated:            "truncated",
	ErrMalformed:            "malformed",
	ErrUnknownType:          "unknown message type",
	ErrTooLarge:             "too large",
	ErrBadCRC:               "bad crc",
	ErrNoKey:                "no key decrypts",
	ErrNotEncrypted:         "not encrypted",
	ErrNoKeyring:            "encrypted but no keyring",
	ErrBadEncryptVersion:    "unknown encryption version",
	ErrLabelMismatch:        "label mismatch",
	ErrBadLabel:             "bad label header",
	ErrBadCompression:       "bad compression",
	ErrDecompressedTooLarge: "decompressed size over limit",
}

// String returns a short lowercase name, suitable as a metric label.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Error makes a Reason usable as a sentinel error.
func (r Reason) Error() string { return "wire: " + r.String() }

// Reasons lists every reason a decoder can report, in order, for callers that
// pre-register one counter per reason.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := ErrTruncated; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Error describes rejected input: which layer rejected it, where, and why.
type Error struct {
	Layer  string // e.g. "label", "encryption", "compound", "alive"
	Offset int    // byte offset within the input of that layer
	Reason Reason
	Detail string // human-readable specifics; may be empty
	Err    error  // underlying cause, if any
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("wire: %s at offset %d: %s", e.Layer, e.Offset, e.Reason.String())
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is the Reason of e.
func (e *Error) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r == e.Reason
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason err was rejected for, or ReasonNone when err is
// nil or not a wire error.
func ReasonOf(err error) Reason {
	var we *Error
	if errors.As(err, &we) {
		return we.Reason
	}
	var r Reason
	if errors.As(err, &r) {
		return r
	}
	return ReasonNone
}

func newError(layer string, off int, r Reason, detail string) *Error {
	return &Error{Layer: layer, Offset: off, Reason: r, Detail: detail}
}

// within re-bases an error from an inner layer so that its offset and layer
// name describe where it sits in the outer input.
func within(err error, layer string, base int) error {
	var we *Error
	if errors.As(err, &we) {
		out := *we
		if layer != "" {
			out.Layer = layer + ": " + we.Layer
		}
		out.Offset += base
		return &out
	}
	return err
}
