package wire

import (
	"slices"
	"testing"
)

// WalkPayload and Packet.Sizes report each message's type and encoded
// length, alone or in a compound, so that traffic can be counted by type.
func TestWalkPayloadAndSizes(t *testing.T) {
	msgs := []Message{
		&Ping{SeqNo: 7, Node: "b", SourceNode: "a"},
		&Alive{Incarnation: 2, Node: "c", Addr: []byte{127, 0, 0, 3}, Port: 7946, Vsn: []byte{1, 5, 2, 0, 0, 0}},
		&User{Payload: []byte("hello")},
	}
	var wantTypes []MsgType
	var wantSizes []int
	for _, m := range msgs {
		wantTypes = append(wantTypes, m.Type())
		wantSizes = append(wantSizes, len(m.AppendTo(nil)))
	}
	single := msgs[0].AppendTo(nil)
	compound, err := AppendCompoundMessages(nil, msgs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		n       int
	}{{"single", single, 1}, {"compound", compound, 3}} {
		var types []MsgType
		var sizes []int
		WalkPayload(tc.payload, func(mt MsgType, size int) { types = append(types, mt); sizes = append(sizes, size) })
		if !slices.Equal(types, wantTypes[:tc.n]) || !slices.Equal(sizes, wantSizes[:tc.n]) {
			t.Errorf("%s: WalkPayload got %v %v, want %v %v", tc.name, types, sizes, wantTypes[:tc.n], wantSizes[:tc.n])
		}
		for _, compress := range []bool{false, true} {
			b, err := EncodePacket(nil, tc.payload, EncodeOptions{Compress: compress})
			if err != nil {
				t.Fatal(err)
			}
			p, err := DecodePacket(b, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Sizes, wantSizes[:tc.n]) {
				t.Errorf("%s (compress %v): Sizes %v, want %v", tc.name, compress, p.Sizes, wantSizes[:tc.n])
			}
		}
	}
	// A cut compound reports the whole parts only, and never panics.
	var n int
	WalkPayload(compound[:len(compound)-3], func(MsgType, int) { n++ })
	if n != 2 {
		t.Errorf("cut compound: %d parts walked, want 2", n)
	}
	WalkPayload([]byte{byte(CompoundMsg), 200}, func(MsgType, int) { t.Error("walked a part of an empty table") })
	WalkPayload(nil, func(MsgType, int) { t.Error("walked an empty payload") })
}

// FuzzWalkPayload: walking any bytes never panics, and the parts it
// reports fit inside the payload.
func FuzzWalkPayload(f *testing.F) {
	compound, _ := AppendCompoundMessages(nil, []Message{&Ping{SeqNo: 1, Node: "a"}, &Ack{SeqNo: 1}})
	f.Add(compound)
	f.Add((&Alive{Incarnation: 1, Node: "n", Addr: []byte{127, 0, 0, 1}, Port: 1}).AppendTo(nil))
	f.Add([]byte{byte(CompoundMsg), 3, 0, 1})
	f.Add([]byte{byte(CompoundMsg)})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		WalkPayload(b, func(mt MsgType, size int) {
			if size <= 0 {
				t.Fatalf("part of size %d", size)
			}
			total += size
		})
		if total > len(b) {
			t.Fatalf("parts total %d bytes in a payload of %d", total, len(b))
		}
	})
}
