package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Agents pass user payloads to each other in an envelope that names the
// sender and numbers broadcasts, so that a broadcast relayed along several
// paths is delivered once. Plain memberlist nodes never see it: they get
// the bare payload, as from any memberlist program.
//
//	magic "rumor\x00" | kind | id (8 bytes, big endian) | origin length (1) | origin | payload
var envelopeMagic = []byte("rumor\x00")

const (
	kindBroadcast = 'b' // to every member: deliver once, relay once
	kindMessage   = 'm' // to this member alone
)

type envelope struct {
	kind    byte
	id      uint64
	origin  string
	payload []byte
}

func (e *envelope) append(b []byte) ([]byte, error) {
	if len(e.origin) > 255 {
		return nil, fmt.Errorf("envelope: origin name of %d bytes, at most 255", len(e.origin))
	}
	b = append(b, envelopeMagic...)
	b = append(b, e.kind)
	b = binary.BigEndian.AppendUint64(b, e.id)
	b = append(b, byte(len(e.origin)))
	b = append(b, e.origin...)
	return append(b, e.payload...), nil
}

var errNotEnvelope = errors.New("not an envelope")

// parseEnvelope reads msg; errNotEnvelope means a bare payload (from a
// memberlist node, say). The payload aliases msg.
func parseEnvelope(msg []byte) (envelope, error) {
	var e envelope
	if len(msg) < len(envelopeMagic) || string(msg[:len(envelopeMagic)]) != string(envelopeMagic) {
		return e, errNotEnvelope
	}
	rest := msg[len(envelopeMagic):]
	if len(rest) < 10 {
		return e, fmt.Errorf("envelope: %d bytes after the magic, want at least 10", len(rest))
	}
	e.kind, e.id = rest[0], binary.BigEndian.Uint64(rest[1:9])
	if e.kind != kindBroadcast && e.kind != kindMessage {
		return e, fmt.Errorf("envelope: unknown kind %q", e.kind)
	}
	n := int(rest[9])
	rest = rest[10:]
	if len(rest) < n {
		return e, fmt.Errorf("envelope: origin of %d bytes, only %d left", n, len(rest))
	}
	e.origin, e.payload = string(rest[:n]), rest[n:]
	return e, nil
}
