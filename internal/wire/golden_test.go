package wire

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	goldenfile "github.com/rumorproject/rumor/internal/golden"
)

// golden is one capture from a real memberlist v0.7.0 node.
type golden struct{ goldenfile.Vector }

func loadGolden(t *testing.T) []golden {
	t.Helper()
	vs, err := goldenfile.Load(goldenfile.Dir(filepath.Join("testdata", "golden")))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]golden, len(vs))
	for i, v := range vs {
		out[i] = golden{v}
	}
	return out
}

func (g *golden) keyring(t *testing.T) *Keyring {
	if len(g.KeysHex) == 0 {
		return nil
	}
	var keys [][]byte
	for _, k := range g.KeysHex {
		keys = append(keys, unhex(t, k))
	}
	return testKeyring(t, keys...)
}

// TestGoldenDecode checks that rumor decodes every captured packet and
// stream into exactly the values memberlist's own codec found in them.
func TestGoldenDecode(t *testing.T) {
	for _, g := range loadGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			kr := g.keyring(t)
			in := unhex(t, g.Hex)
			var got []fieldMap
			var trailer []byte
			switch g.Channel {
			case "packet":
				p, err := DecodePacket(in, DecodeOptions{Label: g.Label, Keyring: kr})
				if err != nil {
					t.Fatalf("DecodePacket: %v", err)
				}
				if len(p.PartErrors) > 0 || p.Truncated > 0 {
					t.Fatalf("part errors %v, %d truncated", p.PartErrors, p.Truncated)
				}
				layers := [6]any{p.Label != "", p.Encrypted, p.EncryptVersion, p.CRC, p.Compressed, p.Compound}
				want := [6]any{g.Layers.Label, g.Layers.Encrypted, g.Layers.EncryptVersion, g.Layers.CRC, g.Layers.Compressed, g.Layers.Compound}
				if !g.Layers.Encrypted {
					want[2] = layers[2]
				}
				if layers != want {
					t.Errorf("layers (label, enc, vsn, crc, compressed, compound) = %v; want %v", layers, want)
				}
				for _, m := range p.Messages {
					got = append(got, fieldsOf(m)...)
				}
			case "stream":
				s, err := DecodeStream(in, DecodeOptions{Label: g.Label, Keyring: kr, StreamReply: g.StreamSide == "acceptor"})
				if err != nil {
					t.Fatalf("DecodeStream: %v", err)
				}
				if s.Encrypted != g.Layers.Encrypted || s.Compressed != g.Layers.Compressed || (s.Label != "") != g.Layers.Label {
					t.Errorf("layers = %+v; want %+v", s, g.Layers)
				}
				got = fieldsOf(s.Message)
				switch m := s.Message.(type) {
				case *PushPull:
					trailer = m.UserState
				case *User:
					trailer = m.Payload
					got = []fieldMap{{kind: "user-header", fields: map[string]string{"UserMsgLen": strconv.Itoa(len(m.Payload))}}}
				}
			default:
				t.Fatalf("unknown channel %q", g.Channel)
			}
			want := g.wantFields(t)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("messages:\n got %v\nwant %v", got, want)
			}
			if g.TrailerHex != nil && *g.TrailerHex != hex.EncodeToString(trailer) {
				t.Errorf("trailer = %x; want %s", trailer, *g.TrailerHex)
			}
		})
	}
}

// TestGoldenEncode builds each captured message from the recorded values
// (not from rumor's decoding) and checks rumor writes the captured bytes.
func TestGoldenEncode(t *testing.T) {
	for _, g := range loadGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			kr := g.keyring(t)
			in := unhex(t, g.Hex)
			msgs := g.buildMessages(t)
			var got []byte
			var err error
			switch g.Channel {
			case "packet":
				p, derr := DecodePacket(in, DecodeOptions{Label: g.Label, Keyring: kr})
				if derr != nil {
					t.Fatalf("DecodePacket (for the nonce): %v", derr)
				}
				var payload []byte
				if g.Layers.Compound > 0 {
					parts := make([][]byte, len(msgs))
					for i, m := range msgs {
						parts[i] = m.AppendTo(nil)
					}
					payload, err = AppendCompound(nil, parts...)
				} else {
					payload = msgs[0].AppendTo(nil)
				}
				if err == nil {
					got, err = EncodePacket(nil, payload, g.encodeOptions(kr, p.Nonce, p.KeyIndex))
				}
			case "stream":
				s, derr := DecodeStream(in, DecodeOptions{Label: g.Label, Keyring: kr, StreamReply: g.StreamSide == "acceptor"})
				if derr != nil {
					t.Fatalf("DecodeStream (for the nonce): %v", derr)
				}
				if g.StreamSide != "acceptor" {
					got, err = AppendLabelHeader(nil, g.Label)
				}
				if err == nil {
					got, err = AppendStream(got, msgs[0], g.encodeOptions(kr, s.Nonce, s.KeyIndex))
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, in) {
				t.Errorf("encoded\n got %x\nwant %x", got, in)
			}
		})
	}
}

// encodeOptions takes from rumor's decoding only what a capture cannot
// record: the random nonce, and which key of the keyring the sender used.
func (g *golden) encodeOptions(kr *Keyring, nonce [nonceLen]byte, keyIndex int) EncodeOptions {
	p := Packet{Label: g.Label, Encrypted: g.Layers.Encrypted, EncryptVersion: g.Layers.EncryptVersion,
		KeyIndex: keyIndex, Nonce: nonce, CRC: g.Layers.CRC, Compressed: g.Layers.Compressed}
	if !g.Layers.Label {
		p.Label = ""
	}
	o := p.EncodeOptions(kr)
	o.Label = g.Label // the label authenticates even when no header is sent
	return o
}

// fieldMap is a message as kind plus its fields rendered as strings: numbers
// in decimal, bools as true/false, byte slices as hex or "<nil>".
type fieldMap struct {
	kind   string
	fields map[string]string
}

func (f fieldMap) String() string { return fmt.Sprintf("%s%v", f.kind, f.fields) }

func hexOrNil(b []byte) string {
	if b == nil {
		return "<nil>"
	}
	return hex.EncodeToString(b)
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func fieldsOf(m Message) []fieldMap {
	one := func(kind string, kv ...string) []fieldMap {
		f := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			f[kv[i]] = kv[i+1]
		}
		return []fieldMap{{kind, f}}
	}
	switch m := m.(type) {
	case *Ping:
		return one("ping", "SeqNo", u(uint64(m.SeqNo)), "Node", m.Node, "SourceAddr", hexOrNil(m.SourceAddr),
			"SourcePort", u(uint64(m.SourcePort)), "SourceNode", m.SourceNode)
	case *IndirectPing:
		return one("indirect-ping", "SeqNo", u(uint64(m.SeqNo)), "Target", hexOrNil(m.Target), "Port", u(uint64(m.Port)),
			"Node", m.Node, "Nack", strconv.FormatBool(m.Nack), "SourceAddr", hexOrNil(m.SourceAddr),
			"SourcePort", u(uint64(m.SourcePort)), "SourceNode", m.SourceNode)
	case *Ack:
		return one("ack", "SeqNo", u(uint64(m.SeqNo)), "Payload", hexOrNil(m.Payload))
	case *Nack:
		return one("nack", "SeqNo", u(uint64(m.SeqNo)))
	case *Suspect:
		return one("suspect", "Incarnation", u(uint64(m.Incarnation)), "Node", m.Node, "From", m.From)
	case *Dead:
		return one("dead", "Incarnation", u(uint64(m.Incarnation)), "Node", m.Node, "From", m.From)
	case *Alive:
		return one("alive", "Incarnation", u(uint64(m.Incarnation)), "Node", m.Node, "Addr", hexOrNil(m.Addr),
			"Port", u(uint64(m.Port)), "Meta", hexOrNil(m.Meta), "Vsn", hexOrNil(m.Vsn))
	case *User:
		return one("user", "Payload", hexOrNil(m.Payload))
	case *ErrResp:
		return one("err", "Error", m.Error)
	case *PushPull:
		out := one("push-pull", "Join", strconv.FormatBool(m.Join), "Nodes", strconv.Itoa(len(m.Nodes)),
			"UserStateLen", strconv.Itoa(len(m.UserState)))
		for _, n := range m.Nodes {
			out = append(out, one("push-node-state", "Name", n.Name, "Addr", hexOrNil(n.Addr), "Port", u(uint64(n.Port)),
				"Meta", hexOrNil(n.Meta), "Incarnation", u(uint64(n.Incarnation)), "State", strconv.Itoa(int(n.State)),
				"Vsn", hexOrNil(n.Vsn))...)
		}
		return out
	}
	panic(fmt.Sprintf("fieldsOf: unhandled %T", m))
}

// wantFields renders the recorded messages like fieldsOf, filling in the
// zero values of omitted (omitempty) fields.
func (g *golden) wantFields(t *testing.T) []fieldMap {
	var out []fieldMap
	for _, m := range g.Messages {
		f := map[string]string{}
		for k, v := range m.Fields {
			switch v := v.(type) {
			case nil:
				f[k] = "<nil>"
			case float64:
				f[k] = strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				f[k] = strconv.FormatBool(v)
			case string:
				f[k] = v
			default:
				t.Fatalf("field %s: unexpected JSON %T", k, v)
			}
		}
		if m.Kind == "ping" || m.Kind == "indirect-ping" {
			defaults := map[string]string{"SourceAddr": "<nil>", "SourcePort": "0", "SourceNode": ""}
			for k, v := range defaults {
				if _, ok := f[k]; !ok {
					f[k] = v
				}
			}
		}
		out = append(out, fieldMap{m.Kind, f})
	}
	return out
}

// buildMessages constructs the recorded messages from their JSON values.
func (g *golden) buildMessages(t *testing.T) []Message {
	t.Helper()
	var trailer []byte
	if g.TrailerHex != nil {
		trailer = unhex(t, *g.TrailerHex)
	}
	var out []Message
	var pp *PushPull
	for _, m := range g.Messages {
		f := jsonFields{t: t, m: m.Fields}
		switch m.Kind {
		case "ping":
			out = append(out, &Ping{SeqNo: uint32(f.num("SeqNo")), Node: f.str("Node"), SourceAddr: f.bytes("SourceAddr"),
				SourcePort: uint16(f.num("SourcePort")), SourceNode: f.str("SourceNode")})
		case "indirect-ping":
			out = append(out, &IndirectPing{SeqNo: uint32(f.num("SeqNo")), Target: f.bytes("Target"), Port: uint16(f.num("Port")),
				Node: f.str("Node"), Nack: f.bool("Nack"), SourceAddr: f.bytes("SourceAddr"),
				SourcePort: uint16(f.num("SourcePort")), SourceNode: f.str("SourceNode")})
		case "ack":
			out = append(out, &Ack{SeqNo: uint32(f.num("SeqNo")), Payload: f.bytes("Payload")})
		case "nack":
			out = append(out, &Nack{SeqNo: uint32(f.num("SeqNo"))})
		case "suspect":
			out = append(out, &Suspect{Incarnation: uint32(f.num("Incarnation")), Node: f.str("Node"), From: f.str("From")})
		case "dead":
			out = append(out, &Dead{Incarnation: uint32(f.num("Incarnation")), Node: f.str("Node"), From: f.str("From")})
		case "alive":
			out = append(out, &Alive{Incarnation: uint32(f.num("Incarnation")), Node: f.str("Node"), Addr: f.bytes("Addr"),
				Port: uint16(f.num("Port")), Meta: f.bytes("Meta"), Vsn: f.bytes("Vsn")})
		case "user":
			out = append(out, &User{Payload: f.bytes("Payload")})
		case "user-header":
			out = append(out, &User{Payload: trailer})
		case "err":
			out = append(out, &ErrResp{Error: f.str("Error")})
		case "push-pull":
			pp = &PushPull{Join: f.bool("Join"), UserState: trailer, Nodes: []PushNodeState{}}
			out = append(out, pp)
		case "push-node-state":
			if pp == nil {
				t.Fatal("push-node-state before push-pull header")
			}
			pp.Nodes = append(pp.Nodes, PushNodeState{Name: f.str("Name"), Addr: f.bytes("Addr"), Port: uint16(f.num("Port")),
				Meta: f.bytes("Meta"), Incarnation: uint32(f.num("Incarnation")), State: NodeState(f.num("State")), Vsn: f.bytes("Vsn")})
		default:
			t.Fatalf("unknown kind %q", m.Kind)
		}
	}
	if len(out) == 0 {
		t.Fatal("capture holds no messages")
	}
	return out
}

type jsonFields struct {
	t *testing.T
	m map[string]any
}

func (f jsonFields) num(k string) int64 {
	v, _ := f.m[k].(float64) // every value fits: the widest field is a uint32
	return int64(v)
}

func (f jsonFields) str(k string) string {
	s, _ := f.m[k].(string)
	return s
}

func (f jsonFields) bool(k string) bool {
	b, _ := f.m[k].(bool)
	return b
}

func (f jsonFields) bytes(k string) []byte {
	s, ok := f.m[k].(string)
	if !ok {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		f.t.Fatalf("field %s: %v", k, err)
	}
	return b
}
