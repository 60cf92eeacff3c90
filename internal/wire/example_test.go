package wire_test

import (
	"errors"
	"fmt"

	"github.com/rumorproject/rumor/internal/wire"
)

// A ping with an alive piggybacked, as memberlist sends a probe, wrapped in
// a CRC frame and a label, then decoded again.
func Example() {
	ping := wire.AppendMessage(nil, &wire.Ping{SeqNo: 9, Node: "b"})
	alive := wire.AppendMessage(nil, &wire.Alive{Incarnation: 1, Node: "a", Addr: []byte{127, 0, 0, 1}, Port: 7946,
		Vsn: []byte{1, 5, 2, 0, 0, 0}})
	payload, err := wire.AppendCompound(nil, ping, alive)
	if err != nil {
		panic(err)
	}
	pkt, err := wire.EncodePacket(nil, payload, wire.EncodeOptions{Label: "prod", CRC: true})
	if err != nil {
		panic(err)
	}

	p, err := wire.DecodePacket(pkt, wire.DecodeOptions{Label: "prod"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("label %q, crc %v, %d parts\n", p.Label, p.CRC, p.Compound)
	for _, m := range p.Messages {
		fmt.Printf("%s %+v\n", m.Type(), m)
	}

	// A receiver with another label drops the packet, for a reason it can count.
	_, err = wire.DecodePacket(pkt, wire.DecodeOptions{Label: "staging"})
	fmt.Println(wire.ReasonOf(err).String(), errors.Is(err, wire.ErrLabelMismatch))
	// Output:
	// label "prod", crc true, 2 parts
	// ping &{SeqNo:9 Node:b SourceAddr:[] SourcePort:0 SourceNode:}
	// alive &{Incarnation:1 Node:a Addr:[127 0 0 1] Port:7946 Meta:[] Vsn:[1 5 2 0 0 0]}
	// label mismatch true
}

// Encrypting with a keyring: the primary key encrypts, any key decrypts.
func ExampleKeyring() {
	oldKey := []byte("0123456789abcdef")
	newKey := []byte("fedcba9876543210")
	sender, _ := wire.NewKeyring(oldKey)
	receiver, _ := wire.NewKeyring(newKey, oldKey) // mid-rotation: new primary, old still accepted

	pkt, _ := wire.EncodePacket(nil, wire.AppendMessage(nil, &wire.Nack{SeqNo: 4}), wire.EncodeOptions{Keyring: sender, EncryptVersion: wire.EncryptVersion1})
	p, err := wire.DecodePacket(pkt, wire.DecodeOptions{Keyring: receiver})
	fmt.Println(p.Messages[0].Type(), "decrypted with key", p.KeyIndex, err)
	// Output: nack decrypted with key 1 <nil>
}
