package wire

// Suspect accuses Node (at Incarnation) of having failed; From names the
// accuser.
type Suspect struct {
	Incarnation uint32
	Node        string
	From        string
}

// Dead declares Node (at Incarnation) dead. When From equals Node, the node
// announced its own graceful leave.
type Dead struct {
	Incarnation uint32
	Node        string
	From        string
}

var accusationFields = newFieldSet("Incarnation", "Node", "From")

func (*Suspect) Type() MsgType { return SuspectMsg }

func (m *Suspect) AppendTo(b []byte) []byte {
	return appendAccusation(append(b, byte(SuspectMsg)), m.Incarnation, m.Node, m.From)
}

func (m *Suspect) decodeBody(d *decoder) error {
	return (*accusation)(m).decode(d)
}

func (*Dead) Type() MsgType { return DeadMsg }

func (m *Dead) AppendTo(b []byte) []byte {
	return appendAccusation(append(b, byte(DeadMsg)), m.Incarnation, m.Node, m.From)
}

func (m *Dead) decodeBody(d *decoder) error {
	return (*accusation)((*Suspect)(m)).decode(d)
}

// Left reports whether the dead message is a node's own graceful leave.
func (m *Dead) Left() bool { return m.From == m.Node }

// accusation carries the field decoder shared by Suspect and Dead, which
// have the same layout.
type accusation Suspect

func (m *accusation) field(d *decoder, i int) error {
	switch i {
	case 0:
		return readU32(d, &m.Incarnation)
	case 1:
		return readString(d, &m.Node)
	default:
		return readString(d, &m.From)
	}
}

func (m *accusation) decode(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, accusationFields, &i, &err); {
		err = m.field(d, i)
	}
	return err
}

func appendAccusation(b []byte, inc uint32, node, from string) []byte {
	b = appendMapHeader(b, 3)
	b = appendString(appendKey(b, "From"), from)
	b = appendUint(appendKey(b, "Incarnation"), uint64(inc))
	return appendString(appendKey(b, "Node"), node)
}

// Alive announces Node at Incarnation with its address, metadata and the
// six version bytes [PMin, PMax, PCur, DMin, DMax, DCur]. Addr holds the raw
// address bytes the node advertises (4 or 16 bytes); they are kept exactly,
// since memberlist compares them byte-wise.
type Alive struct {
	Incarnation uint32
	Node        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Vsn         []byte
}

var aliveFields = newFieldSet("Incarnation", "Node", "Addr", "Port", "Meta", "Vsn")

func (*Alive) Type() MsgType { return AliveMsg }

func (m *Alive) AppendTo(b []byte) []byte {
	b = appendMapHeader(append(b, byte(AliveMsg)), 6)
	b = appendBytes(appendKey(b, "Addr"), m.Addr)
	b = appendUint(appendKey(b, "Incarnation"), uint64(m.Incarnation))
	b = appendBytes(appendKey(b, "Meta"), m.Meta)
	b = appendString(appendKey(b, "Node"), m.Node)
	b = appendUint(appendKey(b, "Port"), uint64(m.Port))
	return appendBytes(appendKey(b, "Vsn"), m.Vsn)
}

func (m *Alive) decodeBody(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, aliveFields, &i, &err); {
		err = m.field(d, i)
	}
	return err
}

func (m *Alive) field(d *decoder, i int) error {
	switch i {
	case 0:
		return readU32(d, &m.Incarnation)
	case 1:
		return readString(d, &m.Node)
	case 2:
		return readBytes(d, &m.Addr)
	case 3:
		return readU16(d, &m.Port)
	case 4:
		return readBytes(d, &m.Meta)
	default:
		return readBytes(d, &m.Vsn)
	}
}

// User is an application message. In a packet it travels as the type byte
// followed by the raw payload; on a stream as a header holding the length,
// then the payload.
type User struct {
	Payload []byte
}

func (*User) Type() MsgType { return UserMsg }

func (m *User) AppendTo(b []byte) []byte { return append(append(b, byte(UserMsg)), m.Payload...) }

func (m *User) decodeBody(d *decoder) error {
	m.Payload = append([]byte{}, d.buf[d.off:]...)
	d.off = len(d.buf)
	return nil
}

// ErrResp is a stream responder's error reply (memberlist's errResp).
type ErrResp struct {
	Error string
}

var errRespFields = newFieldSet("Error")

func (*ErrResp) Type() MsgType { return ErrMsg }

func (m *ErrResp) AppendTo(b []byte) []byte {
	b = appendMapHeader(append(b, byte(ErrMsg)), 1)
	return appendString(appendKey(b, "Error"), m.Error)
}

func (m *ErrResp) decodeBody(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, errRespFields, &i, &err); {
		err = m.field(d, i)
	}
	return err
}

func (m *ErrResp) field(d *decoder, _ int) error { return readString(d, &m.Error) }
