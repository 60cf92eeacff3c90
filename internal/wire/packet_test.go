package wire

import (
	"bytes"
	"compress/lzw"
	"encoding/hex"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

var (
	testKey   = unhexMust("000102030405060708090a0b0c0d0e0f")
	testNonce = unhexMust("a0a1a2a3a4a5a6a7a8a9aaab")
	minPing   = unhexMust("0082a44e6f6465a162a55365714e6f01")
)

func unhexMust(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func testKeyring(t testing.TB, keys ...[]byte) *Keyring {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{testKey}
	}
	k, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Vectors computed with memberlist v0.7.0's encryptPayload, compressPayload
// and rawSendMsgPacket (see the wire doc).
func TestEncodePacketVectors(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		opts    EncodeOptions
		want    string
	}{
		{"crc", minPing, EncodeOptions{CRC: true}, "0c04c039bb" + hex.EncodeToString(minPing)},
		{"crc user", unhexMust("086869"), EncodeOptions{CRC: true}, "0c6818b0f9086869"},
		{"label", minPing, EncodeOptions{Label: "lab"}, "f4036c6162" + hex.EncodeToString(minPing)},
		{"encrypt v1", minPing, EncodeOptions{Keyring: testKeyring(t), EncryptVersion: 1, Rand: fixedReader(testNonce)},
			"01a0a1a2a3a4a5a6a7a8a9aaabaa049cf511ed56abe8dde665375cdf613536641e3f5c9467b9e90fe9b01fd046"},
		{"encrypt v1 label", minPing, EncodeOptions{Label: "lab", Keyring: testKeyring(t), EncryptVersion: 1, Rand: fixedReader(testNonce)},
			"f4036c616201a0a1a2a3a4a5a6a7a8a9aaabaa049cf511ed56abe8dde665375cdf6145b6e5f0f9c49bbd08824e395baa8d45"},
		{"encrypt v0", minPing, EncodeOptions{Keyring: testKeyring(t), EncryptVersion: 0, Rand: fixedReader(testNonce)},
			"00a0a1a2a3a4a5a6a7a8a9aaabaa049cf511ed56abe8dde665375cdf6143fe331893072dbf3500618b529d9fb8b6a15defdee9fdfd2c2201915ede88e6"},
	}
	for _, tt := range tests {
		got, err := EncodePacket(nil, tt.payload, tt.opts)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("%s: EncodePacket = %x; want %s", tt.name, got, tt.want)
		}
		dec := DecodeOptions{Label: tt.opts.Label, Keyring: tt.opts.Keyring}
		p, err := DecodePacket(got, dec)
		if err != nil {
			t.Errorf("%s: DecodePacket: %v", tt.name, err)
			continue
		}
		want, _ := DecodeMessage(tt.payload)
		if len(p.Messages) != 1 || !reflect.DeepEqual(p.Messages[0], want) {
			t.Errorf("%s: DecodePacket messages = %#v; want %#v", tt.name, p.Messages, want)
		}
	}
}

func TestCompressVector(t *testing.T) {
	const want = "0982a4416c676f00a3427566b400010822e5e40d9932a1c4949a52264ec1000101"
	if got := hex.EncodeToString(AppendCompressed(nil, minPing)); got != want {
		t.Fatalf("AppendCompressed = %s; want %s", got, want)
	}
	// A 16-byte ping does not shrink, so a packet keeps it plain.
	got, _ := EncodePacket(nil, minPing, EncodeOptions{Compress: true})
	if !bytes.Equal(got, minPing) {
		t.Fatalf("EncodePacket(compress, small) = %x; want it unchanged", got)
	}
	p, err := DecodePacket(unhexMust(want), DecodeOptions{})
	if err != nil || !p.Compressed || len(p.Messages) != 1 {
		t.Fatalf("DecodePacket(compressed) = %+v, %v", p, err)
	}
}

func TestCompoundRoundTrip(t *testing.T) {
	sus := AppendMessage(nil, &Suspect{Incarnation: 3, Node: "b", From: "a"})
	c, err := AppendCompound(nil, minPing, sus)
	if err != nil {
		t.Fatal(err)
	}
	if want := "070200100" + "01d"; !strings.HasPrefix(hex.EncodeToString(c), want) {
		t.Fatalf("compound header %x; want prefix %s", c[:6], want)
	}
	// Enough repeats to make compression win, with CRC, encryption and label.
	parts := [][]byte{}
	for range 20 {
		parts = append(parts, sus)
	}
	c, _ = AppendCompound(nil, parts...)
	kr := testKeyring(t)
	pkt, err := EncodePacket(nil, c, EncodeOptions{Label: "l", Keyring: kr, EncryptVersion: 1, Compress: true, CRC: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePacket(pkt, DecodeOptions{Label: "l", Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Compressed || !p.CRC || !p.Encrypted || p.Compound != 20 || len(p.Messages) != 20 {
		t.Fatalf("layers = %+v", p)
	}
	again, err := EncodePacket(nil, mustPayload(t, p), p.EncodeOptions(kr))
	if err != nil || !bytes.Equal(again, pkt) {
		t.Fatalf("re-encode differs:\n got %x\nwant %x (%v)", again, pkt, err)
	}
}

func mustPayload(t *testing.T, p *Packet) []byte {
	t.Helper()
	b, err := p.AppendPayload(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCompoundTruncatedPartsKept(t *testing.T) {
	c, _ := AppendCompound(nil, minPing, minPing)
	p, err := DecodePacket(c[:len(c)-3], DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 1 || p.Truncated != 1 {
		t.Fatalf("got %d messages, %d truncated; want 1 and 1", len(p.Messages), p.Truncated)
	}
	bad, _ := AppendCompound(nil, minPing, []byte{0x63})
	p, err = DecodePacket(bad, DecodeOptions{})
	if err != nil || len(p.Messages) != 1 || len(p.PartErrors) != 1 || !errors.Is(p.PartErrors[0], ErrUnknownType) {
		t.Fatalf("bad part: %+v, %v", p, err)
	}
}

func TestKeyringRotation(t *testing.T) {
	k1, k2 := testKey, bytes.Repeat([]byte{7}, 32)
	old := testKeyring(t, k1)
	both := testKeyring(t, k1, k2)
	pkt, _ := EncodePacket(nil, minPing, EncodeOptions{Keyring: old, EncryptVersion: 1})
	if _, err := DecodePacket(pkt, DecodeOptions{Keyring: both}); err != nil {
		t.Fatalf("secondary key should decrypt: %v", err)
	}
	if err := both.UseKey(k2); err != nil {
		t.Fatal(err)
	}
	if err := both.RemoveKey(k2); err == nil {
		t.Fatal("removing the primary key succeeded")
	}
	if err := both.RemoveKey(k1); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodePacket(pkt, DecodeOptions{Keyring: both}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("removed key still decrypts: %v", err)
	}
	if got := both.Keys(); len(got) != 1 || !bytes.Equal(got[0], k2) {
		t.Fatalf("Keys = %x", got)
	}
	if _, err := NewKeyring([]byte("short")); err == nil {
		t.Fatal("5-byte key accepted")
	}
}

func TestDecodePacketRejects(t *testing.T) {
	kr := testKeyring(t)
	enc, _ := EncodePacket(nil, minPing, EncodeOptions{Keyring: kr, EncryptVersion: 1})
	labelled, _ := EncodePacket(nil, minPing, EncodeOptions{Label: "a"})
	crcBad := AppendCRC(nil, minPing)
	crcBad[len(crcBad)-1] ^= 1
	other := testKeyring(t, bytes.Repeat([]byte{9}, 16))
	tests := []struct {
		name string
		in   []byte
		opts DecodeOptions
		want Reason
	}{
		{"label mismatch", labelled, DecodeOptions{Label: "b"}, ErrLabelMismatch},
		{"label missing", minPing, DecodeOptions{Label: "b"}, ErrLabelMismatch},
		{"unexpected label", labelled, DecodeOptions{}, ErrLabelMismatch},
		{"empty label header", unhexMust("f400"), DecodeOptions{}, ErrBadLabel},
		{"truncated label", unhexMust("f40561"), DecodeOptions{}, ErrTruncated},
		{"wrong key", enc, DecodeOptions{Keyring: other}, ErrNoKey},
		{"short plaintext when encryption required", minPing, DecodeOptions{Keyring: kr}, ErrTruncated},
		{"plaintext when encryption required", AppendMessage(nil, &Alive{Node: "x", Vsn: vsnLatest}), DecodeOptions{Keyring: kr}, ErrBadEncryptVersion},
		{"bad encryption version", append([]byte{2}, enc[1:]...), DecodeOptions{Keyring: kr}, ErrBadEncryptVersion},
		{"short ciphertext", enc[:20], DecodeOptions{Keyring: kr}, ErrTruncated},
		{"bad crc", crcBad, DecodeOptions{}, ErrBadCRC},
		{"bad compress algo", unhexMust("0982a4416c676f01a3427566a0"), DecodeOptions{}, ErrBadCompression},
		{"corrupt lzw", unhexMust("0982a4416c676f00a3427566a3ffffff"), DecodeOptions{}, ErrBadCompression},
		{"empty packet", nil, DecodeOptions{}, ErrTruncated},
		{"compound short table", unhexMust("070300"), DecodeOptions{}, ErrTruncated},
	}
	for _, tt := range tests {
		_, err := DecodePacket(tt.in, tt.opts)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v; want reason %v", tt.name, err, tt.want)
		}
	}
	// With AllowPlaintext, a plain packet is read even though a keyring is set.
	if _, err := DecodePacket(minPing, DecodeOptions{Keyring: kr, AllowPlaintext: true}); err != nil {
		t.Errorf("AllowPlaintext: %v", err)
	}
}

// An LZW bomb must stop at the limit rather than allocate its full size.
func TestLZWBombStopsAtLimit(t *testing.T) {
	var buf bytes.Buffer
	w := lzw.NewWriter(&buf, lzw.LSB, 8)
	_, _ = w.Write(make([]byte, 8<<20)) // 8 MiB of zeros compresses to a few KiB
	_ = w.Close()
	bomb := appendBytes(appendKey(appendUint(appendKey(appendMapHeader([]byte{byte(CompressMsg)}, 2), "Algo"), 0), "Buf"), buf.Bytes())
	_, err := DecodePacket(bomb, DecodeOptions{})
	if !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("bomb of %d bytes: err = %v; want %v", len(bomb), err, ErrDecompressedTooLarge)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _ = DecodePacket(bomb, DecodeOptions{})
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4*DefaultMaxPacketDecompressed {
		t.Errorf("decoding the bomb allocated %d bytes; want at most %d", got, 4*DefaultMaxPacketDecompressed)
	}
	// Within a larger limit it inflates, and fails later as a garbage message.
	if _, err := DecodePacket(bomb, DecodeOptions{MaxDecompressed: 16 << 20}); errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("within a 16 MiB limit: %v", err)
	}
}

func TestAppendCompoundMessages(t *testing.T) {
	msgs := []Message{&Ping{SeqNo: 1, Node: "b"}, &Suspect{Incarnation: 3, Node: "b", From: "a"}, &User{Payload: []byte("x")}}
	parts := make([][]byte, len(msgs))
	for i, m := range msgs {
		parts[i] = m.AppendTo(nil)
	}
	want, _ := AppendCompound([]byte("prefix"), parts...)
	got, err := AppendCompoundMessages([]byte("prefix"), msgs)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("AppendCompoundMessages = %x, %v; want %x", got, err, want)
	}
	big := &User{Payload: make([]byte, 70000)}
	if got, err := AppendCompoundMessages([]byte("p"), []Message{big}); err == nil || string(got) != "p" {
		t.Fatalf("oversized part: %q, %v; want an error and dst unchanged", got[:min(len(got), 4)], err)
	}
	if _, err := AppendCompoundMessages(nil, make([]Message, 256)); err == nil {
		t.Fatal("256 parts accepted")
	}
}
