package agent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rumorproject/rumor/internal/api"
)

func TestKeyringFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keyring.json")
	k1, k2 := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 32)
	b64 := base64.StdEncoding.EncodeToString
	a := startAgent(t, "a", func(c *Config) { c.Keys, c.KeyringFile = [][]byte{k1}, file })
	readFile := func() []string {
		t.Helper()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		if err := json.Unmarshal(b, &keys); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got := readFile(); !slices.Equal(got, []string{b64(k1)}) {
		t.Fatalf("keyring file at start: %q", got)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := a.InstallKey(k2, true); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(), []string{b64(k2), b64(k1)}; !slices.Equal(got, want) || !slices.Equal(a.Keys(), want) {
		t.Fatalf("after installing k2 as primary: file %q, keys %q; want %q", got, a.Keys(), want)
	}
	if err := a.InstallKey([]byte("short"), false); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("a 5-byte key: %v, want ErrInvalid", err)
	}
	if err := a.RemoveKey(k1); err != nil {
		t.Fatal(err)
	}
	a.Shutdown()

	// A restart reads the keyring from the file, even when started with
	// the key it was first given: the rotation must stick.
	b := startAgent(t, "b", func(c *Config) { c.Keys, c.KeyringFile = [][]byte{k1}, file })
	if got := b.Keys(); !slices.Equal(got, []string{b64(k2)}) {
		t.Errorf("restarted with the file and the old key: keys %q, want k2 alone", got)
	}
	// An empty keyring file does not turn encryption off: the given key
	// is used, and written.
	b.Shutdown()
	if err := os.WriteFile(file, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startAgent(t, "c", func(c *Config) { c.Keys, c.KeyringFile = [][]byte{k1}, file })
	if got, want := c.Keys(), []string{b64(k1)}; !slices.Equal(got, want) || !slices.Equal(readFile(), want) {
		t.Errorf("from an empty keyring file: keys %q, file %q; want k1 in both", got, readFile())
	}
	if err := os.WriteFile(file, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(Config{Name: "c", BindAddr: "127.0.0.1", KeyringFile: file}); err == nil {
		t.Error("a keyring file that is not JSON was accepted")
	}
}
