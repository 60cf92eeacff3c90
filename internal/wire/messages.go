package wire

import (
	"math"
	"strconv"
)

// The memberlist protocol versions this codec speaks (memberlist v0.7.0's
// range). Version 3 added the TCP fallback ping, 4 nacks, 5 the CRC frame.
const (
	ProtocolVersionMin = 1
	ProtocolVersionMax = 5
)

// MsgType is the first byte of every message. The values are memberlist's and
// are part of the protocol.
type MsgType uint8

// Message types of memberlist v0.7.0.
const (
	PingMsg         MsgType = 0
	IndirectPingMsg MsgType = 1
	AckMsg          MsgType = 2
	SuspectMsg      MsgType = 3
	AliveMsg        MsgType = 4
	DeadMsg         MsgType = 5
	PushPullMsg     MsgType = 6
	CompoundMsg     MsgType = 7
	UserMsg         MsgType = 8
	CompressMsg     MsgType = 9
	EncryptMsg      MsgType = 10
	NackMsg         MsgType = 11
	HasCRCMsg       MsgType = 12
	ErrMsg          MsgType = 13
	HasLabelMsg     MsgType = 244
)

var msgTypeNames = [...]string{
	PingMsg: "ping", IndirectPingMsg: "indirect-ping", AckMsg: "ack", SuspectMsg: "suspect",
	AliveMsg: "alive", DeadMsg: "dead", PushPullMsg: "push-pull", CompoundMsg: "compound",
	UserMsg: "user", CompressMsg: "compress", EncryptMsg: "encrypt", NackMsg: "nack",
	HasCRCMsg: "crc", ErrMsg: "err",
}

func (t MsgType) String() string {
	if int(t) < len(msgTypeNames) {
		return msgTypeNames[t]
	}
	if t == HasLabelMsg {
		return "label"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Message is one protocol message. AppendTo appends the message as it
// travels in a UDP packet: its type byte, then its body.
type Message interface {
	Type() MsgType
	AppendTo(b []byte) []byte
	decodeBody(d *decoder) error // seals the interface to this package's types
}

// AppendMessage appends m, type byte first, to b.
func AppendMessage(b []byte, m Message) []byte { return m.AppendTo(b) }

// DecodeMessage decodes one message as carried in a packet (type byte, then
// body). Trailing bytes after the body are ignored, as memberlist does.
// Container types (compound, compress, CRC, label) are rejected: use
// DecodePacket for whole packets.
//
// The strings and byte slices of a decoded message never alias b.
func DecodeMessage(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, newError("message", 0, ErrTruncated, "empty message")
	}
	t := MsgType(b[0])
	d := newDecoder(b, 1, t.String())
	d.oneStruct = true
	return decodePacketBody(&d, t)
}

// decodePacketBody decodes the body of a message type a packet may carry as
// a leaf. Each case calls its type's decoder directly: through an interface
// the decoder would escape to the heap.
func decodePacketBody(d *decoder, t MsgType) (Message, error) {
	var m Message
	var err error
	switch t {
	case PingMsg:
		v := new(Ping)
		m, err = v, v.decodeBody(d)
	case IndirectPingMsg:
		v := new(IndirectPing)
		m, err = v, v.decodeBody(d)
	case AckMsg:
		v := new(Ack)
		m, err = v, v.decodeBody(d)
	case NackMsg:
		v := new(Nack)
		m, err = v, v.decodeBody(d)
	case SuspectMsg:
		v := new(Suspect)
		m, err = v, v.decodeBody(d)
	case AliveMsg:
		v := new(Alive)
		m, err = v, v.decodeBody(d)
	case DeadMsg:
		v := new(Dead)
		m, err = v, v.decodeBody(d)
	case UserMsg:
		v := new(User)
		m, err = v, v.decodeBody(d)
	default:
		return nil, newError("message", d.off-1, ErrUnknownType, "type "+t.String()+" is not a packet message")
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func readU32(d *decoder, p *uint32) error {
	v, err := d.uint(math.MaxUint32)
	*p = uint32(v)
	return err
}

func readU16(d *decoder, p *uint16) error {
	v, err := d.uint(math.MaxUint16)
	*p = uint16(v)
	return err
}

func readU8(d *decoder, p *uint8) error {
	v, err := d.uint(math.MaxUint8)
	*p = uint8(v)
	return err
}

func readString(d *decoder, p *string) (err error) {
	*p, err = d.string()
	return err
}

func readBytes(d *decoder, p *[]byte) (err error) {
	*p, err = d.bytes()
	return err
}

func readBool(d *decoder, p *bool) (err error) {
	*p, err = d.bool()
	return err
}

func readInt(d *decoder, p *int) (err error) {
	*p, err = d.int()
	return err
}
