package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

var (
	ip4       = []byte{127, 0, 0, 1}
	vsnLatest = []byte{1, 5, 2, 0, 0, 0}
)

// messageVectors were produced by memberlist v0.7.0's own encoder; the golden
// captures in testdata/golden check the same against live nodes.
var messageVectors = []struct {
	name string
	msg  Message
	want string
}{
	{"ping minimal", &Ping{SeqNo: 1, Node: "b"}, "0082a44e6f6465a162a55365714e6f01"},
	{"ping with source", &Ping{SeqNo: 1, Node: "b", SourceAddr: []byte{10, 0, 0, 1}, SourcePort: 7946, SourceNode: "a"},
		"0085a44e6f6465a162a55365714e6f01aa536f7572636541646472a40a000001aa536f757263654e6f6465a161aa536f75726365506f7274cd1f0a"},
	{"alive", &Alive{Incarnation: 1, Node: "a", Addr: ip4, Port: 7946, Vsn: vsnLatest},
		"0486a441646472a47f000001ab496e6361726e6174696f6e01a44d657461c0a44e6f6465a161a4506f7274cd1f0aa356736ea6010502000000"},
	{"suspect", &Suspect{Incarnation: 3, Node: "b", From: "a"}, "0383a446726f6da161ab496e6361726e6174696f6e03a44e6f6465a162"},
	{"dead as left", &Dead{Incarnation: 3, Node: "b", From: "b"}, "0583a446726f6da162ab496e6361726e6174696f6e03a44e6f6465a162"},
	{"ack nil payload", &Ack{SeqNo: 1}, "0282a75061796c6f6164c0a55365714e6f01"},
	{"nack", &Nack{SeqNo: 5}, "0b81a55365714e6f05"},
	{"err", &ErrResp{Error: "x"}, "0d81a54572726f72a178"},
	{"indirect ping", &IndirectPing{SeqNo: 2, Target: []byte{10, 0, 0, 2}, Port: 7946, Node: "c", Nack: true,
		SourceAddr: []byte{10, 0, 0, 1}, SourcePort: 7946, SourceNode: "a"},
		"0188a44e61636bc3a44e6f6465a163a4506f7274cd1f0aa55365714e6f02aa536f7572636541646472a40a000001aa536f757263654e6f6465a161aa536f75726365506f7274cd1f0aa6546172676574a40a000002"},
	{"user packet", &User{Payload: []byte("hi")}, "086869"},
}

func TestAppendMessage(t *testing.T) {
	for _, tt := range messageVectors {
		got := hex.EncodeToString(AppendMessage(nil, tt.msg))
		if got != tt.want {
			t.Errorf("%s: AppendMessage = %s; want %s", tt.name, got, tt.want)
		}
	}
}

func TestDecodeMessage(t *testing.T) {
	for _, tt := range messageVectors {
		var got Message
		var err error
		if tt.msg.Type() == ErrMsg { // only ever sent on streams
			var s *Stream
			if s, err = DecodeStream(unhex(t, tt.want), DecodeOptions{StreamReply: true}); err == nil {
				got = s.Message
			}
		} else {
			got, err = DecodeMessage(unhex(t, tt.want))
		}
		if err != nil {
			t.Errorf("%s: DecodeMessage: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.msg) {
			t.Errorf("%s: DecodeMessage = %#v; want %#v", tt.name, got, tt.msg)
		}
	}
}

func TestPushPullStream(t *testing.T) {
	const want = "0683a44a6f696ec3a54e6f64657301ac5573657253746174654c656e00" +
		"87a441646472a40a000001ab496e6361726e6174696f6e01a44d657461c0a44e616d65a161a4506f7274cd1f0aa5537461746500a356736ea6010502000000"
	pp := &PushPull{Join: true, Nodes: []PushNodeState{{Name: "a", Addr: []byte{10, 0, 0, 1}, Port: 7946, Incarnation: 1, State: StateAlive, Vsn: vsnLatest}}}
	got, err := AppendStream(nil, pp, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Fatalf("AppendStream = %x; want %s", got, want)
	}
	s, err := DecodeStream(got, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Message, pp) {
		t.Fatalf("DecodeStream = %#v; want %#v", s.Message, pp)
	}
	// Compressed, the header of the compress wrapper uses str16 (da), not str8.
	got, err = AppendStream(nil, pp, EncodeOptions{Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, unhex(t, "0982a4416c676f00a3427566da0065")) {
		t.Fatalf("compressed push-pull starts %x", got[:16])
	}
	s, err = DecodeStream(got, DecodeOptions{})
	if err != nil || !s.Compressed || !reflect.DeepEqual(s.Message, pp) {
		t.Fatalf("DecodeStream(compressed) = %+v, %v", s, err)
	}
}

func TestUserStream(t *testing.T) {
	got, err := AppendStream(nil, &User{Payload: []byte("abc")}, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "0881aa557365724d73674c656e03616263"; hex.EncodeToString(got) != want {
		t.Fatalf("AppendStream(user) = %x; want %s", got, want)
	}
}

func TestIntegerEncodings(t *testing.T) {
	uints := map[uint64]string{0: "00", 127: "7f", 128: "cc80", 255: "ccff", 256: "cd0100", 65536: "ce00010000", 1 << 32: "cf0000000100000000"}
	for v, want := range uints {
		if got := hex.EncodeToString(appendUint(nil, v)); got != want {
			t.Errorf("appendUint(%d) = %s; want %s", v, got, want)
		}
	}
	ints := map[int64]string{0: "00", 127: "7f", 128: "d10080", 255: "d100ff", 32768: "d200008000", -1: "ff", -32: "e0", -33: "d0df", -129: "d1ff7f", 1 << 31: "d30000000080000000"}
	for v, want := range ints {
		if got := hex.EncodeToString(appendInt(nil, v)); got != want {
			t.Errorf("appendInt(%d) = %s; want %s", v, got, want)
		}
		d := decoder{buf: unhex(t, want)}
		if back, err := d.int(); err != nil || int64(back) != v {
			t.Errorf("int(%s) = %d, %v; want %d", want, back, err, v)
		}
	}
	raw := map[int]string{31: "bf", 32: "da0020", 65535: "daffff", 65536: "db00010000"}
	for n, want := range raw {
		if got := hex.EncodeToString(appendRawLen(nil, n)); got != want {
			t.Errorf("appendRawLen(%d) = %s; want %s", n, got, want)
		}
	}
}

// TestDecodeLenient checks the forms go-msgpack accepts and memberlist never
// sends: arrays for structs, bin and str8 for bytes, wide integers, unknown
// keys, and bool as 0/1.
func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Message
	}{
		{"struct as array", "00 93 01 a162 c4 04 0a000001", &Ping{SeqNo: 1, Node: "b", SourceAddr: []byte{10, 0, 0, 1}}},
		{"unknown key skipped", "00 83 a3 466f6f 92 01 81 a161 c3 a4 4e6f6465 a162 a5 5365714e6f ce00000007", &Ping{SeqNo: 7, Node: "b"}},
		{"str8 and bin8 bytes", "02 82 a7 5061796c6f6164 c4 02 6869 a5 5365714e6f d3 0000000000000009", &Ack{SeqNo: 9, Payload: []byte("hi")}},
		{"bytes as int array", "02 82 a7 5061796c6f6164 92 01 02 a5 5365714e6f 01", &Ack{SeqNo: 1, Payload: []byte{1, 2}}},
		{"empty bytes not nil", "02 81 a7 5061796c6f6164 a0", &Ack{Payload: []byte{}}},
		{"bool as int", "01 81 a4 4e61636b 01", &IndirectPing{Nack: true}},
		{"trailing bytes ignored", "0b 81 a5 5365714e6f 05 ffff", &Nack{SeqNo: 5}},
		{"str8 string", "03 81 a4 4e6f6465 d9 01 62", &Suspect{Node: "b"}},
	}
	for _, tt := range tests {
		got, err := DecodeMessage(unhex(t, tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v; want %#v", tt.name, got, tt.want)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Reason
	}{
		{"empty", "", ErrTruncated},
		{"unknown type", "63 80", ErrUnknownType},
		{"push-pull in a packet", "06 80", ErrUnknownType},
		{"truncated map", "00 82 a4 4e6f6465", ErrTruncated},
		{"string length beyond input", "00 81 a4 4e6f6465 db ffffffff", ErrTruncated},
		{"negative into uint", "00 81 a5 5365714e6f ff", ErrMalformed},
		{"uint32 overflow", "00 81 a5 5365714e6f cf 0000000100000000", ErrMalformed},
		{"map count beyond input", "00 df ffffffff", ErrTruncated},
		{"wrong type for string", "00 81 a4 4e6f6465 c3", ErrMalformed},
		{"deep nesting skipped", "00 81 a1 78 " + strings.Repeat("91", 40) + "00", ErrMalformed},
	}
	for _, tt := range tests {
		_, err := DecodeMessage(unhex(t, tt.in))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v; want reason %v", tt.name, err, tt.want)
		}
	}
}
