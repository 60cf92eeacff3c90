package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rumorproject/rumor/internal/wire"
)

// wireCmd groups the commands that work on raw memberlist bytes.
type wireCmd struct {
	Decode wireDecodeCmd `cmd:"" help:"Decode a memberlist packet or stream capture and print its messages as JSON."`
}

type wireDecodeCmd struct {
	File           string    `arg:"" optional:"" default:"-" help:"Capture to decode, as hex or raw bytes; - or none reads stdin."`
	Hex            string    `placeholder:"HEX" help:"Decode this hex string instead of reading FILE."`
	Format         string    `enum:"auto,hex,raw" default:"auto" help:"How FILE is written: auto (hex if the whole input is hex text, else raw bytes), hex or raw."`
	Raw            bool      `help:"Same as --format=raw."`
	Key            []keyFlag `sep:"none" placeholder:"KEY" help:"AES key, base64 (as memberlist takes it) or hex:<hex>; 16, 24 or 32 bytes. Repeat for a keyring; the first is primary."`
	Label          string    `help:"The receiver's label: input must carry exactly this label header, which also authenticates encryption."`
	Stream         bool      `help:"Decode as a TCP stream, not a UDP packet (default: packet, falling back to stream)."`
	Reply          bool      `help:"Decode as a stream reply written by the accepting side: no label header, --label still authenticates encryption. Implies --stream."`
	AllowPlaintext bool      `help:"With --key, accept unencrypted input too."`
	Compact        bool      `help:"Print the JSON on one line."`
}

func (c *wireDecodeCmd) Help() string {
	return `Reads one UDP packet, or what one side of a TCP connection wrote, as memberlist
v0.7.0 puts it on the wire, and prints every message in it as JSON. Hex input
may contain whitespace, "0x" prefixes, "\x" escapes and the separators : , ; - _.

Unless --stream or --reply is given, the input is decoded as a packet; when that
fails and it decodes as a stream it is shown as one. A stream user message is also
a valid packet user message: it is shown as a stream when the packet's payload is
exactly a stream user header and the body it announces.

Exit status: 0 when the input decodes, 1 when it does not (the error names the
layer and byte offset that rejected it), 2 for bad flags.`
}

func (c *wireDecodeCmd) Run(e *env) error {
	opts, err := c.options()
	if err != nil {
		return err
	}
	in, err := c.input(e)
	if err != nil {
		return err
	}
	var r *decodeReport
	if c.Stream || c.Reply {
		r, err = decodeAsStream(in, opts)
	} else {
		r, err = decodeAuto(in, opts)
	}
	if err != nil {
		return err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if !c.Compact {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err = e.stdout.Write(out.Bytes())
	return err
}

// options checks the flags and builds the decoder's configuration.
func (c *wireDecodeCmd) options() (wire.DecodeOptions, error) {
	opts := wire.DecodeOptions{Label: c.Label, AllowPlaintext: c.AllowPlaintext, StreamReply: c.Reply}
	if len(c.Label) > wire.MaxLabelLen {
		return opts, usagef("--label is %d bytes, want at most %d", len(c.Label), wire.MaxLabelLen)
	}
	if c.Raw {
		if c.Format != formatAuto && c.Format != formatRaw {
			return opts, usagef("--raw conflicts with --format=%s", c.Format)
		}
		c.Format = formatRaw
	}
	if c.Hex != "" && c.File != "-" {
		return opts, usagef("give either FILE or --hex, not both")
	}
	if c.AllowPlaintext && len(c.Key) == 0 {
		return opts, usagef("--allow-plaintext needs --key")
	}
	if len(c.Key) > 0 {
		keys := make([][]byte, len(c.Key))
		for i, k := range c.Key {
			keys[i] = k
		}
		kr, err := wire.NewKeyring(keys...)
		if err != nil {
			return opts, usagef("--key: %s", strings.TrimPrefix(err.Error(), "wire: "))
		}
		opts.Keyring = kr
	}
	return opts, nil
}

// input returns the bytes to decode.
func (c *wireDecodeCmd) input(e *env) ([]byte, error) {
	if c.Hex != "" {
		b, err := decodeHexText(c.Hex)
		if err != nil {
			return nil, fmt.Errorf("--hex: %w", err)
		}
		return b, nil
	}
	raw, err := readInput(c.File, e.stdin)
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	b, err := decodeInput(raw, c.Format)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	if len(b) == 0 {
		return nil, errors.New("input: input is empty")
	}
	return b, nil
}

func decodeAsStream(in []byte, opts wire.DecodeOptions) (*decodeReport, error) {
	s, err := wire.DecodeStream(in, opts)
	if err != nil {
		return nil, decodeFailure(err, in, opts, true)
	}
	return streamReport(s, len(in)), nil
}

// decodeAuto decodes in as a packet and, when that fails, as a stream. The
// error reported is the stream's when the first byte after any label
// header marks a stream (0x06 push-pull, 0x0a encrypted stream frame),
// otherwise the packet's.
func decodeAuto(in []byte, opts wire.DecodeOptions) (*decodeReport, error) {
	p, perr := wire.DecodePacket(in, opts)
	if perr == nil {
		if s := streamUserInPacket(in, p, opts); s != nil {
			return streamReport(s, len(in)), nil
		}
		return packetReport(p, len(in)), nil
	}
	s, serr := wire.DecodeStream(in, opts)
	if serr == nil {
		return streamReport(s, len(in)), nil
	}
	switch t, _ := firstType(in); t {
	case wire.PushPullMsg, wire.EncryptMsg:
		return nil, decodeFailure(serr, in, opts, true)
	}
	return nil, decodeFailure(perr, in, opts, false)
}

// streamUserInPacket returns the input decoded as a stream when the packet
// p is a single user message whose payload is exactly a stream user message
// (header, then the announced body): then the input is a stream capture.
func streamUserInPacket(in []byte, p *wire.Packet, opts wire.DecodeOptions) *wire.Stream {
	if p.Compound != 0 || p.CRC || len(p.Messages) != 1 {
		return nil
	}
	pu, ok := p.Messages[0].(*wire.User)
	if !ok {
		return nil
	}
	s, err := wire.DecodeStream(in, opts)
	if err != nil {
		return nil
	}
	su, ok := s.Message.(*wire.User)
	if !ok {
		return nil
	}
	form, err := wire.AppendStream(nil, su, wire.EncodeOptions{})
	if err != nil || !bytes.Equal(form, wire.AppendMessage(nil, pu)) {
		return nil
	}
	return s
}

// firstType returns the first byte after a label header, if any.
func firstType(in []byte) (wire.MsgType, bool) {
	if len(in) > 0 && wire.MsgType(in[0]) == wire.HasLabelMsg {
		if len(in) < 2 || len(in) <= 2+int(in[1]) {
			return 0, false
		}
		in = in[2+int(in[1]):]
	}
	if len(in) == 0 {
		return 0, false
	}
	return wire.MsgType(in[0]), true
}

// decodeFailure describes a rejected input in one line, with a hint when a
// flag would probably have made it decode.
func decodeFailure(err error, in []byte, opts wire.DecodeOptions, stream bool) error {
	msg := describeError(err)
	we, _ := asWireError(err)
	switch {
	case opts.Keyring != nil && !stream && we != nil && strings.HasPrefix(we.Layer, "encryption"):
		plain := opts
		plain.Keyring = nil
		if _, perr := wire.DecodePacket(in, plain); perr == nil {
			msg += " (the input is not encrypted: add --allow-plaintext to accept it)"
		}
	case opts.Keyring == nil && !stream && wire.ReasonOf(err) != wire.ErrLabelMismatch:
		if t, ok := firstType(in); ok && (t == wire.EncryptVersion0 || t == wire.EncryptVersion1) {
			msg += " (if the input is encrypted, add --key)"
		}
	case wire.ReasonOf(err) == wire.ErrNoKeyring:
		msg += " (add --key)"
	case wire.ReasonOf(err) == wire.ErrLabelMismatch:
		if stream && !opts.StreamReply && opts.Label != "" && wire.MsgType(in[0]) != wire.HasLabelMsg {
			msg += " (a reply from the accepting side has no label header: add --reply)"
		}
	}
	return errors.New(msg)
}

// describeError renders a decoding error as "<layer> at offset <n>:
// <reason>[: <detail>]", without the package prefix.
func describeError(err error) string {
	if we, ok := asWireError(err); ok {
		err = we // drop any context wrapped around it
	}
	return strings.TrimPrefix(err.Error(), "wire: ")
}

func asWireError(err error) (*wire.Error, bool) {
	var we *wire.Error
	ok := errors.As(err, &we)
	return we, ok
}
