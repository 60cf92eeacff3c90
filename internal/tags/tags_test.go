package tags

import (
	"bytes"
	"encoding/hex"
	"errors"
	"maps"
	"runtime"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncodeBytes pins the exact bytes, written out by hand from the
// msgpack spec and go-msgpack's default handle (fixstr/str16, fixmap/map16;
// interop/inspect checks them against go-msgpack itself).
func TestEncodeBytes(t *testing.T) {
	long := strings.Repeat("v", 40)
	many := map[string]string{}
	for _, k := range strings.Split("a b c d e f g h i j k l m n o p", " ") {
		many[k] = ""
	}
	tests := []struct {
		name string
		tags map[string]string
		want string
	}{
		{"nil", nil, "ff 80"},
		{"empty", map[string]string{}, "ff 80"},
		{"one", map[string]string{"role": "web"}, "ff 81 a4726f6c65 a3776562"},
		{"sorted", map[string]string{"dc": "x", "b": "", "role": "y"},
			"ff 83 a162 a0 a26463 a178 a4726f6c65 a179"},
		{"str16 value", map[string]string{"k": long}, "ff 81 a16b da0028" + strings.Repeat("76", 40)},
		{"map16", many, "ff de0010 a161a0 a162a0 a163a0 a164a0 a165a0 a166a0 a167a0 a168a0 a169a0 a16aa0 a16ba0 a16ca0 a16da0 a16ea0 a16fa0 a170a0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.tags)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("Encode = %x\nwant     %x", got, want)
			}
			back, err := Decode(got)
			if err != nil {
				t.Fatalf("Decode(Encode) = %v", err)
			}
			if back == nil || !maps.Equal(back, tt.tags) {
				t.Errorf("Decode(Encode) = %v, want %v", back, tt.tags)
			}
		})
	}
}

func TestEncodeLimits(t *testing.T) {
	// 1 magic + 1 fixmap + 2 for "k" + 3 for a str16 header = 7 bytes
	// around the value.
	fits := map[string]string{"k": strings.Repeat("x", MaxSize-7)}
	b, err := Encode(fits)
	if err != nil || len(b) != MaxSize {
		t.Errorf("Encode of exactly %d bytes: %d bytes, %v", MaxSize, len(b), err)
	}
	over := map[string]string{"k": strings.Repeat("x", MaxSize-6)}
	if b, err := Encode(over); !errors.Is(err, ErrTooLarge) || b != nil {
		t.Errorf("Encode of %d bytes: %x, %v; want ErrTooLarge", MaxSize+1, b, err)
	}
	huge := map[string]string{"k": strings.Repeat("x", 1<<17)} // would be str32
	if _, err := Encode(huge); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Encode of a 128 KiB value: %v; want ErrTooLarge", err)
	}
	if _, err := Encode(map[string]string{"": "v"}); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("Encode with an empty key: %v; want ErrEmptyKey", err)
	}
}

func TestEncodeDeterministic(t *testing.T) {
	tags := map[string]string{}
	for _, k := range strings.Fields("z y x w v u t s r q p o n m l k j i h g f e d c b a") {
		tags[k] = k + k
	}
	first, err := Encode(tags)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 { // map iteration order differs from run to run
		again, _ := Encode(maps.Clone(tags))
		if !bytes.Equal(first, again) {
			t.Fatalf("Encode is not deterministic:\n%x\n%x", first, again)
		}
	}
}

// TestDecodeForms: every string and map form another msgpack encoder may
// write is read, not only the ones go-msgpack's default handle writes.
func TestDecodeForms(t *testing.T) {
	want := map[string]string{"role": "web"}
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"fixstr fixmap", "ff 81 a4726f6c65 a3776562", want},
		{"str8", "ff 81 d904726f6c65 d903776562", want},
		{"str16", "ff 81 da0004726f6c65 da0003776562", want},
		{"str32", "ff 81 db00000004726f6c65 db00000003776562", want},
		{"bin8", "ff 81 c404726f6c65 c403776562", want},
		{"bin16", "ff 81 c50004726f6c65 c50003776562", want},
		{"bin32", "ff 81 c600000004726f6c65 c600000003776562", want},
		{"map16", "ff de0001 a4726f6c65 a3776562", want},
		{"map32", "ff df00000001 a4726f6c65 a3776562", want},
		{"nil map", "ff c0", map[string]string{}},
		{"empty map", "ff 80", map[string]string{}},
		{"last duplicate wins", "ff 82 a161 a131 a161 a132", map[string]string{"a": "2"}},
		{"empty key and value", "ff 81 a0 a0", map[string]string{"": ""}},
		{"binary value", "ff 81 a161 c402 00ff", map[string]string{"a": "\x00\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(unhex(t, tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !maps.Equal(got, tt.want) {
				t.Errorf("Decode = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeNotTags(t *testing.T) {
	for _, in := range []string{"", "00", "776562", "fe80", "81a161a162"} {
		meta := unhex(t, in)
		if IsTags(meta) {
			t.Errorf("IsTags(%s) = true", in)
		}
		if got, err := Decode(meta); got != nil || err != nil {
			t.Errorf("Decode(%s) = %v, %v; want nil, nil", in, got, err)
		}
	}
	if !IsTags([]byte{Magic}) {
		t.Error("IsTags(ff) = false")
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"magic alone", "ff"},
		{"not a map", "ff 91 a0"},
		{"int value", "ff 81 a161 01"},
		{"nil value", "ff 81 a161 c0"},
		{"array key", "ff 81 91a0 a0"},
		{"truncated entry", "ff 82 a161 a162"},
		{"truncated string", "ff 81 a161 a5 6162"},
		{"truncated str16 length", "ff 81 a161 da00"},
		{"truncated map16", "ff de00"},
		{"trailing bytes", "ff 80 00"},
		{"huge map32", "ff dfffffffff a0a0"},
		{"huge map16", "ff deffff a0a0"},
		{"huge str32", "ff 81 a161 dbffffffff 00"},
		{"huge bin32", "ff 81 c6ffffffff a0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(unhex(t, tt.in))
			if !errors.Is(err, ErrMalformed) || got != nil {
				t.Errorf("Decode = %v, %v; want nil and ErrMalformed", got, err)
			}
		})
	}
}

// TestDecodeAllocationBounded: a hostile count or length costs no more
// than the input's own size (here, an error message's worth of bytes).
func TestDecodeAllocationBounded(t *testing.T) {
	for _, in := range []string{"ff dfffffffff a0a0", "ff 81 a161 dbffffffff 00"} {
		meta := unhex(t, in)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const runs = 100
		for range runs {
			_, _ = Decode(meta)
		}
		runtime.ReadMemStats(&after)
		if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 1024 {
			t.Errorf("Decode(%s) allocates %d bytes a call", in, perRun)
		}
	}
}

func FuzzDecode(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzDecode.
	f.Add([]byte{Magic, 0x81, 0xa1, 'a', 0xa1, 'b'})
	f.Fuzz(func(t *testing.T, meta []byte) {
		got, err := Decode(meta)
		if !IsTags(meta) {
			if got != nil || err != nil {
				t.Fatalf("not tags, yet Decode = %v, %v", got, err)
			}
			return
		}
		if err != nil {
			if got != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %v, %v; want nil and ErrMalformed", got, err)
			}
			return
		}
		if got == nil {
			t.Fatal("tags decoded as a nil map")
		}
		size := 0
		for k, v := range got {
			size += len(k) + len(v)
		}
		if size > len(meta) {
			t.Fatalf("decoded %d bytes of strings from %d bytes", size, len(meta))
		}
		b, err := Encode(got)
		if _, empty := got[""]; empty {
			if !errors.Is(err, ErrEmptyKey) {
				t.Fatalf("Encode with an empty key: %v", err)
			}
			return
		}
		if errors.Is(err, ErrTooLarge) {
			return // str8 input re-encodes as str16, which may not fit
		}
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decode(b)
		if err != nil || !maps.Equal(again, got) {
			t.Fatalf("round trip: %v, %v; want %v", again, err, got)
		}
		if len(meta) <= MaxSize && len(b) > len(meta)+2*len(got) {
			// Re-encoding only widens str8 to str16 (one byte a string).
			t.Fatalf("re-encoded to %d bytes from %d", len(b), len(meta))
		}
	})
}
