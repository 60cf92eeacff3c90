package agent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// loadKeyring returns the keyring to start with. A keyring file, once it
// exists, wins over keys (as with Serf and Consul): after a rotation made
// through the API, a restart with the original --encrypt-key must not
// bring the retired key back as primary. ignored tells that keys were
// given but the file's were used. A missing file is created from keys.
func loadKeyring(keys [][]byte, file string) (out [][]byte, ignored bool, err error) {
	if file == "" {
		return slices.Clone(keys), false, nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		if len(keys) > 0 {
			if err := saveKeyring(file, keys); err != nil {
				return nil, false, err
			}
		}
		return slices.Clone(keys), false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("keyring file: %w", err)
	}
	var encoded []string
	if err := json.Unmarshal(b, &encoded); err != nil {
		return nil, false, fmt.Errorf("keyring file %s: want a JSON array of base64 keys: %w", file, err)
	}
	if len(encoded) == 0 {
		// An empty file says nothing: keep the given keys (and write them),
		// rather than silently turn encryption off.
		if len(keys) > 0 {
			if err := saveKeyring(file, keys); err != nil {
				return nil, false, err
			}
		}
		return slices.Clone(keys), false, nil
	}
	for i, s := range encoded {
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, false, fmt.Errorf("keyring file %s: key %d: %w", file, i, err)
		}
		if !slices.ContainsFunc(out, func(have []byte) bool { return bytes.Equal(have, k) }) {
			out = append(out, k)
		}
	}
	return out, len(keys) > 0, nil
}

// saveKeyring writes keys to file atomically, readable by its owner only.
func saveKeyring(file string, keys [][]byte) error {
	encoded := make([]string, len(keys))
	for i, k := range keys {
		encoded[i] = base64.StdEncoding.EncodeToString(k)
	}
	b, err := json.MarshalIndent(encoded, "", "  ")
	if err != nil {
		return fmt.Errorf("keyring file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".keyring-*")
	if err != nil {
		return fmt.Errorf("keyring file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring file: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keyring file: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("keyring file: %w", err)
	}
	return nil
}
