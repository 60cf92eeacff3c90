// Package oracle is an independent decoder for the bytes that
// hashicorp/memberlist v0.7.0 puts on the wire. It is test tooling for the
// interop module only: it is built from the Go standard library plus
// go-msgpack v2.1.5 (the codec memberlist itself pins), and the root rumor
// module never imports it.
//
// The structs below restate memberlist's wire schema (field names, Go types
// and codec tags), because go-msgpack derives the msgpack map keys, their
// order and the omitempty behaviour from exactly those three things.
package oracle

// Message type bytes used on the wire.
const (
	typePing         = 0
	typeIndirectPing = 1
	typeAck          = 2
	typeSuspect      = 3
	typeAlive        = 4
	typeDead         = 5
	typePushPull     = 6
	typeCompound     = 7
	typeUser         = 8
	typeCompress     = 9
	typeEncrypt      = 10
	typeNack         = 11
	typeCRC          = 12
	typeErr          = 13
	typeLabel        = 244
)

// kindNames maps a leaf message type byte to the name used in golden files.
var kindNames = map[byte]string{
	typePing:         "ping",
	typeIndirectPing: "indirect-ping",
	typeAck:          "ack",
	typeSuspect:      "suspect",
	typeAlive:        "alive",
	typeDead:         "dead",
	typePushPull:     "push-pull",
	typeUser:         "user",
	typeNack:         "nack",
	typeErr:          "err",
}

type nodeStateType int

type compressionType uint8

type ping struct {
	SeqNo      uint32
	Node       string
	SourceAddr []byte `codec:",omitempty"`
	SourcePort uint16 `codec:",omitempty"`
	SourceNode string `codec:",omitempty"`
}

type indirectPingReq struct {
	SeqNo      uint32
	Target     []byte
	Port       uint16
	Node       string
	Nack       bool
	SourceAddr []byte `codec:",omitempty"`
	SourcePort uint16 `codec:",omitempty"`
	SourceNode string `codec:",omitempty"`
}

type ackResp struct {
	SeqNo   uint32
	Payload []byte
}

type nackResp struct {
	SeqNo uint32
}

type errResp struct {
	Error string
}

type suspect struct {
	Incarnation uint32
	Node        string
	From        string
}

type alive struct {
	Incarnation uint32
	Node        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Vsn         []uint8
}

type dead struct {
	Incarnation uint32
	Node        string
	From        string
}

type pushPullHeader struct {
	Nodes        int
	UserStateLen int
	Join         bool
}

type userMsgHeader struct {
	UserMsgLen int
}

type pushNodeState struct {
	Name        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Incarnation uint32
	State       nodeStateType
	Vsn         []uint8
}

type compress struct {
	Algo compressionType
	Buf  []byte
}

// newLeaf returns a fresh value to decode the body of a packet/stream
// message of type t into, or nil when t has no msgpack body of its own.
func newLeaf(t byte) any {
	switch t {
	case typePing:
		return &ping{}
	case typeIndirectPing:
		return &indirectPingReq{}
	case typeAck:
		return &ackResp{}
	case typeSuspect:
		return &suspect{}
	case typeAlive:
		return &alive{}
	case typeDead:
		return &dead{}
	case typeNack:
		return &nackResp{}
	case typeErr:
		return &errResp{}
	}
	return nil
}
