// Package wiretest holds the message values the codec benchmarks use, so
// that rumor's benchmarks (internal/wire) and the go-msgpack comparison
// (interop/codec) measure exactly the same values under the same names.
package wiretest

import (
	"bytes"
	"fmt"

	"github.com/rumorproject/rumor/internal/wire"
)

// Values shared by the fixtures.
var (
	Key  = []byte("0123456789abcdef") // AES-128 key for encrypted packets
	Vsn  = []byte{1, 5, 2, 0, 0, 0}
	Meta = []byte("role=web,dc=eu-west-1,rack=r17,version=1.4.2")
	User = bytes.Repeat([]byte("user-event:deploy;"), 15) // 270 bytes
)

// Ping is a probe with its Source fields, as memberlist ≥ 0.2 sends it.
func Ping() *wire.Ping {
	return &wire.Ping{SeqNo: 184467, Node: "node-017.eu-west-1", SourceAddr: []byte{10, 0, 1, 3}, SourcePort: 7946,
		SourceNode: "node-003.eu-west-1"}
}

// Alive announces node i.
func Alive(i int) *wire.Alive {
	return &wire.Alive{Incarnation: uint32(40 + i), Node: fmt.Sprintf("node-%03d.eu-west-1", i), Addr: []byte{10, 0, 1, byte(i)},
		Port: 7946, Meta: Meta, Vsn: Vsn}
}

// Message is one message benchmarked on its own.
type Message struct {
	Name   string
	Msg    wire.Message
	Stream bool // decoded from a stream (error responses only travel there)
}

// Messages returns one of every message type.
func Messages() []Message {
	return []Message{
		{Name: "ping", Msg: Ping()},
		{Name: "indirect-ping", Msg: &wire.IndirectPing{SeqNo: 184468, Target: []byte{10, 0, 1, 17}, Port: 7946, Node: "node-017.eu-west-1",
			Nack: true, SourceAddr: []byte{10, 0, 1, 3}, SourcePort: 7946, SourceNode: "node-003.eu-west-1"}},
		{Name: "ack", Msg: &wire.Ack{SeqNo: 184467}},
		{Name: "ack-payload", Msg: &wire.Ack{SeqNo: 184467, Payload: []byte("rtt-coordinate:0.0031,0.0007,-0.0012")}},
		{Name: "nack", Msg: &wire.Nack{SeqNo: 184468}},
		{Name: "suspect", Msg: &wire.Suspect{Incarnation: 41, Node: "node-017.eu-west-1", From: "node-003.eu-west-1"}},
		{Name: "alive", Msg: Alive(17)},
		{Name: "dead", Msg: &wire.Dead{Incarnation: 41, Node: "node-017.eu-west-1", From: "node-003.eu-west-1"}},
		{Name: "user", Msg: &wire.User{Payload: User}},
		{Name: "err", Msg: &wire.ErrResp{Error: "push/pull: remote node name does not match"}, Stream: true},
	}
}

// Gossip is a ping and five gossip messages: what one probe packet
// typically piggybacks (597 bytes as a compound).
func Gossip() []wire.Message {
	return []wire.Message{
		Ping(),
		Alive(21),
		&wire.Suspect{Incarnation: 41, Node: "node-017.eu-west-1", From: "node-003.eu-west-1"},
		Alive(22),
		&wire.Dead{Incarnation: 7, Node: "node-030.eu-west-1", From: "node-030.eu-west-1"},
		Alive(23),
	}
}

// PushPull is a push-pull of n node states in all four states.
func PushPull(n int) *wire.PushPull {
	m := &wire.PushPull{Join: false, Nodes: make([]wire.PushNodeState, n)}
	for i := range m.Nodes {
		m.Nodes[i] = wire.PushNodeState{Name: fmt.Sprintf("node-%04d.eu-west-1", i), Addr: []byte{10, 0, byte(i >> 8), byte(i)},
			Port: 7946, Meta: Meta, Incarnation: uint32(3 * i), State: wire.NodeState(i % 4), Vsn: Vsn}
	}
	return m
}
