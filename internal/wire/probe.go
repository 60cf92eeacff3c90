package wire

// Ping is a direct probe (memberlist's ping). Node names the intended target
// so a node restarted under another name does not answer for the old one.
// The Source fields tell the target where to send the ack; they are omitted
// from the encoding when empty.
type Ping struct {
	SeqNo      uint32
	Node       string
	SourceAddr []byte
	SourcePort uint16
	SourceNode string
}

var pingFields = newFieldSet("SeqNo", "Node", "SourceAddr", "SourcePort", "SourceNode")

func (*Ping) Type() MsgType { return PingMsg }

func (m *Ping) AppendTo(b []byte) []byte {
	n := 2 + countSource(m.SourceAddr, m.SourcePort, m.SourceNode)
	b = appendMapHeader(append(b, byte(PingMsg)), n)
	b = appendString(appendKey(b, "Node"), m.Node)
	b = appendUint(appendKey(b, "SeqNo"), uint64(m.SeqNo))
	return appendSource(b, m.SourceAddr, m.SourcePort, m.SourceNode)
}

func (m *Ping) decodeBody(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, pingFields, &i, &err); {
		err = m.field(d, i)
	}
	return err
}

func (m *Ping) field(d *decoder, i int) error {
	switch i {
	case 0:
		return readU32(d, &m.SeqNo)
	case 1:
		return readString(d, &m.Node)
	case 2:
		return readBytes(d, &m.SourceAddr)
	case 3:
		return readU16(d, &m.SourcePort)
	default:
		return readString(d, &m.SourceNode)
	}
}

// IndirectPing asks a helper to probe Target:Port (named Node) on the
// sender's behalf (memberlist's indirectPingReq). With Nack set, the helper
// answers with a Nack when the target does not ack in time.
type IndirectPing struct {
	SeqNo      uint32
	Target     []byte
	Port       uint16
	Node       string
	Nack       bool
	SourceAddr []byte
	SourcePort uint16
	SourceNode string
}

var indirectPingFields = newFieldSet("SeqNo", "Target", "Port", "Node", "Nack", "SourceAddr", "SourcePort", "SourceNode")

func (*IndirectPing) Type() MsgType { return IndirectPingMsg }

func (m *IndirectPing) AppendTo(b []byte) []byte {
	n := 5 + countSource(m.SourceAddr, m.SourcePort, m.SourceNode)
	b = appendMapHeader(append(b, byte(IndirectPingMsg)), n)
	b = appendBool(appendKey(b, "Nack"), m.Nack)
	b = appendString(appendKey(b, "Node"), m.Node)
	b = appendUint(appendKey(b, "Port"), uint64(m.Port))
	b = appendUint(appendKey(b, "SeqNo"), uint64(m.SeqNo))
	b = appendSource(b, m.SourceAddr, m.SourcePort, m.SourceNode)
	return appendBytes(appendKey(b, "Target"), m.Target)
}

func (m *IndirectPing) decodeBody(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, indirectPingFields, &i, &err); {
		err = m.field(d, i)
	}
	return err
}

func (m *IndirectPing) field(d *decoder, i int) error {
	switch i {
	case 0:
		return readU32(d, &m.SeqNo)
	case 1:
		return readBytes(d, &m.Target)
	case 2:
		return readU16(d, &m.Port)
	case 3:
		return readString(d, &m.Node)
	case 4:
		return readBool(d, &m.Nack)
	case 5:
		return readBytes(d, &m.SourceAddr)
	case 6:
		return readU16(d, &m.SourcePort)
	default:
		return readString(d, &m.SourceNode)
	}
}

// countSource counts the Source fields that are present: memberlist tags
// them omitempty, so empty ones are left out of the map.
func countSource(addr []byte, port uint16, node string) int {
	n := 0
	if len(addr) > 0 {
		n++
	}
	if node != "" {
		n++
	}
	if port != 0 {
		n++
	}
	return n
}

func appendSource(b []byte, addr []byte, port uint16, node string) []byte {
	if len(addr) > 0 {
		b = appendBytes(appendKey(b, "SourceAddr"), addr)
	}
	if node != "" {
		b = appendString(appendKey(b, "SourceNode"), node)
	}
	if port != 0 {
		b = appendUint(appendKey(b, "SourcePort"), uint64(port))
	}
	return b
}

// Ack answers a Ping (memberlist's ackResp). Payload carries the ping
// delegate's data on direct acks and is nil on relayed and TCP acks.
type Ack struct {
	SeqNo   uint32
	Payload []byte
}

var ackFields = newFieldSet("SeqNo", "Payload")

func (*Ack) Type() MsgType { return AckMsg }

func (m *Ack) AppendTo(b []byte) []byte {
	b = appendMapHeader(append(b, byte(AckMsg)), 2)
	b = appendBytes(appendKey(b, "Payload"), m.Payload)
	return appendUint(appendKey(b, "SeqNo"), uint64(m.SeqNo))
}

func (m *Ack) decodeBody(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, ackFields, &i, &err); {
		err = m.field(d, i)
	}
	return err
}

func (m *Ack) field(d *decoder, i int) error {
	if i == 0 {
		return readU32(d, &m.SeqNo)
	}
	return readBytes(d, &m.Payload)
}

// Nack tells an indirect prober that the helper got no ack from the target.
type Nack struct {
	SeqNo uint32
}

var nackFields = newFieldSet("SeqNo")

func (*Nack) Type() MsgType { return NackMsg }

func (m *Nack) AppendTo(b []byte) []byte {
	b = appendMapHeader(append(b, byte(NackMsg)), 1)
	return appendUint(appendKey(b, "SeqNo"), uint64(m.SeqNo))
}

func (m *Nack) decodeBody(d *decoder) error {
	it, err := d.beginStruct()
	for i := 0; err == nil && d.next(&it, nackFields, &i, &err); {
		err = m.field(d, i)
	}
	return err
}

func (m *Nack) field(d *decoder, _ int) error { return readU32(d, &m.SeqNo) }
