package main

import (
	"encoding/hex"
	"net/netip"
	"unicode"
	"unicode/utf8"

	"github.com/rumorproject/rumor/internal/wire"
)

// The JSON that `wire decode` prints. Message fields follow the golden files
// (internal/wire/testdata/golden/README.md): memberlist's Go field names,
// integers as numbers, []byte fields as lowercase hex or null for a nil
// slice. A few companion fields are added for people reading the output;
// each is named after the field it explains:
//
//   - <F>_ip for the address fields Addr, SourceAddr and Target (4 or 16
//     bytes): the address as text, with ":port" appended when the message
//     carries a non-zero port for it (Port or SourcePort), e.g.
//     "Addr":"7f000001","Addr_ip":"127.0.0.1:7946".
//   - Vsn_list: the version bytes as numbers, e.g. [1,5,2,0,0,0]
//     (protocol min, max, current; delegate min, max, current).
//   - <F>_text for the byte fields Payload, Meta and UserState when they are
//     non-empty, valid UTF-8 and printable.
//   - State_name: a push-pull node's state as a word ("alive", "dead", ...).
//
// On a stream, a push-pull is listed as its header (kind "push-pull":
// Join, Nodes, UserStateLen, plus UserState) followed by one
// "push-node-state" per node, and a user message as kind "user-header"
// (UserMsgLen, plus Payload); the raw bytes that follow the msgpack values
// (user state or user message body) are also given as trailer_hex.

// decodeReport is the whole output of `wire decode`.
type decodeReport struct {
	Channel        string        `json:"channel"` // "packet" or "stream"
	Bytes          int           `json:"bytes"`   // input length
	Layers         layersReport  `json:"layers"`
	Messages       []messageJSON `json:"messages"`
	TrailerHex     *string       `json:"trailer_hex"`
	TruncatedParts int           `json:"truncated_parts"`
	PartErrors     []partError   `json:"part_errors"`
}

type layersReport struct {
	Label          string `json:"label"` // "" when there is no label header
	Encrypted      bool   `json:"encrypted"`
	EncryptVersion int    `json:"encrypt_version"`
	Nonce          string `json:"nonce,omitempty"` // hex, when encrypted
	CRC            bool   `json:"crc"`
	Compressed     bool   `json:"compressed"`
	Compound       int    `json:"compound"` // parts of the outermost compound; 0 if none
}

type messageJSON struct {
	Type   uint8          `json:"type"`
	Kind   string         `json:"kind"`
	Fields map[string]any `json:"fields"`
}

// partError is a compound part that failed to decode; the rest of the
// packet was still decoded, as memberlist would process it.
type partError struct {
	Layer  string `json:"layer"`
	Offset int    `json:"offset"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

func packetReport(p *wire.Packet, n int) *decodeReport {
	r := &decodeReport{
		Channel: "packet",
		Bytes:   n,
		Layers: layersReport{
			Label: p.Label, Encrypted: p.Encrypted, CRC: p.CRC,
			Compressed: p.Compressed, Compound: p.Compound,
		},
		Messages:       make([]messageJSON, 0, len(p.Messages)),
		TruncatedParts: p.Truncated,
		PartErrors:     make([]partError, 0, len(p.PartErrors)),
	}
	if p.Encrypted {
		r.Layers.EncryptVersion = int(p.EncryptVersion)
		r.Layers.Nonce = hex.EncodeToString(p.Nonce[:])
	}
	for _, m := range p.Messages {
		r.Messages = append(r.Messages, messageOf(m))
	}
	for _, err := range p.PartErrors {
		r.PartErrors = append(r.PartErrors, partErrorOf(err))
	}
	return r
}

func streamReport(s *wire.Stream, n int) *decodeReport {
	r := &decodeReport{
		Channel:    "stream",
		Bytes:      n,
		Layers:     layersReport{Label: s.Label, Encrypted: s.Encrypted, Compressed: s.Compressed},
		PartErrors: []partError{},
	}
	if s.Encrypted {
		r.Layers.EncryptVersion = int(s.EncryptVersion)
		r.Layers.Nonce = hex.EncodeToString(s.Nonce[:])
	}
	switch m := s.Message.(type) {
	case *wire.PushPull:
		h := map[string]any{
			"Join":         m.Join,
			"Nodes":        len(m.Nodes),
			"UserStateLen": len(m.UserState),
			"UserState":    hexOrNil(m.UserState),
		}
		addText(h, "UserState", m.UserState)
		r.Messages = append(r.Messages, messageJSON{Type: uint8(wire.PushPullMsg), Kind: "push-pull", Fields: h})
		for i := range m.Nodes {
			r.Messages = append(r.Messages, messageJSON{
				Type: uint8(wire.PushPullMsg), Kind: "push-node-state", Fields: nodeStateFields(&m.Nodes[i]),
			})
		}
		r.TrailerHex = hexPtr(m.UserState)
	case *wire.User:
		f := map[string]any{"UserMsgLen": len(m.Payload), "Payload": hexOrNil(m.Payload)}
		addText(f, "Payload", m.Payload)
		r.Messages = []messageJSON{{Type: uint8(wire.UserMsg), Kind: "user-header", Fields: f}}
		r.TrailerHex = hexPtr(m.Payload)
	default:
		r.Messages = []messageJSON{messageOf(m)}
	}
	return r
}

// messageOf renders one leaf message.
func messageOf(m wire.Message) messageJSON {
	f := map[string]any{}
	switch m := m.(type) {
	case *wire.Ping:
		f["SeqNo"], f["Node"], f["SourceAddr"] = m.SeqNo, m.Node, hexOrNil(m.SourceAddr)
		f["SourcePort"], f["SourceNode"] = m.SourcePort, m.SourceNode
		addIP(f, "SourceAddr", m.SourceAddr, m.SourcePort)
	case *wire.IndirectPing:
		f["SeqNo"], f["Target"], f["Port"], f["Node"], f["Nack"] = m.SeqNo, hexOrNil(m.Target), m.Port, m.Node, m.Nack
		f["SourceAddr"], f["SourcePort"], f["SourceNode"] = hexOrNil(m.SourceAddr), m.SourcePort, m.SourceNode
		addIP(f, "Target", m.Target, m.Port)
		addIP(f, "SourceAddr", m.SourceAddr, m.SourcePort)
	case *wire.Ack:
		f["SeqNo"], f["Payload"] = m.SeqNo, hexOrNil(m.Payload)
		addText(f, "Payload", m.Payload)
	case *wire.Nack:
		f["SeqNo"] = m.SeqNo
	case *wire.Suspect:
		f["Incarnation"], f["Node"], f["From"] = m.Incarnation, m.Node, m.From
	case *wire.Dead:
		f["Incarnation"], f["Node"], f["From"] = m.Incarnation, m.Node, m.From
	case *wire.Alive:
		f["Incarnation"], f["Node"], f["Addr"], f["Port"] = m.Incarnation, m.Node, hexOrNil(m.Addr), m.Port
		f["Meta"], f["Vsn"] = hexOrNil(m.Meta), hexOrNil(m.Vsn)
		addIP(f, "Addr", m.Addr, m.Port)
		addText(f, "Meta", m.Meta)
		addVsn(f, m.Vsn)
	case *wire.User:
		f["Payload"] = hexOrNil(m.Payload)
		addText(f, "Payload", m.Payload)
	case *wire.ErrResp:
		f["Error"] = m.Error
	}
	return messageJSON{Type: uint8(m.Type()), Kind: m.Type().String(), Fields: f}
}

func nodeStateFields(s *wire.PushNodeState) map[string]any {
	f := map[string]any{
		"Name": s.Name, "Addr": hexOrNil(s.Addr), "Port": s.Port, "Meta": hexOrNil(s.Meta),
		"Incarnation": s.Incarnation, "State": int(s.State), "State_name": s.State.String(),
		"Vsn": hexOrNil(s.Vsn),
	}
	addIP(f, "Addr", s.Addr, s.Port)
	addText(f, "Meta", s.Meta)
	addVsn(f, s.Vsn)
	return f
}

func partErrorOf(err error) partError {
	pe := partError{Reason: wire.ReasonOf(err).String(), Error: describeError(err)}
	if we, ok := asWireError(err); ok {
		pe.Layer, pe.Offset = we.Layer, we.Offset
	}
	return pe
}

// hexOrNil renders a byte field: lowercase hex, or nil (JSON null) for a
// nil slice.
func hexOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return hex.EncodeToString(b)
}

func hexPtr(b []byte) *string {
	if b == nil {
		return nil
	}
	s := hex.EncodeToString(b)
	return &s
}

// addIP adds name+"_ip" when addr is an IPv4 or IPv6 address.
func addIP(f map[string]any, name string, addr []byte, port uint16) {
	a, ok := netip.AddrFromSlice(addr)
	if !ok {
		return
	}
	a = a.Unmap()
	if port == 0 {
		f[name+"_ip"] = a.String()
		return
	}
	f[name+"_ip"] = netip.AddrPortFrom(a, port).String()
}

// addText adds name+"_text" when b is non-empty printable UTF-8.
func addText(f map[string]any, name string, b []byte) {
	if len(b) == 0 || !utf8.Valid(b) {
		return
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\t' && r != '\n' && r != '\r' {
			return
		}
	}
	f[name+"_text"] = string(b)
}

// addVsn adds Vsn_list, the version bytes as numbers.
func addVsn(f map[string]any, vsn []byte) {
	if vsn == nil {
		return
	}
	l := make([]int, len(vsn))
	for i, v := range vsn {
		l[i] = int(v)
	}
	f["Vsn_list"] = l
}
