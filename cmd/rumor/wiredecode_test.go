package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rumorproject/rumor/internal/wire"
)

var (
	key1     = []byte("0123456789abcdef")
	key2     = []byte("fedcba9876543210fedcba98")
	key1B64  = base64.StdEncoding.EncodeToString(key1)
	key2B64  = base64.StdEncoding.EncodeToString(key2)
	pingHex  = "0082a44e6f6465a162a55365714e6f01" // Ping{SeqNo: 1, Node: "b"}
	alive    = &wire.Alive{Incarnation: 3, Node: "node-a", Addr: []byte{127, 0, 0, 1}, Port: 7946, Meta: []byte("role=web"), Vsn: []byte{1, 5, 2, 0, 0, 0}}
	ping     = &wire.Ping{SeqNo: 7, Node: "b", SourceAddr: []byte{10, 0, 0, 2}, SourcePort: 7946, SourceNode: "a"}
	pushPull = &wire.PushPull{Join: true, Nodes: []wire.PushNodeState{
		{Name: "a", Addr: []byte{127, 0, 0, 1}, Port: 7946, Incarnation: 1, State: wire.StateAlive, Vsn: []byte{1, 5, 2, 0, 0, 0}},
		{Name: "b", Addr: net6(), Port: 7947, Meta: []byte{0xff}, Incarnation: 4, State: wire.StateDead, Vsn: []byte{1, 5, 2, 0, 0, 0}},
	}, UserState: []byte("hi")}
)

func net6() []byte { b := make([]byte, 16); b[15] = 1; return b } // ::1

func hexOf(b []byte, err error) string { return hex.EncodeToString(mustBytes(b, err)) }

func keyring(t *testing.T, keys ...[]byte) *wire.Keyring {
	t.Helper()
	k, err := wire.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// decodeOK runs `wire decode` and parses its JSON.
func decodeOK(t *testing.T, stdin string, args ...string) *decodeReport {
	t.Helper()
	code, out, errOut := runCmd(t, stdin, append([]string{"wire", "decode"}, args...)...)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var r decodeReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return &r
}

func kinds(r *decodeReport) string {
	var k []string
	for _, m := range r.Messages {
		k = append(k, m.Kind)
	}
	return strings.Join(k, ",")
}

func TestWireDecode(t *testing.T) {
	aliveB := wire.AppendMessage(nil, alive)
	compound, err := wire.AppendCompound(nil, wire.AppendMessage(nil, ping), aliveB)
	if err != nil {
		t.Fatal(err)
	}
	encPacket := hexOf(wire.EncodePacket(nil, compound, wire.EncodeOptions{Label: "lab", Keyring: keyring(t, key1), EncryptVersion: 1, CRC: true}))
	bigAlive := *alive
	bigAlive.Meta = bytes.Repeat([]byte("role=web;"), 20)
	v0Packet := hexOf(wire.EncodePacket(nil, wire.AppendMessage(nil, &bigAlive), wire.EncodeOptions{Keyring: keyring(t, key2), EncryptVersion: 0, Compress: true}))
	crcUser := hexOf(wire.EncodePacket(nil, []byte("\x08hello"), wire.EncodeOptions{CRC: true}))
	pushPullStream := hexOf(wire.AppendStream(nil, pushPull, wire.EncodeOptions{}))
	label, _ := wire.AppendLabelHeader(nil, "lab")
	encStream := hexOf(wire.AppendStream(label, pushPull, wire.EncodeOptions{Label: "lab", Keyring: keyring(t, key1), EncryptVersion: 1, Compress: true}))
	replyStream := hexOf(wire.AppendStream(nil, pushPull, wire.EncodeOptions{Label: "lab", Keyring: keyring(t, key1), EncryptVersion: 1}))
	userStream := hexOf(wire.AppendStream(nil, &wire.User{Payload: []byte("note")}, wire.EncodeOptions{}))

	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, r *decodeReport)
	}{
		{"plain ping", []string{"--hex", pingHex}, func(t *testing.T, r *decodeReport) {
			want := map[string]any{"SeqNo": 1.0, "Node": "b", "SourceAddr": nil, "SourcePort": 0.0, "SourceNode": ""}
			if r.Channel != "packet" || r.Bytes != 16 || len(r.Messages) != 1 || !reflect.DeepEqual(r.Messages[0].Fields, want) {
				t.Errorf("got %+v", r)
			}
		}},
		{"alive", []string{"--hex", hex.EncodeToString(aliveB)}, func(t *testing.T, r *decodeReport) {
			want := map[string]any{
				"Incarnation": 3.0, "Node": "node-a", "Addr": "7f000001", "Addr_ip": "127.0.0.1:7946", "Port": 7946.0,
				"Meta": "726f6c653d776562", "Meta_text": "role=web", "Vsn": "010502000000", "Vsn_list": []any{1.0, 5.0, 2.0, 0.0, 0.0, 0.0},
			}
			if kinds(r) != "alive" || r.Messages[0].Type != 4 || !reflect.DeepEqual(r.Messages[0].Fields, want) {
				t.Errorf("got %+v", r.Messages)
			}
		}},
		{"compound", []string{"--hex", hex.EncodeToString(compound)}, func(t *testing.T, r *decodeReport) {
			if kinds(r) != "ping,alive" || r.Layers.Compound != 2 || r.Messages[0].Fields["SourceAddr_ip"] != "10.0.0.2:7946" {
				t.Errorf("got %+v", r)
			}
		}},
		{"encrypted labelled packet", []string{"--hex", encPacket, "--key", key2B64, "--key", "hex:" + hex.EncodeToString(key1), "--label", "lab"}, func(t *testing.T, r *decodeReport) {
			l := r.Layers
			if kinds(r) != "ping,alive" || l.Label != "lab" || !l.Encrypted || l.EncryptVersion != 1 || !l.CRC || l.Compound != 2 || len(l.Nonce) != 24 {
				t.Errorf("got %+v", r)
			}
		}},
		{"encryption v0 compressed", []string{"--hex", v0Packet, "--key", key2B64}, func(t *testing.T, r *decodeReport) {
			if kinds(r) != "alive" || r.Layers.EncryptVersion != 0 || !r.Layers.Encrypted || !r.Layers.Compressed {
				t.Errorf("got %+v", r)
			}
		}},
		{"plaintext allowed", []string{"--hex", pingHex, "--key", key1B64, "--allow-plaintext"}, func(t *testing.T, r *decodeReport) {
			if kinds(r) != "ping" || r.Layers.Encrypted {
				t.Errorf("got %+v", r)
			}
		}},
		{"crc user", []string{"--hex", crcUser}, func(t *testing.T, r *decodeReport) {
			f := r.Messages[0].Fields
			if kinds(r) != "user" || !r.Layers.CRC || f["Payload"] != "68656c6c6f" || f["Payload_text"] != "hello" {
				t.Errorf("got %+v", r)
			}
		}},
		{"push-pull autodetected", []string{"--hex", pushPullStream}, checkPushPull("", false)},
		{"push-pull --stream", []string{"--hex", pushPullStream, "--stream"}, checkPushPull("", false)},
		{"encrypted labelled stream", []string{"--hex", encStream, "--key", key1B64, "--label", "lab"}, checkPushPull("lab", true)},
		{"encrypted stream reply", []string{"--hex", replyStream, "--key", key1B64, "--label", "lab", "--reply"}, checkPushPull("", true)},
		{"user stream", []string{"--hex", userStream}, func(t *testing.T, r *decodeReport) {
			f := r.Messages[0].Fields
			if r.Channel != "stream" || kinds(r) != "user-header" || f["UserMsgLen"] != 4.0 || f["Payload_text"] != "note" || *r.TrailerHex != "6e6f7465" {
				t.Errorf("got %+v", r)
			}
		}},
		{"compound with bad parts", []string{"--hex", "07" + "03" + "0010" + "0002" + "0009" + pingHex + "04c1" + "00"}, func(t *testing.T, r *decodeReport) {
			if kinds(r) != "ping" || r.Layers.Compound != 2 || r.TruncatedParts != 1 || len(r.PartErrors) != 1 {
				t.Fatalf("got %+v", r)
			}
			if pe := r.PartErrors[0]; pe.Layer != "compound part 1: alive" || pe.Offset != 1 || pe.Reason != "malformed" || !strings.HasPrefix(pe.Error, "compound part 1: alive at offset 1: malformed") {
				t.Errorf("part error %+v", pe)
			}
		}},
		{"loose hex", []string{"--hex", "0x00, 0x82:a4-4e 6f\n64\\x65a162a55365714e6f01"}, func(t *testing.T, r *decodeReport) {
			if kinds(r) != "ping" || r.Bytes != 16 {
				t.Errorf("got %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, decodeOK(t, "", tt.args...)) })
	}
}

func checkPushPull(label string, encrypted bool) func(t *testing.T, r *decodeReport) {
	return func(t *testing.T, r *decodeReport) {
		t.Helper()
		if r.Channel != "stream" || kinds(r) != "push-pull,push-node-state,push-node-state" {
			t.Fatalf("got %+v", r)
		}
		if r.Layers.Label != label || r.Layers.Encrypted != encrypted {
			t.Errorf("layers %+v", r.Layers)
		}
		h := r.Messages[0].Fields
		if h["Join"] != true || h["Nodes"] != 2.0 || h["UserStateLen"] != 2.0 || h["UserState_text"] != "hi" || *r.TrailerHex != "6869" {
			t.Errorf("header %v, trailer %v", h, r.TrailerHex)
		}
		n := r.Messages[2].Fields
		if n["Name"] != "b" || n["Addr_ip"] != "[::1]:7947" || n["State"] != 2.0 || n["State_name"] != "dead" || n["Meta"] != "ff" || n["Meta_text"] != nil {
			t.Errorf("node %v", n)
		}
	}
}

func TestWireDecodeInput(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "ping.bin")
	b, _ := hex.DecodeString(pingHex)
	if err := os.WriteFile(raw, b, 0o644); err != nil {
		t.Fatal(err)
	}
	hexFile := filepath.Join(dir, "ping.hex")
	if err := os.WriteFile(hexFile, []byte("00 82 a4 4e 6f 64 65 a1\n62 a5 53 65 71 4e 6f 01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"raw file", "", []string{raw}},
		{"raw file forced", "", []string{"--raw", raw}},
		{"hex file", "", []string{hexFile}},
		{"hex file forced", "", []string{"--format", "hex", hexFile}},
		{"hex stdin", pingHex + "\n", nil},
		{"hex stdin dash", pingHex, []string{"-"}},
		{"raw stdin", string(b), []string{"--format=raw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decodeOK(t, tt.stdin, tt.args...)
			if kinds(r) != "ping" || r.Bytes != 16 {
				t.Errorf("got %+v", r)
			}
		})
	}
}

func TestWireDecodeErrors(t *testing.T) {
	aliveB := wire.AppendMessage(nil, alive)
	nonce := bytes.NewReader([]byte("fixed nonce!"))
	enc := hexOf(wire.EncodePacket(nil, aliveB, wire.EncodeOptions{Keyring: keyring(t, key1), EncryptVersion: 1, Rand: nonce}))
	labelled := hexOf(wire.EncodePacket(nil, aliveB, wire.EncodeOptions{Label: "lab"}))
	label, _ := wire.AppendLabelHeader(nil, "lab")
	encStream := hexOf(wire.AppendStream(label, pushPull, wire.EncodeOptions{Label: "lab", Keyring: keyring(t, key1), EncryptVersion: 1}))
	replyStream := hexOf(wire.AppendStream(nil, pushPull, wire.EncodeOptions{Label: "lab", Keyring: keyring(t, key1), EncryptVersion: 1}))
	tests := []struct {
		name string
		args []string
		want string // substring of the one-line stderr
	}{
		{"wrong key", []string{"--hex", enc, "--key", key2B64}, "rumor: wire decode: encryption at offset 0: no key decrypts: tried 1 keys"},
		{"no key", []string{"--hex", enc}, "indirect-ping at offset 1: malformed: want a map or array for a struct, got 0x66"},
		{"no key hint", []string{"--hex", enc}, "(if the input is encrypted, add --key)"},
		{"plain with key", []string{"--hex", pingHex, "--key", key1B64}, "add --allow-plaintext"},
		{"wrong label", []string{"--hex", labelled, "--label", "other"}, `label at offset 0: label mismatch: got "lab", want "other"`},
		{"missing label", []string{"--hex", labelled}, `label mismatch: got "lab", want ""`},
		{"stream wrong key", []string{"--hex", encStream, "--key", key2B64, "--label", "lab"}, "encryption at offset 10: no key decrypts"},
		{"stream no key", []string{"--hex", encStream, "--label", "lab"}, "encrypted but no keyring (add --key)"},
		{"stream wrong label", []string{"--hex", encStream, "--key", key1B64, "--label", "lax"}, "label mismatch"},
		{"reply without --reply", []string{"--hex", replyStream, "--key", key1B64, "--label", "lab"}, "add --reply"},
		{"truncated push-pull", []string{"--hex", hexOf(wire.AppendStream(nil, pushPull, wire.EncodeOptions{}))[:40]}, "truncated"},
		{"truncated ping", []string{"--hex", pingHex[:20]}, "ping at offset"},
		{"garbage", []string{"--hex", "deadbeef"}, "unknown message type"},
		{"empty hex", []string{"--hex", " 0x "}, "invalid hex"},
		{"bad hex", []string{"--hex", "0q"}, "invalid hex"},
		{"odd hex", []string{"--hex", "008"}, "odd number of digits"},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "", append([]string{"wire", "decode"}, tt.args...)...)
			if code != exitFail {
				t.Errorf("exit %d, want %d", code, exitFail)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "rumor: wire decode: ") {
				t.Errorf("stderr %q, want one line with %q", errOut, tt.want)
			}
		})
	}
}

// TestWireDecodeGarbage feeds random and mangled inputs through every mode:
// each must exit 0 or 1 with one line on stderr, never panic.
func TestWireDecodeGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seeds := [][]byte{
		wire.AppendMessage(nil, alive),
		mustBytes(wire.AppendStream(nil, pushPull, wire.EncodeOptions{Compress: true})),
		mustBytes(wire.EncodePacket(nil, wire.AppendMessage(nil, ping), wire.EncodeOptions{Label: "lab", Keyring: keyring(t, key1), CRC: true, Compress: true})),
	}
	modes := [][]string{nil, {"--stream"}, {"--reply"}, {"--key", key1B64, "--label", "lab"}, {"--key", key1B64, "--allow-plaintext"}}
	for i := range 300 {
		in := bytes.Clone(seeds[i%len(seeds)])
		switch i % 3 {
		case 0:
			in = in[:rng.IntN(len(in))]
		case 1:
			in[rng.IntN(len(in))] ^= byte(1 + rng.IntN(255))
		default:
			in = make([]byte, 1+rng.IntN(64))
			for j := range in {
				in[j] = byte(rng.Uint32())
			}
		}
		if len(in) == 0 {
			continue
		}
		args := append([]string{"wire", "decode", "--compact", "--hex", hex.EncodeToString(in)}, modes[i%len(modes)]...)
		code, out, errOut := runCmd(t, "", args...)
		switch {
		case code == exitOK && json.Valid([]byte(out)) && errOut == "":
		case code == exitFail && out == "" && strings.Count(errOut, "\n") == 1 && !strings.Contains(errOut, "internal error"):
		default:
			t.Fatalf("%x %v: exit %d, stdout %q, stderr %q", in, modes[i%len(modes)], code, out, errOut)
		}
	}
}

func mustBytes(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func Example_wireDecode() {
	run([]string{"wire", "decode", "--compact", "--hex", "0082a44e6f6465a162a55365714e6f01"}, nil, os.Stdout, os.Stderr)
	// Output:
	// {"channel":"packet","bytes":16,"layers":{"label":"","encrypted":false,"encrypt_version":0,"crc":false,"compressed":false,"compound":0},"messages":[{"type":0,"kind":"ping","fields":{"Node":"b","SeqNo":1,"SourceAddr":null,"SourceNode":"","SourcePort":0}}],"trailer_hex":null,"truncated_parts":0,"part_errors":[]}
}
