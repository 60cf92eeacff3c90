// Package golden loads the wire captures recorded from real memberlist
// v0.7.0 nodes (internal/wire/testdata/golden; format in its README.md), for
// the tests of every package that reads or writes memberlist's bytes.
package golden

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Vector is one capture: the bytes one node put on the wire and what
// memberlist's own codec found in them.
type Vector struct {
	Name       string    `json:"name"`
	Channel    string    `json:"channel"`     // "packet" or "stream"
	StreamSide string    `json:"stream_side"` // "dialer" or "acceptor" for streams
	Label      string    `json:"label"`       // the reader's configured label
	KeysHex    []string  `json:"keys_hex"`    // the reader's keyring, primary first
	Hex        string    `json:"hex"`
	Layers     Layers    `json:"layers"`
	Messages   []Message `json:"messages"`
	TrailerHex *string   `json:"trailer_hex"`
}

// Layers are the wrappers the oracle removed.
type Layers struct {
	Label          bool  `json:"label"`
	Encrypted      bool  `json:"encrypted"`
	EncryptVersion uint8 `json:"encrypt_version"`
	CRC            bool  `json:"crc"`
	Compressed     bool  `json:"compressed"`
	Compound       int   `json:"compound"`
}

// Message is one leaf message; Fields uses memberlist's Go field names,
// with byte slices as hex strings (nil as JSON null) and numbers as float64.
type Message struct {
	Type   uint8          `json:"type"`
	Kind   string         `json:"kind"`
	Fields map[string]any `json:"fields"`
}

// Dir returns the directory to load: $RUMOR_GOLDEN_DIR when set (CI points
// it at a fresh capture from live nodes), otherwise the checked-in vectors
// at rel, the path from the calling test's package to
// internal/wire/testdata/golden.
func Dir(rel string) string {
	if d := os.Getenv("RUMOR_GOLDEN_DIR"); d != "" {
		return d
	}
	return rel
}

// Load reads every vector in dir. Finding none is an error: a test that
// silently checks nothing would prove nothing.
func Load(dir string) ([]Vector, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list golden vectors: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no golden vectors in %s (regenerate them: see internal/wire/testdata/golden/README.md)", dir)
	}
	out := make([]Vector, 0, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read golden vector: %w", err)
		}
		var v Vector
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("parse %s: %w", f, err)
		}
		if v.Name == "" {
			v.Name = strings.TrimSuffix(filepath.Base(f), ".json")
		}
		out = append(out, v)
	}
	return out, nil
}
