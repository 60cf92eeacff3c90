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

var msgTypeNames = map[MsgType]string{
	PingMsg: "ping", IndirectPingMsg: "indirect-ping", AckMsg: "ack", SuspectMsg: "suspect",
	AliveMsg: "alive", DeadMsg: "dead", PushPullMsg: "push-pull", CompoundMsg: "compound",
	UserMsg: "user", CompressMsg: "compress", EncryptMsg: "encrypt", NackMsg: "nack",
	HasCRCMsg: "crc", ErrMsg: "err", HasLabelMsg: "label",
}

func (t MsgType) String() string {
	if s, ok := msgTypeNames[t]; ok {
		return s
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Message is one protocol message. AppendTo appends the message as it
// travels in a UDP packet: its type byte, then its body.
type Message interface {
	Type() MsgType
	AppendTo(b []byte) []byte
	decodeBody(d *decoder) error
}

// AppendMessage appends m, type byte first, to b.
func AppendMessage(b []byte, m Message) []byte { return m.AppendTo(b) }

// DecodeMessage decodes one message as carried in a packet (type byte, then
// body). Trailing bytes after the body are ignored, as memberlist does.
// Container types (compound, compress, CRC, label) are rejected: use
// DecodePacket for whole packets.
func DecodeMessage(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, newError("message", 0, ErrTruncated, "empty message")
	}
	m := newPacketMessage(MsgType(b[0]))
	if m == nil {
		return nil, newError("message", 0, ErrUnknownType, "type "+MsgType(b[0]).String()+" is not a packet message")
	}
	d := decoder{buf: b, off: 1, layer: m.Type().String()}
	if err := m.decodeBody(&d); err != nil {
		return nil, err
	}
	return m, nil
}

// newPacketMessage returns an empty message for the types a packet may carry
// as a leaf.
func newPacketMessage(t MsgType) Message {
	switch t {
	case PingMsg:
		return new(Ping)
	case IndirectPingMsg:
		return new(IndirectPing)
	case AckMsg:
		return new(Ack)
	case NackMsg:
		return new(Nack)
	case SuspectMsg:
		return new(Suspect)
	case AliveMsg:
		return new(Alive)
	case DeadMsg:
		return new(Dead)
	case UserMsg:
		return new(User)
	}
	return nil
}

// fields decodes the fields of one struct; i indexes the struct's field
// names in Go declaration order, which is also the order of the array form.
type fields interface {
	field(d *decoder, i int) error
}

// decodeStruct reads a struct in map or array form, dispatching known
// fields to f and skipping the rest.
func decodeStruct(d *decoder, names []string, f fields) error {
	n, isArray, err := d.structHeader()
	if err != nil {
		return err
	}
	for k := range n {
		i := k
		if !isArray {
			key, err := d.key()
			if err != nil {
				return err
			}
			i = indexOf(names, key)
		}
		if i < 0 || i >= len(names) {
			if err := d.skip(0); err != nil {
				return err
			}
			continue
		}
		if err := f.field(d, i); err != nil {
			return err
		}
	}
	return nil
}

func indexOf(names []string, key []byte) int {
	for i, n := range names {
		if n == string(key) { // no allocation: the compiler compares in place
			return i
		}
	}
	return -1
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
