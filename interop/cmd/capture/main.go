// Command capture runs real hashicorp/memberlist v0.7.0 nodes on loopback,
// records the bytes they exchange, decodes them with the interop oracle and
// writes one golden-vector JSON file per interesting capture.
//
//	cd interop && go run ./cmd/capture -out ../internal/wire/testdata/golden
//
// The file format is described in internal/wire/testdata/golden/README.md.
package main

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rumorproject/rumor/interop/oracle"
)

var (
	outDir  = flag.String("out", "../internal/wire/testdata/golden", "directory to write the golden *.json files into")
	verbose = flag.Bool("v", false, "log every capture and all memberlist output")
	only    = flag.String("only", "", "run only scenarios whose name contains this string (files of other scenarios are left alone)")
	clean   = flag.Bool("clean", true, "remove *.json files in -out that this run did not produce (ignored with -only)")
)

// golden is the on-disk format (README.md in the golden directory), plus a
// few extra informational fields at the end.
type golden struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Channel     string            `json:"channel"`
	StreamSide  string            `json:"stream_side,omitempty"`
	Label       string            `json:"label"`
	KeysHex     []string          `json:"keys_hex"`
	Hex         string            `json:"hex"`
	Layers      oracle.Layers     `json:"layers"`
	Messages    []oracle.Message  `json:"messages"`
	TrailerHex  *string           `json:"trailer_hex"`
	NonceHex    *string           `json:"nonce_hex"`
	From        string            `json:"from"`
	To          string            `json:"to"`
	Scenario    string            `json:"scenario"`
	Source      string            `json:"source"`
	Extra       map[string]string `json:"extra,omitempty"`
}

func toGolden(w *want) golden {
	r := w.got
	g := golden{
		Name:        strings.TrimSuffix(w.file, ".json"),
		Description: w.desc,
		Channel:     r.channel,
		Label:       r.label,
		KeysHex:     []string{},
		Hex:         hex.EncodeToString(r.data),
		Layers:      r.res.Layers,
		Messages:    r.res.Messages,
		From:        r.from,
		To:          r.to,
		Scenario:    w.scName,
		Source:      "github.com/hashicorp/memberlist v0.7.0 (go-msgpack/v2 v2.1.5), captured by interop/cmd/capture",
	}
	if r.channel == "stream" {
		g.StreamSide = r.side
	}
	for _, k := range r.keys {
		g.KeysHex = append(g.KeysHex, hex.EncodeToString(k))
	}
	if r.res.Trailer != nil {
		s := hex.EncodeToString(r.res.Trailer)
		g.TrailerHex = &s
	}
	if r.res.Nonce != nil {
		s := hex.EncodeToString(r.res.Nonce)
		g.NonceHex = &s
	}
	return g
}

func main() {
	flag.Parse()
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	start := time.Now()

	// The whole run must stay bounded (150 s, retries included); a normal
	// run takes about 15 seconds.
	globalDeadline := start.Add(150 * time.Second)
	var done []*want
	var failures []string
	ran := 0
	for _, sc := range allScenarios() {
		if *only != "" && !strings.Contains(sc.name, *only) {
			continue
		}
		ran++
		budget := min(20*time.Second, time.Until(globalDeadline))
		if budget <= 0 {
			failures = append(failures, fmt.Sprintf("scenario %s not run: global time budget exhausted", sc.name))
			continue
		}
		t0 := time.Now()
		var s *scenario
		var err error
		// Live clusters are timing-dependent: a capture that needs a gossip
		// tick to send one message bare can miss its window. Retry a
		// scenario that timed out (never one the oracle could not decode).
		for attempt := 1; ; attempt++ {
			s = newScenario(sc.name)
			err = runBounded(s, sc.run, budget)
			if err == nil {
				err = s.wait(3 * time.Second) // anything registered but not awaited
			}
			s.shutdownAll()
			var skip skipError
			if err == nil || asSkip(err, &skip) || len(s.decodeErrors()) > 0 || attempt == 3 {
				break
			}
			if budget = min(20*time.Second, time.Until(globalDeadline)); budget <= 0 {
				break
			}
			log.Printf("scenario %-12s attempt %d failed, retrying: %v", sc.name, attempt, firstLine(err))
		}
		if derr := s.decodeErrors(); len(derr) > 0 {
			failures = append(failures, fmt.Sprintf("scenario %s: oracle could not decode %d capture(s):\n  %s", sc.name, len(derr), strings.Join(derr, "\n  ")))
		}
		if err != nil {
			var skip skipError
			if asSkip(err, &skip) {
				log.Printf("scenario %-12s SKIPPED: %s", sc.name, skip.msg)
				continue
			}
			failures = append(failures, fmt.Sprintf("scenario %s failed: %v", sc.name, err))
			if *verbose {
				fmt.Fprintf(os.Stderr, "---- memberlist log for %s ----\n%s\n", sc.name, s.logs.String())
			}
			continue
		}
		s.match()
		n := 0
		for _, w := range s.wants {
			if w.got != nil {
				done = append(done, w)
				n++
			}
		}
		log.Printf("scenario %-12s ok: %2d captures in %v", sc.name, n, time.Since(t0).Round(time.Millisecond))
	}
	if ran == 0 {
		log.Fatalf("no scenario matches -only=%q", *only)
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintln(os.Stderr, f)
		}
		log.Fatalf("capture FAILED (%d problem(s)); nothing written", len(failures))
	}
	if err := writeAll(done); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %d golden files to %s in %v", len(done), *outDir, time.Since(start).Round(time.Millisecond))
}

func writeAll(ws []*want) error {
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, w := range ws {
		if names[w.file] {
			return fmt.Errorf("duplicate golden file name %s", w.file)
		}
		names[w.file] = true
	}
	if *clean && *only == "" {
		old, _ := filepath.Glob(filepath.Join(*outDir, "*.json"))
		for _, f := range old {
			if !names[filepath.Base(f)] {
				if err := os.Remove(f); err != nil {
					return err
				}
			}
		}
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].file < ws[j].file })
	for _, w := range ws {
		b, err := json.MarshalIndent(toGolden(w), "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if err := os.WriteFile(filepath.Join(*outDir, w.file), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runBounded runs a scenario body with a hard deadline so that a stuck
// memberlist call cannot hang the whole program.
func runBounded(s *scenario, f func(*scenario) error, limit time.Duration) error {
	ch := make(chan error, 1)
	go func() { ch <- f(s) }()
	select {
	case err := <-ch:
		return err
	case <-time.After(limit):
		return fmt.Errorf("scenario exceeded its %v budget", limit)
	}
}

type skipError struct{ msg string }

func (e skipError) Error() string { return "skipped: " + e.msg }

func asSkip(err error, out *skipError) bool {
	if s, ok := err.(skipError); ok {
		*out = s
		return true
	}
	return false
}

func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}
