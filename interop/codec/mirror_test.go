package codec

// The types below restate the wire schema of memberlist v0.7.0 (net.go):
// go-msgpack derives map keys, key order and omitempty from the field names,
// Go types and tags, so those must match memberlist exactly. Everything else
// about them is ours.

// mlType values are memberlist's message type bytes.
const (
	mlPing         byte = 0
	mlIndirectPing byte = 1
	mlAck          byte = 2
	mlSuspect      byte = 3
	mlAlive        byte = 4
	mlDead         byte = 5
	mlPushPull     byte = 6
	mlCompound     byte = 7
	mlUser         byte = 8
	mlCompress     byte = 9
	mlEncrypt      byte = 10
	mlNack         byte = 11
	mlCRC          byte = 12
	mlErr          byte = 13
	mlLabel        byte = 244
)

type mlPingMsg struct {
	SeqNo      uint32
	Node       string
	SourceAddr []byte `codec:",omitempty"`
	SourcePort uint16 `codec:",omitempty"`
	SourceNode string `codec:",omitempty"`
}

type mlIndirectPingReq struct {
	SeqNo      uint32
	Target     []byte
	Port       uint16
	Node       string
	Nack       bool
	SourceAddr []byte `codec:",omitempty"`
	SourcePort uint16 `codec:",omitempty"`
	SourceNode string `codec:",omitempty"`
}

type mlAckResp struct {
	SeqNo   uint32
	Payload []byte
}

type mlNackResp struct {
	SeqNo uint32
}

type mlErrResp struct {
	Error string
}

type mlSuspectMsg struct {
	Incarnation uint32
	Node        string
	From        string
}

type mlAliveMsg struct {
	Incarnation uint32
	Node        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Vsn         []uint8
}

type mlDeadMsg struct {
	Incarnation uint32
	Node        string
	From        string
}

type mlPushPullHeader struct {
	Nodes        int
	UserStateLen int
	Join         bool
}

type mlUserMsgHeader struct {
	UserMsgLen int
}

// mlNodeStateType mirrors memberlist's NodeStateType (an int).
type mlNodeStateType int

type mlPushNodeState struct {
	Name        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Incarnation uint32
	State       mlNodeStateType
	Vsn         []uint8
}

// mlCompressionType mirrors memberlist's compressionType (a uint8).
type mlCompressionType uint8

type mlCompressMsg struct {
	Algo mlCompressionType
	Buf  []byte
}
