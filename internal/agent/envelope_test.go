package agent

import (
	"bytes"
	"errors"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	in := envelope{kind: kindBroadcast, id: 1<<63 + 5, origin: "n1", payload: []byte("hello")}
	b, err := in.append(nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := parseEnvelope(b)
	if err != nil || out.kind != in.kind || out.id != in.id || out.origin != in.origin || !bytes.Equal(out.payload, in.payload) {
		t.Fatalf("round trip: %+v, %v; want %+v", out, err, in)
	}
	if _, err := parseEnvelope([]byte("hello")); !errors.Is(err, errNotEnvelope) {
		t.Errorf("bare payload: %v, want errNotEnvelope", err)
	}
	for _, bad := range [][]byte{b[:len(envelopeMagic)+5], append(append([]byte{}, b[:len(envelopeMagic)]...), 'x', 0, 0, 0, 0, 0, 0, 0, 0, 0), b[:len(envelopeMagic)+10+1]} {
		if _, err := parseEnvelope(bad); err == nil || errors.Is(err, errNotEnvelope) {
			t.Errorf("parseEnvelope(%q) = %v, want a clear error", bad, err)
		}
	}
}

func FuzzParseEnvelope(f *testing.F) {
	b, _ := (&envelope{kind: kindMessage, id: 7, origin: "a", payload: []byte("x")}).append(nil)
	f.Add(b)
	f.Add([]byte("rumor\x00"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		e, err := parseEnvelope(msg)
		if err != nil {
			return
		}
		again, err := e.append(nil)
		if err != nil || !bytes.Equal(again, msg) {
			t.Fatalf("re-encoding %q gave %q, %v", msg, again, err)
		}
	})
}
