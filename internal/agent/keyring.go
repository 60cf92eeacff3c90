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

// loadKeyring returns keys followed by those in file (Serf's format: a
// JSON array of base64 keys, primary first), without repeats. A missing
// file is no error: it is written at the first key change, or now if
// keys were given.
func loadKeyring(keys [][]byte, file string) ([][]byte, error) {
	out := slices.Clone(keys)
	if file == "" {
		return out, nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		if len(out) > 0 {
			if err := saveKeyring(file, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keyring file: %w", err)
	}
	var encoded []string
	if err := json.Unmarshal(b, &encoded); err != nil {
		return nil, fmt.Errorf("keyring file %s: want a JSON array of base64 keys: %w", file, err)
	}
	for i, s := range encoded {
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("keyring file %s: key %d: %w", file, i, err)
		}
		if !slices.ContainsFunc(out, func(have []byte) bool { return bytes.Equal(have, k) }) {
			out = append(out, k)
		}
	}
	return out, nil
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
