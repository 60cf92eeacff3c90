package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/rumorproject/rumor/internal/wire"
)

// maxInputBytes bounds what `wire decode` reads: the largest stream
// memberlist accepts (20 MiB encrypted) written as hex with separators fits.
const maxInputBytes = 64 << 20

// Input formats of `wire decode`.
const (
	formatAuto = "auto"
	formatHex  = "hex"
	formatRaw  = "raw"
)

// readInput reads name ("-" for r) whole, refusing more than maxInputBytes.
func readInput(name string, r io.Reader) ([]byte, error) {
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInputBytes {
		return nil, fmt.Errorf("input is over %d bytes", maxInputBytes)
	}
	return b, nil
}

// decodeInput turns what was read into wire bytes according to format:
// hex text, raw bytes, or (auto) hex when the whole input is hex.
func decodeInput(in []byte, format string) ([]byte, error) {
	switch format {
	case formatRaw:
		return in, nil
	case formatHex:
		return decodeHexText(string(in))
	}
	b, err := decodeHexText(string(in))
	if err == nil {
		return b, nil
	}
	if isText(in) {
		// No memberlist packet or stream is printable text: its first byte
		// is a message type below 0x0e or a label header (0xf4).
		return nil, fmt.Errorf("%w (input is text, so it was read as hex; use --format=raw for raw bytes)", err)
	}
	return in, nil
}

// decodeHexText decodes hex written loosely: whitespace and the separators
// ':', ',', ';', '-' and '_' between digits are ignored, as are "0x"
// prefixes and "\x" escapes, so "00 82 a4", "00:82:a4", "0x00, 0x82" and
// "\x00\x82" all work.
func decodeHexText(s string) ([]byte, error) {
	s = strings.ReplaceAll(s, `\x`, " ")
	var digits strings.Builder
	for _, tok := range strings.FieldsFunc(s, isHexSeparator) {
		if len(tok) > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X') {
			tok = tok[2:]
		}
		for i := 0; i < len(tok); i++ {
			if !isHexDigit(tok[i]) {
				return nil, fmt.Errorf("invalid hex: %s is not a hex digit", strconv.QuoteRuneToASCII(rune(tok[i])))
			}
		}
		digits.WriteString(tok)
	}
	if digits.Len() == 0 {
		return nil, errors.New("input is empty")
	}
	if digits.Len()%2 != 0 {
		return nil, fmt.Errorf("invalid hex: odd number of digits (%d)", digits.Len())
	}
	return hex.DecodeString(digits.String())
}

func isHexSeparator(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(":,;-_", r)
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isText reports whether b is printable ASCII and whitespace only.
func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c >= 0x7f {
			return false
		}
	}
	return true
}

// keyFlag is one --key value: an AES key given as base64 (as memberlist
// users write keys) or as hex after a "hex:" prefix. Kong calls
// UnmarshalText while parsing, so a bad key is a usage error.
type keyFlag []byte

func (k *keyFlag) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	var b []byte
	var err error
	if h, ok := strings.CutPrefix(s, "hex:"); ok {
		if b, err = hex.DecodeString(h); err != nil {
			return errors.New("key after \"hex:\" is not valid hex")
		}
	} else if b, err = base64.StdEncoding.DecodeString(s); err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(s); err != nil {
			return errors.New("key is not valid base64 (prefix hex keys with \"hex:\")")
		}
	}
	if wire.ValidateKey(b) != nil {
		return fmt.Errorf("key is %d bytes, want 16, 24 or 32 (AES-128, AES-192 or AES-256)", len(b))
	}
	*k = b
	return nil
}
