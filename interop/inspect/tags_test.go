package inspect

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/rumorproject/rumor/internal/tags"
)

// serfEncode is Serf's encodeTags (serf/serf.go, protocol 3 and up): the
// magic byte, then the map through go-msgpack's zero-value MsgpackHandle.
// canonical sorts the keys, to compare bytes with tags.Encode.
func serfEncode(t *testing.T, m map[string]string, canonical bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteByte(255)
	h := &codec.MsgpackHandle{}
	h.Canonical = canonical
	if err := codec.NewEncoder(&buf, h).Encode(m); err != nil {
		t.Fatalf("go-msgpack encodes %v: %v", m, err)
	}
	return buf.Bytes()
}

// serfDecode is Serf's decodeTags for metadata that starts with the magic
// byte.
func serfDecode(t *testing.T, meta []byte) map[string]string {
	t.Helper()
	if len(meta) == 0 || meta[0] != 255 {
		t.Fatalf("meta %x lacks the magic byte", meta)
	}
	out := make(map[string]string)
	if err := codec.NewDecoder(bytes.NewReader(meta[1:]), &codec.MsgpackHandle{}).Decode(&out); err != nil {
		t.Fatalf("go-msgpack decodes %x: %v", meta, err)
	}
	return out
}

// tagSets are maps that reach every form go-msgpack writes: fixstr and
// str16 strings, fixmap and map16 maps, and a nil map.
func tagSets(t *testing.T) []map[string]string {
	rng := rand.New(rand.NewPCG(1, 2))
	sets := []map[string]string{
		nil,
		{},
		{"role": "web"},
		{"dc": "east", "role": "consul", "id": "a5f1", "vsn": "2", "port": "8300", "": "empty key"},
		{"long": strings.Repeat("v", 31), "longer": strings.Repeat("w", 32), "k" + strings.Repeat("x", 40): "y"},
		{"utf8": "héllo ✓", "bytes": "\x00\xff\x80"},
	}
	many := map[string]string{}
	for i := range 20 { // map16
		many[string(rune('a'+i))] = strings.Repeat("z", i)
	}
	sets = append(sets, many)
	for range 200 {
		m := map[string]string{}
		for range rng.IntN(24) {
			m[randString(rng, 1+rng.IntN(12))] = randString(rng, rng.IntN(40))
		}
		sets = append(sets, m)
	}
	return sets
}

func randString(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return string(b)
}

// TestSerfTagsDecode: what Serf writes, rumor reads.
func TestSerfTagsDecode(t *testing.T) {
	for _, m := range tagSets(t) {
		meta := serfEncode(t, m, false)
		got, err := tags.Decode(meta)
		if err != nil || got == nil {
			t.Fatalf("Decode(%x) = %v, %v", meta, got, err)
		}
		if !maps.Equal(got, m) { // nil and empty both give an empty map
			t.Errorf("Decode(%x) = %q, want %q", meta, got, m)
		}
	}
	if got := serfEncode(t, nil, false); !bytes.Equal(got, []byte{255, 0xc0}) {
		t.Errorf("Serf encodes nil tags as %x, want ff c0", got)
	}
}

// TestTagsForSerf: what rumor writes, Serf reads, and the bytes are those
// of go-msgpack with sorted keys.
func TestTagsForSerf(t *testing.T) {
	for _, m := range tagSets(t) {
		if _, ok := m[""]; ok {
			continue // Encode refuses empty keys; Serf never checks
		}
		meta, err := tags.Encode(m)
		if err != nil {
			if len(serfEncode(t, m, true)) > tags.MaxSize {
				continue // too large for memberlist: Serf refuses it too
			}
			t.Fatalf("Encode(%q): %v", m, err)
		}
		if got := serfDecode(t, meta); !maps.Equal(got, m) {
			t.Errorf("Serf decodes %x as %q, want %q", meta, got, m)
		}
		want := serfEncode(t, m, true)
		if m == nil {
			want = []byte{255, 0x80} // Encode writes no nil map: nil and empty are both no tags
		}
		if !bytes.Equal(meta, want) {
			t.Errorf("Encode(%q) = %x\ngo-msgpack canonical  %x", m, meta, want)
		}
	}
}
