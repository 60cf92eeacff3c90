// Package mlwire is memberlist v0.7.0's wire schema restated for go-msgpack:
// the message type bytes and the structs that memberlist encodes after
// them, plus the few standard-library building blocks of the layers around
// them (LZW settings, the AES-GCM envelope) that more than one interop
// package needs.
//
// go-msgpack derives the msgpack map keys, their order and the omitempty
// behaviour from each struct's field names, Go types and codec tags, so
// those must match memberlist's net.go exactly; the Go type names do not
// matter to it and are ours.
//
// This is test tooling of the interop module. It uses only the standard
// library, and the root rumor module must never import it.
package mlwire

// Message type bytes.
const (
	TypePing         byte = 0
	TypeIndirectPing byte = 1
	TypeAck          byte = 2
	TypeSuspect      byte = 3
	TypeAlive        byte = 4
	TypeDead         byte = 5
	TypePushPull     byte = 6
	TypeCompound     byte = 7
	TypeUser         byte = 8
	TypeCompress     byte = 9
	TypeEncrypt      byte = 10
	TypeNack         byte = 11
	TypeCRC          byte = 12
	TypeErr          byte = 13
	TypeLabel        byte = 244 // label header in front of a packet or stream
)

// NodeStateType is the Go kind (int) of memberlist's node state.
type NodeStateType int

// CompressionType is the Go kind (uint8) of memberlist's compression
// algorithm; 0 is LZW.
type CompressionType uint8

type Ping struct {
	SeqNo      uint32
	Node       string
	SourceAddr []byte `codec:",omitempty"`
	SourcePort uint16 `codec:",omitempty"`
	SourceNode string `codec:",omitempty"`
}

type IndirectPingReq struct {
	SeqNo      uint32
	Target     []byte
	Port       uint16
	Node       string
	Nack       bool
	SourceAddr []byte `codec:",omitempty"`
	SourcePort uint16 `codec:",omitempty"`
	SourceNode string `codec:",omitempty"`
}

type AckResp struct {
	SeqNo   uint32
	Payload []byte
}

type NackResp struct {
	SeqNo uint32
}

type ErrResp struct {
	Error string
}

type Suspect struct {
	Incarnation uint32
	Node        string
	From        string
}

type Alive struct {
	Incarnation uint32
	Node        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Vsn         []uint8
}

type Dead struct {
	Incarnation uint32
	Node        string
	From        string
}

// PushPullHeader starts a push-pull stream; Nodes PushNodeState values and
// UserStateLen raw bytes follow it.
type PushPullHeader struct {
	Nodes        int
	UserStateLen int
	Join         bool
}

// UserMsgHeader starts a user message on a stream; UserMsgLen raw bytes
// follow it.
type UserMsgHeader struct {
	UserMsgLen int
}

type PushNodeState struct {
	Name        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Incarnation uint32
	State       NodeStateType
	Vsn         []uint8
}

// Compress wraps a compressed payload; see LZWCompress for Buf.
type Compress struct {
	Algo CompressionType
	Buf  []byte
}

// NewMessage returns a pointer to a zero value of the struct that is the
// whole msgpack body of a message of type t, or nil when t has no such
// body (compound, compress, user, push-pull, encrypt, CRC, label).
func NewMessage(t byte) any {
	switch t {
	case TypePing:
		return &Ping{}
	case TypeIndirectPing:
		return &IndirectPingReq{}
	case TypeAck:
		return &AckResp{}
	case TypeSuspect:
		return &Suspect{}
	case TypeAlive:
		return &Alive{}
	case TypeDead:
		return &Dead{}
	case TypeNack:
		return &NackResp{}
	case TypeErr:
		return &ErrResp{}
	}
	return nil
}
