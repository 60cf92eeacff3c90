package wire

import "strconv"

// NodeState is a member's state as carried in push-pull.
type NodeState int

// Node states; the values are memberlist's.
const (
	StateAlive   NodeState = 0
	StateSuspect NodeState = 1
	StateDead    NodeState = 2
	StateLeft    NodeState = 3
)

func (s NodeState) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Limits of memberlist v0.7.0 on what a peer may send on a stream.
const (
	MaxPushStateNodes  = 1 << 20  // entries in one push-pull
	MaxPushStateBytes  = 20 << 20 // encrypted stream block, and push-pull user state
	MaxUserMsgBytes    = 20 << 20 // reliable user message
	MaxDecompressBytes = 40 << 20 // decompressed stream payload
)

// PushNodeState is one member table entry in a push-pull exchange.
type PushNodeState struct {
	Name        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Incarnation uint32
	State       NodeState
	Vsn         []byte
}

var pushNodeFields = newFieldSet("Name", "Addr", "Port", "Meta", "Incarnation", "State", "Vsn")

func (s *PushNodeState) appendTo(b []byte) []byte {
	b = appendMapHeader(b, 7)
	b = appendBytes(appendKey(b, "Addr"), s.Addr)
	b = appendUint(appendKey(b, "Incarnation"), uint64(s.Incarnation))
	b = appendBytes(appendKey(b, "Meta"), s.Meta)
	b = appendString(appendKey(b, "Name"), s.Name)
	b = appendUint(appendKey(b, "Port"), uint64(s.Port))
	b = appendInt(appendKey(b, "State"), int64(s.State))
	return appendBytes(appendKey(b, "Vsn"), s.Vsn)
}

func (s *PushNodeState) field(d *decoder, i int) error {
	switch i {
	case 0:
		return readString(d, &s.Name)
	case 1:
		return readBytes(d, &s.Addr)
	case 2:
		return readU16(d, &s.Port)
	case 3:
		return readBytes(d, &s.Meta)
	case 4:
		return readU32(d, &s.Incarnation)
	case 5:
		v, err := d.int()
		s.State = NodeState(v)
		return err
	default:
		return readBytes(d, &s.Vsn)
	}
}

func (s *PushNodeState) decode(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, pushNodeFields, &i, &err); {
		err = s.field(d, i)
	}
	return err
}

// PushPull is a full state exchange: the sender's whole member table and
// the application's state. Join is set when the dialer is joining. It travels
// only on streams.
type PushPull struct {
	Join      bool
	Nodes     []PushNodeState
	UserState []byte
}

// pushPullHeader is the msgpack value that precedes the node states.
type pushPullHeader struct {
	Nodes        int
	UserStateLen int
	Join         bool
}

var pushPullHeaderFields = newFieldSet("Nodes", "UserStateLen", "Join")

func (h *pushPullHeader) field(d *decoder, i int) error {
	switch i {
	case 0:
		return readInt(d, &h.Nodes)
	case 1:
		return readInt(d, &h.UserStateLen)
	default:
		return readBool(d, &h.Join)
	}
}

func (h *pushPullHeader) decode(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, pushPullHeaderFields, &i, &err); {
		err = h.field(d, i)
	}
	return err
}

func (*PushPull) Type() MsgType { return PushPullMsg }

// AppendTo appends the push-pull payload: type byte, header, node states, and
// the raw user state.
func (m *PushPull) AppendTo(b []byte) []byte {
	b = appendMapHeader(append(b, byte(PushPullMsg)), 3)
	b = appendBool(appendKey(b, "Join"), m.Join)
	b = appendInt(appendKey(b, "Nodes"), int64(len(m.Nodes)))
	b = appendInt(appendKey(b, "UserStateLen"), int64(len(m.UserState)))
	for i := range m.Nodes {
		b = m.Nodes[i].appendTo(b)
	}
	return append(b, m.UserState...)
}

func (m *PushPull) decodeBody(d *decoder) error {
	var h pushPullHeader
	if err := h.decode(d); err != nil {
		return err
	}
	if err := m.checkHeader(d, h); err != nil {
		return err
	}
	m.Join = h.Join
	// Each entry takes at least one byte, so size the slice by what the
	// input can hold, not by the count it claims.
	m.Nodes = make([]PushNodeState, 0, min(h.Nodes, d.remaining()))
	for i := range h.Nodes {
		m.Nodes = append(m.Nodes, PushNodeState{})
		if err := m.Nodes[i].decode(d); err != nil {
			return err
		}
	}
	if h.UserStateLen > 0 {
		b, err := d.take(h.UserStateLen)
		if err != nil {
			return err
		}
		m.UserState = append([]byte{}, b...)
	}
	return nil
}

func (m *PushPull) checkHeader(d *decoder, h pushPullHeader) error {
	if h.Nodes < 0 || h.Nodes > MaxPushStateNodes {
		return d.fail(ErrTooLarge, "push-pull node count "+strconv.Itoa(h.Nodes))
	}
	if h.UserStateLen < 0 || h.UserStateLen > MaxPushStateBytes {
		return d.fail(ErrTooLarge, "push-pull user state length "+strconv.Itoa(h.UserStateLen))
	}
	return nil
}

// userMsgHeader precedes a reliable (stream) user message.
type userMsgHeader struct {
	UserMsgLen int
}

var userMsgHeaderFields = newFieldSet("UserMsgLen")

func (h *userMsgHeader) field(d *decoder, _ int) error { return readInt(d, &h.UserMsgLen) }

func (h *userMsgHeader) decode(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, userMsgHeaderFields, &i, &err); {
		err = h.field(d, i)
	}
	return err
}

func appendUserStream(b []byte, payload []byte) []byte {
	b = appendMapHeader(append(b, byte(UserMsg)), 1)
	b = appendInt(appendKey(b, "UserMsgLen"), int64(len(payload)))
	return append(b, payload...)
}

// decodeUserStream reads the stream form of a user message (after its type
// byte): a header with the length, then the payload.
func decodeUserStream(d *decoder) (*User, error) {
	var h userMsgHeader
	if err := h.decode(d); err != nil {
		return nil, err
	}
	if h.UserMsgLen < 0 || h.UserMsgLen > MaxUserMsgBytes {
		return nil, d.fail(ErrTooLarge, "user message length "+strconv.Itoa(h.UserMsgLen))
	}
	b, err := d.take(h.UserMsgLen)
	if err != nil {
		return nil, err
	}
	var payload []byte
	if h.UserMsgLen > 0 {
		payload = append([]byte{}, b...)
	}
	return &User{Payload: payload}, nil
}
