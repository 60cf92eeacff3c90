package wire

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/iotest"
)

// Fuzz targets: every decoder must reject bad input with an error, never
// panic or hang, and whatever it accepts must survive re-encoding.
//
// The seed corpora in testdata/fuzz come from the golden captures; rebuild
// them with: go test -run TestWriteFuzzCorpus -update-fuzz-corpus

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz seed files from the golden vectors")

// fuzzModes are the receiver configurations a fuzz input is tried under,
// chosen by the mode byte.
func fuzzOptions(mode uint8) DecodeOptions {
	kr, _ := NewKeyring(testKey, bytes.Repeat([]byte{0x42}, 32))
	o := DecodeOptions{}
	if mode&1 != 0 {
		o.Keyring = kr
	}
	if mode&2 != 0 {
		o.Label = "lab"
	}
	if mode&4 != 0 {
		o.AllowPlaintext = true
	}
	if mode&8 != 0 {
		o.StreamReply = true
	}
	return o
}

func FuzzDecodeMessage(f *testing.F) {
	for _, v := range messageVectors {
		f.Add(v.msg.AppendTo(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			if ReasonOf(err) == ReasonNone {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		enc := m.AppendTo(nil)
		again, err := DecodeMessage(enc)
		if err != nil {
			t.Fatalf("re-decoding %#v: %v", m, err)
		}
		// Compare encodings, not values: an empty Source field decodes as
		// empty but is omitted on encode (omitempty), so comes back nil.
		if enc2 := again.AppendTo(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed %#v into %#v", m, again)
		}
	})
}

func FuzzDecodePacket(f *testing.F) {
	for _, v := range messageVectors {
		f.Add(v.msg.AppendTo(nil), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		opts := fuzzOptions(mode)
		p, err := DecodePacket(b, opts)
		if err != nil {
			if ReasonOf(err) == ReasonNone {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if len(p.Sizes) != len(p.Messages) {
			t.Fatalf("%d sizes for %d messages", len(p.Sizes), len(p.Messages))
		}
		if len(p.Messages) == 0 {
			return // every part failed or was truncated
		}
		payload, err := p.AppendPayload(nil)
		if err != nil {
			return // e.g. more than 255 messages flattened from nested compounds
		}
		eo := p.EncodeOptions(opts.Keyring)
		eo.Label = opts.Label
		out, err := EncodePacket(nil, payload, eo)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		q, err := DecodePacket(out, opts)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", out, err)
		}
		if again, _ := q.AppendPayload(nil); !bytes.Equal(payload, again) {
			t.Fatalf("round trip changed %x into %x", payload, again)
		}
	})
}

func FuzzDecodeStream(f *testing.F) {
	pp, _ := AppendStream(nil, samplePushPull(3), EncodeOptions{})
	f.Add(pp, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		opts := fuzzOptions(mode)
		s, err := DecodeStream(b, opts)
		// Reading from a trickling socket must agree with decoding in memory.
		s2, err2 := ReadStream(iotest.OneByteReader(bytes.NewReader(b)), opts)
		if (err == nil) != (err2 == nil) || ReasonOf(err) != ReasonOf(err2) {
			t.Fatalf("DecodeStream err %v; ReadStream err %v", err, err2)
		}
		if err != nil {
			if ReasonOf(err) == ReasonNone {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("DecodeStream %+v; ReadStream %+v", s, s2)
		}
		eo := s.EncodeOptions(opts.Keyring)
		eo.Label = opts.Label
		out, err := AppendStream(nil, s.Message, eo)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		opts.StreamReply = true
		again, err := DecodeStream(out, opts)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", out, err)
		}
		if out2, _ := AppendStream(nil, again.Message, EncodeOptions{}); !bytes.Equal(out2, mustStream(t, s.Message)) {
			t.Fatalf("round trip changed %#v into %#v", s.Message, again.Message)
		}
	})
}

// TestWriteFuzzCorpus turns the golden captures into checked-in seed files.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateFuzzCorpus {
		t.Skip("run with -update-fuzz-corpus to rewrite testdata/fuzz")
	}
	for _, g := range loadGolden(t) {
		mode := uint8(0)
		if len(g.KeysHex) > 0 {
			if !bytes.Equal(unhex(t, g.KeysHex[0]), testKey) {
				continue // fuzzOptions only knows the test key
			}
			mode |= 1
		}
		switch g.Label {
		case "":
		case "lab":
			mode |= 2
		default:
			continue
		}
		target := "FuzzDecodePacket"
		if g.Channel == "stream" {
			target = "FuzzDecodeStream"
			if g.StreamSide == "acceptor" {
				mode |= 8
			}
		}
		writeSeed(t, target, g.Name, unhex(t, g.Hex), mode)
		if g.Channel == "packet" && mode == 0 {
			if p, err := DecodePacket(unhex(t, g.Hex), DecodeOptions{}); err == nil {
				for i, m := range p.Messages {
					writeSeed(t, "FuzzDecodeMessage", fmt.Sprintf("%s-%d", g.Name, i), m.AppendTo(nil), 255)
				}
			}
		}
	}
}

func writeSeed(t *testing.T, target, name string, b []byte, mode uint8) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
	if mode != 255 {
		content += fmt.Sprintf("byte(%q)\n", mode)
	}
	if err := os.WriteFile(filepath.Join(dir, "golden-"+name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustStream(t *testing.T, m Message) []byte {
	t.Helper()
	b, err := AppendStream(nil, m, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
