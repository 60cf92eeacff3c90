package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rumorproject/rumor/internal/golden"
)

// goldenDir holds captures from real memberlist v0.7.0 nodes; see its
// README.md for the format.
var goldenDir = golden.Dir(filepath.Join("..", "..", "internal", "wire", "testdata", "golden"))

type goldenFile = golden.Vector

// companionField reports whether key is one of the fields `wire decode`
// adds to memberlist's own (see wirejson.go).
func companionField(kind, key string) bool {
	for _, suffix := range []string{"_ip", "_text", "_list", "_name"} {
		if strings.HasSuffix(key, suffix) {
			return true
		}
	}
	return kind == "push-pull" && key == "UserState" || kind == "user-header" && key == "Payload"
}

// TestGoldenWireDecode runs `wire decode` over every golden capture with
// the capture's label and keys, and checks that the printed messages are
// the ones memberlist's own codec found: same kinds, types and fields (plus
// only the documented companion fields), same layers and trailer.
func TestGoldenWireDecode(t *testing.T) {
	vectors, err := golden.Load(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range vectors {
		t.Run(g.Name, func(t *testing.T) {
			args := []string{"--compact", "--hex", g.Hex}
			if g.Label != "" {
				args = append(args, "--label", g.Label)
			}
			for _, k := range g.KeysHex {
				args = append(args, "--key", "hex:"+k)
			}
			explicit := append([]string{}, args...)
			switch {
			case g.Channel == "stream" && g.StreamSide == "acceptor":
				explicit = append(explicit, "--reply")
			case g.Channel == "stream":
				explicit = append(explicit, "--stream")
			}
			r := decodeOK(t, "", explicit...)
			checkGolden(t, &g, r)

			// Autodetection must find the same messages. (A plain stream
			// ping or ack is also a valid packet, so the channel may differ.)
			if g.StreamSide != "acceptor" || g.Label == "" {
				auto := decodeOK(t, "", args...)
				if !reflect.DeepEqual(auto.Messages, r.Messages) {
					t.Errorf("autodetected (as %s) messages differ:\n got %v\nwant %v", auto.Channel, auto.Messages, r.Messages)
				}
				if auto.Channel != g.Channel && (g.Channel == "packet" || kinds(auto) != "ping" && kinds(auto) != "ack") {
					t.Errorf("autodetected channel %s, want %s", auto.Channel, g.Channel)
				}
			}
		})
	}
}

func checkGolden(t *testing.T, g *goldenFile, r *decodeReport) {
	t.Helper()
	if r.Channel != g.Channel {
		t.Errorf("channel %s, want %s", r.Channel, g.Channel)
	}
	l, w := r.Layers, g.Layers
	if (l.Label != "") != w.Label || l.Encrypted != w.Encrypted || l.EncryptVersion != int(w.EncryptVersion) ||
		l.CRC != w.CRC || l.Compressed != w.Compressed || l.Compound != w.Compound {
		t.Errorf("layers %+v, want %+v", l, w)
	}
	if w.Label && l.Label != g.Label {
		t.Errorf("label %q, want %q", l.Label, g.Label)
	}
	if r.TruncatedParts != 0 || len(r.PartErrors) != 0 {
		t.Errorf("truncated %d, part errors %v", r.TruncatedParts, r.PartErrors)
	}
	if !reflect.DeepEqual(r.TrailerHex, g.TrailerHex) {
		t.Errorf("trailer_hex %v, want %v", deref(r.TrailerHex), deref(g.TrailerHex))
	}
	if len(r.Messages) != len(g.Messages) {
		t.Fatalf("%d messages (%s), want %d", len(r.Messages), kinds(r), len(g.Messages))
	}
	for i, want := range g.Messages {
		got := r.Messages[i]
		if got.Type != want.Type || got.Kind != want.Kind {
			t.Errorf("message %d: type %d kind %s, want type %d kind %s", i, got.Type, got.Kind, want.Type, want.Kind)
			continue
		}
		for k, v := range want.Fields {
			if gv, ok := got.Fields[k]; !ok || !reflect.DeepEqual(gv, v) {
				t.Errorf("message %d (%s): %s = %#v, want %#v", i, want.Kind, k, gv, v)
			}
		}
		for k := range got.Fields {
			if _, ok := want.Fields[k]; !ok && !companionField(want.Kind, k) {
				t.Errorf("message %d (%s): unexpected field %s", i, want.Kind, k)
			}
		}
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
