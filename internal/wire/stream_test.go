package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"
	"testing/iotest"
)

func samplePushPull(n int) *PushPull {
	pp := &PushPull{Join: true, UserState: []byte("user-state")}
	for i := range n {
		pp.Nodes = append(pp.Nodes, PushNodeState{
			Name: "node-" + itoa3(i), Addr: []byte{10, 0, byte(i >> 8), byte(i)}, Port: 7946,
			Meta: []byte("role=web"), Incarnation: uint32(i + 1), State: NodeState(i % 4), Vsn: vsnLatest,
		})
	}
	return pp
}

func itoa3(i int) string {
	return string([]byte{byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}

func TestStreamLayers(t *testing.T) {
	kr := testKeyring(t)
	pp := samplePushPull(40)
	for _, opts := range []EncodeOptions{
		{},
		{Compress: true},
		{Keyring: kr, EncryptVersion: 1},
		{Keyring: kr, EncryptVersion: 0, Label: "lab", Compress: true},
	} {
		payload, err := AppendStream(nil, pp, opts)
		if err != nil {
			t.Fatal(err)
		}
		dialer, _ := AppendLabelHeader(nil, opts.Label)
		dialer = append(dialer, payload...)
		dec := DecodeOptions{Label: opts.Label, Keyring: opts.Keyring}
		// Read byte by byte, as from a slow socket, and all at once.
		for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(dialer)), bytes.NewReader(dialer)} {
			s, err := ReadStream(r, dec)
			if err != nil {
				t.Fatalf("%+v: ReadStream: %v", opts, err)
			}
			if !reflect.DeepEqual(s.Message, pp) || s.Compressed != opts.Compress || s.Encrypted != (opts.Keyring != nil) {
				t.Fatalf("%+v: got %+v", opts, s)
			}
			again, err := AppendStream(nil, s.Message, s.EncodeOptions(kr))
			if opts.Keyring == nil && (err != nil || !bytes.Equal(again, payload)) {
				t.Fatalf("%+v: re-encode differs", opts)
			}
			if opts.Keyring != nil && (err != nil || !bytes.Equal(again, payload)) {
				t.Fatalf("%+v: re-encode with recorded nonce differs", opts)
			}
		}
		// The reply on the same connection has no label header, yet the
		// label authenticates it.
		dec.StreamReply = true
		if _, err := DecodeStream(payload, dec); err != nil {
			t.Fatalf("%+v: reply: %v", opts, err)
		}
		if opts.Keyring != nil && opts.Label != "" {
			dec.Label = "other"
			if _, err := DecodeStream(payload, dec); !errors.Is(err, ErrNoKey) {
				t.Fatalf("reply under the wrong label: %v; want %v", err, ErrNoKey)
			}
		}
	}
}

func TestStreamRejects(t *testing.T) {
	kr := testKeyring(t)
	plain, _ := AppendStream(nil, &User{Payload: []byte("x")}, EncodeOptions{})
	enc, _ := AppendStream(nil, &User{Payload: []byte("x")}, EncodeOptions{Keyring: kr, EncryptVersion: 1})
	other := testKeyring(t, bytes.Repeat([]byte{3}, 24))
	tests := []struct {
		name string
		in   []byte
		opts DecodeOptions
		want Reason
	}{
		{"empty", nil, DecodeOptions{}, ErrTruncated},
		{"encrypted without keyring", enc, DecodeOptions{}, ErrNoKeyring},
		{"plain when encryption required", plain, DecodeOptions{Keyring: kr}, ErrNotEncrypted},
		{"wrong key", enc, DecodeOptions{Keyring: other}, ErrNoKey},
		{"label missing", plain, DecodeOptions{Label: "x"}, ErrLabelMismatch},
		{"huge encrypted length", unhexMust("0a7fffffff01"), DecodeOptions{Keyring: kr}, ErrTooLarge},
		{"truncated encrypted body", enc[:len(enc)-1], DecodeOptions{Keyring: kr}, ErrTruncated},
		{"user length over limit", unhexMust("0881aa557365724d73674c656ed202000000"), DecodeOptions{}, ErrTooLarge},
		{"user body truncated", unhexMust("0881aa557365724d73674c656e0561"), DecodeOptions{}, ErrTruncated},
		{"push-pull node count over limit", unhexMust("0683a44a6f696ec2a54e6f646573d200200000ac5573657253746174654c656e00"), DecodeOptions{}, ErrTooLarge},
		{"push-pull negative user state", unhexMust("0683a44a6f696ec2a54e6f64657300ac5573657253746174654c656eff"), DecodeOptions{}, ErrTooLarge},
		{"push-pull nodes missing", unhexMust("0683a44a6f696ec2a54e6f64657305ac5573657253746174654c656e00"), DecodeOptions{}, ErrTruncated},
		{"compound on a stream", unhexMust("070100"), DecodeOptions{}, ErrUnknownType},
		{"empty decompressed", AppendCompressed(nil, nil), DecodeOptions{}, ErrMalformed},
	}
	for _, tt := range tests {
		_, err := DecodeStream(tt.in, tt.opts)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v; want reason %v", tt.name, err, tt.want)
		}
		_, err = ReadStream(iotest.HalfReader(bytes.NewReader(tt.in)), tt.opts)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s (reader): err = %v; want reason %v", tt.name, err, tt.want)
		}
	}
}

// A peer that claims a huge string and then trickles bytes costs memory in
// proportion to what it sends, not to what it claims.
func TestReadStreamClaimsDoNotAllocate(t *testing.T) {
	claim := unhexMust("0881aa557365724d73674c656ed201000000") // 16 MiB user message, no body
	_, err := ReadStream(bytes.NewReader(claim), DecodeOptions{})
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v; want %v", err, ErrTruncated)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _ = ReadStream(bytes.NewReader(claim), DecodeOptions{})
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Errorf("ReadStream of an 18-byte claim allocated %d bytes", got)
	}
}
