package wire

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"slices"
	"strconv"
)

// DefaultMaxPacketDecompressed bounds what one compressed packet may inflate
// to. memberlist allows 40 MiB even for a UDP datagram; no sender it ships
// compresses a packet above 64 KiB, so rumor accepts 1 MiB and no more.
const DefaultMaxPacketDecompressed = 1 << 20

// maxNesting bounds compress-within-compound-within-compress recursion.
// memberlist itself nests at most compress(compound(...)).
const maxNesting = 4

// EncodeOptions chooses the layers a packet or stream is wrapped in.
type EncodeOptions struct {
	Label          string    // label header and encryption AAD; "" for none
	Keyring        *Keyring  // encrypt with its primary key when non-nil
	EncryptVersion uint8     // EncryptVersion1 (memberlist's default) or EncryptVersion0
	Compress       bool      // LZW; packets keep it only when it is smaller
	CRC            bool      // packets only: add a CRC frame (peers with protocol ≥ 5)
	Rand           io.Reader // nonce source; crypto/rand when nil
}

// DecodeOptions says what a receiver accepts.
type DecodeOptions struct {
	// Label is the configured label; input must carry exactly this label
	// ("" means none).
	Label string
	// Keyring decrypts input when non-nil.
	Keyring *Keyring
	// AllowPlaintext accepts unencrypted input although a keyring is set
	// (memberlist's GossipVerifyIncoming = false). A packet that fails to
	// decrypt is then read as plaintext.
	AllowPlaintext bool
	// MaxDecompressed bounds inflated output; 0 means
	// DefaultMaxPacketDecompressed for packets and MaxDecompressBytes for
	// streams.
	MaxDecompressed int
	// StreamReply is set when reading the reply on a stream this side
	// dialed: replies carry no label header, though the label still
	// authenticates encryption.
	StreamReply bool
}

// EncodePacket appends payload (one message, or a compound from
// AppendCompound) to dst wrapped in the layers opts selects, in memberlist's
// order: compress (if smaller), CRC, encrypt, label. payload must not share
// memory with dst's spare capacity.
func EncodePacket(dst, payload []byte, opts EncodeOptions) ([]byte, error) {
	dst, err := AppendLabelHeader(dst, opts.Label)
	if err != nil {
		return dst, err
	}
	aad := dst[len(dst)-len(opts.Label):] // the label bytes just written
	ptStart := 0
	if opts.Keyring != nil {
		if dst, ptStart, err = appendEnvelopeHead(dst, opts.EncryptVersion, opts.Rand); err != nil {
			return dst, err
		}
	}
	frame := len(dst)
	if opts.CRC {
		dst = append(dst, byte(HasCRCMsg), 0, 0, 0, 0) // checksum patched below
	}
	body := len(dst)
	dst = append(dst, payload...)
	if opts.Compress {
		// Compress behind the plain copy; keep the smaller, as memberlist does.
		grown := AppendCompressed(dst, payload) // keeps the larger buffer for reuse
		if c := grown[len(dst):]; len(c) < len(payload) {
			dst = append(grown[:body], c...)
		} else {
			dst = grown[:len(dst)]
		}
	}
	if opts.CRC {
		binary.BigEndian.PutUint32(dst[frame+1:], crc32.ChecksumIEEE(dst[body:]))
	}
	if opts.Keyring != nil {
		dst = opts.Keyring.appendSealed(dst, ptStart, opts.EncryptVersion, aad)
	}
	return dst, nil
}

// Packet is a decoded UDP packet: its messages, and the layers they came in.
type Packet struct {
	Label          string // label header found, "" if none
	Encrypted      bool
	EncryptVersion uint8
	KeyIndex       int // which keyring entry decrypted it (0 = primary)
	Nonce          [nonceLen]byte
	CRC            bool
	Compressed     bool // the payload inside the CRC frame was compressed
	Compound       int  // parts of the outermost compound; 0 for a single message
	// Messages holds every message, compounds and compression flattened,
	// in wire order; Sizes holds the length of each as encoded (inflated,
	// if it came compressed).
	Messages []Message
	Sizes    []int
	// Truncated counts compound parts cut off by the end of the packet;
	// PartErrors holds parts that failed to decode. memberlist drops such
	// parts and processes the rest; so may the caller.
	Truncated  int
	PartErrors []error
}

// DecodePacket decodes a UDP packet through every layer. An error means the
// whole packet is rejected; problems confined to compound parts are
// reported in the Packet instead.
func DecodePacket(b []byte, opts DecodeOptions) (*Packet, error) {
	p := &Packet{}
	label, rest, err := splitLabel(b)
	if err != nil {
		return nil, err
	}
	if label != opts.Label {
		return nil, newError("label", 0, ErrLabelMismatch, "got "+strconv.Quote(label)+", want "+strconv.Quote(opts.Label))
	}
	p.Label = label
	base := len(b) - len(rest)

	if opts.Keyring != nil {
		plain, version, keyIndex, err := opts.Keyring.open(rest, []byte(label), "encryption")
		switch {
		case err == nil:
			p.Encrypted, p.EncryptVersion, p.KeyIndex = true, version, keyIndex
			copy(p.Nonce[:], rest[1:])
			rest, base = plain, 0
		case !opts.AllowPlaintext:
			return nil, within(err, "", base)
		}
	}

	rest, p.CRC, err = checkCRC(rest)
	if err != nil {
		return nil, within(err, "", base)
	}
	if p.CRC {
		base += crcHeaderLen
	}
	limit := opts.MaxDecompressed
	if limit <= 0 {
		limit = DefaultMaxPacketDecompressed
	}
	if len(rest) > 0 && MsgType(rest[0]) == CompressMsg {
		p.Compressed = true
		if rest, err = decodeCompressed(rest[1:], limit); err != nil {
			return nil, within(err, "", base+1)
		}
		base = 0
	}
	if err := p.decodePayload(rest, limit, 0); err != nil {
		return nil, within(err, "", base)
	}
	return p, nil
}

// decodePayload appends the messages of one payload to p. Errors inside
// compound parts are collected; any other error is returned.
func (p *Packet) decodePayload(b []byte, limit, depth int) error {
	if len(b) == 0 {
		return newError("packet", 0, ErrTruncated, "empty payload")
	}
	if depth > maxNesting {
		return newError("packet", 0, ErrMalformed, "containers nested too deeply")
	}
	switch t := MsgType(b[0]); t {
	case CompressMsg:
		inner, err := decodeCompressed(b[1:], limit)
		if err != nil {
			return within(err, "", 1)
		}
		return p.decodePayload(inner, limit, depth+1)
	case CompoundMsg:
		parts, truncated, err := splitCompound(b[1:])
		if err != nil {
			return within(err, "", 1)
		}
		p.Truncated += truncated
		if depth == 0 {
			p.Compound = len(parts)
		}
		for i, part := range parts {
			if err := p.decodePayload(part, limit, depth+1); err != nil {
				p.PartErrors = append(p.PartErrors, within(err, "compound part "+strconv.Itoa(i), 0))
			}
		}
		return nil
	default:
		m, err := DecodeMessage(b)
		if err != nil {
			return err
		}
		p.Messages = append(p.Messages, m)
		p.Sizes = append(p.Sizes, len(b))
		return nil
	}
}

// WalkPayload calls fn with the type and length of each message in a
// plain payload (a message or a compound, not compressed), as a sender
// counts its traffic. It stops at the first malformed part.
func WalkPayload(payload []byte, fn func(t MsgType, size int)) {
	if len(payload) == 0 {
		return
	}
	if MsgType(payload[0]) != CompoundMsg {
		fn(MsgType(payload[0]), len(payload))
		return
	}
	b := payload[1:]
	if len(b) < 1 || len(b) < 1+2*int(b[0]) {
		return
	}
	n := int(b[0])
	lengths, rest := b[1:1+2*n], b[1+2*n:]
	for i := range n {
		l := int(binary.BigEndian.Uint16(lengths[2*i:]))
		if l == 0 || l > len(rest) {
			return
		}
		fn(MsgType(rest[0]), l)
		rest = rest[l:]
	}
}

// AppendPayload re-encodes the packet's messages as the payload they came
// in: a single message, or a compound of them.
func (p *Packet) AppendPayload(dst []byte) ([]byte, error) {
	if p.Compound == 0 && len(p.Messages) == 1 {
		return p.Messages[0].AppendTo(dst), nil
	}
	parts := make([][]byte, len(p.Messages))
	for i, m := range p.Messages {
		parts[i] = m.AppendTo(nil)
	}
	return AppendCompound(dst, parts...)
}

// EncodeOptions returns the options that re-encode the packet with the
// same layers, the same key and its nonce, so that EncodePacket reproduces
// its bytes. keyring is the one the packet was decoded with.
func (p *Packet) EncodeOptions(keyring *Keyring) EncodeOptions {
	o := EncodeOptions{Label: p.Label, Compress: p.Compressed, CRC: p.CRC}
	if p.Encrypted {
		o.Keyring, o.EncryptVersion, o.Rand = keyring, p.EncryptVersion, fixedReader(slices.Clone(p.Nonce[:]))
		if keyring != nil && p.KeyIndex > 0 && p.KeyIndex < len(keyring.keys) {
			o.Keyring = keyring.Clone()
			_ = o.Keyring.UseKey(keyring.keys[p.KeyIndex]) // installed, so it cannot fail
		}
	}
	return o
}

// fixedReader reads back the bytes it holds: a recorded nonce.
type fixedReader []byte

func (r fixedReader) Read(b []byte) (int, error) { return copy(b, r), nil }
