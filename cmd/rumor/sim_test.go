package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rumorproject/rumor/sim"
)

// simJSON runs `sim ... --json --quiet` and decodes the one JSON object it
// prints.
func simJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, out, errOut := runCmd(t, "", append(append([]string{"sim"}, args...), "--json", "--quiet")...)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "}\n") {
		t.Fatalf("stdout is not one JSON line: %q", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	return m
}

func TestSimCrashJSON(t *testing.T) {
	args := []string{"crash", "--nodes", "20", "--duration", "30s"}
	m := simJSON(t, args...)
	for _, k := range []string{"scenario", "nodes", "seed", "virtual_s", "wall_s", "converged", "full_view_s",
		"detect_all_s", "false_dead", "false_suspect", "msgs_per_node_s", "bytes_per_node_s", "trace_hash"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %v", k, m)
		}
	}
	if m["scenario"] != "crash" || m["nodes"] != 20.0 || m["seed"] != 1.0 || m["virtual_s"] != 30.0 {
		t.Errorf("scenario, nodes, seed, virtual_s = %v, %v, %v, %v", m["scenario"], m["nodes"], m["seed"], m["virtual_s"])
	}
	if d, ok := m["detect_all_s"].(float64); !ok || !(d > 0) {
		t.Errorf("detect_all_s = %v, want a positive number", m["detect_all_s"])
	}
	if v, ok := m["full_view_s"]; !ok || v != nil {
		t.Errorf("full_view_s = %v, want null", v)
	}
	if h, _ := m["trace_hash"].(string); len(h) != 16 {
		t.Errorf("trace_hash = %v", m["trace_hash"])
	}

	// The same flags give the same run; only the wall time differs.
	again := simJSON(t, args...)
	delete(m, "wall_s")
	delete(again, "wall_s")
	if !reflect.DeepEqual(m, again) {
		t.Errorf("two runs differ:\n%v\n%v", m, again)
	}
	other := simJSON(t, append(args, "--seed", "2")...)
	if other["trace_hash"] == m["trace_hash"] {
		t.Errorf("seeds 1 and 2 give the same trace hash %v", m["trace_hash"])
	}
}

func TestSimBootstrap(t *testing.T) {
	m := simJSON(t, "bootstrap", "--nodes", "20", "--duration", "30s", "--fast")
	if m["converged"] != true {
		t.Errorf("converged = %v, want true", m["converged"])
	}
	if v, ok := m["full_view_s"].(float64); !ok || !(v > 0) {
		t.Errorf("full_view_s = %v, want a positive number", m["full_view_s"])
	}
	if m["detect_all_s"] != nil {
		t.Errorf("detect_all_s = %v, want null", m["detect_all_s"])
	}
}

func TestSimTableAndSVG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.svg")
	code, out, errOut := runCmd(t, "", "sim", "crash", "--nodes", "20", "--duration", "30s", "--svg", path)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"scenario          crash\n", "nodes             20\n", "virtual_time      30.000 s\n",
		"converged         true\n", "detect_all ", " msgs/node/s\n", " bytes/node/s\n", "trace_hash ", "wall_time ",
		"target            n", "violations        0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "full_view") {
		t.Errorf("table shows a figure that is null:\n%s", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("<?xml")) || !bytes.Contains(b, []byte("<svg")) ||
		!bytes.Contains(b, []byte(`data-state="dead"`)) || !bytes.HasSuffix(b, []byte("</svg>\n")) {
		t.Errorf("%s is not the timeline image:\n%.300s", path, b)
	}

	// An SVG file that cannot be created fails the command before the run.
	bad := filepath.Join(t.TempDir(), "no", "such", "dir.svg")
	code, out, errOut = runCmd(t, "", "sim", "crash", "--nodes", "20", "--svg", bad)
	if code != exitFail || out != "" || !strings.Contains(errOut, "rumor: sim: --svg: ") {
		t.Errorf("bad --svg: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestSimUsageErrors(t *testing.T) {
	tests := []usageCase{
		{"unknown scenario", []string{"sim", "meteor"}, `unknown scenario "meteor" (want one of ` + strings.Join(sim.Scenarios, ", ") + ")"},
		{"no scenario", []string{"sim"}, `expected "<scenario>"`},
		{"loss above 1", []string{"sim", "crash", "--loss", "1.5"}, "--loss is 1.5"},
		{"negative loss", []string{"sim", "crash", "--loss=-0.1"}, "--loss is -0.1"},
		{"NaN loss", []string{"sim", "crash", "--loss", "NaN"}, "--loss is NaN"},
		{"loss not a number", []string{"sim", "crash", "--loss", "lots"}, "--loss"},
		{"one node", []string{"sim", "crash", "--nodes", "1"}, "--nodes is 1, want 2 to"},
		{"bad profile", []string{"sim", "crash", "--profile", "mars"}, "--profile must be one of"},
		{"bad duration", []string{"sim", "crash", "--duration", "soon"}, "--duration"},
		{"negative duration", []string{"sim", "crash", "--duration=-5s"}, "--duration is -5s"},
	}
	wantUsageErrors(t, tests)
}

func TestSimHelp(t *testing.T) {
	code, out, errOut := runCmd(t, "", "sim", "--help")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, name := range sim.Scenarios {
		if scenarioHelp[name] == "" {
			t.Errorf("scenario %s has no description", name)
		}
		if !strings.Contains(out, "\n    "+name+" ") {
			t.Errorf("help does not list scenario %s:\n%s", name, out)
		}
	}
}

// TestSimViolations checks that a run reporting violations prints its
// result and then exits 1.
func TestSimViolations(t *testing.T) {
	old := runSim
	defer func() { runSim = old }()
	runSim = func(sc sim.Scenario) (*sim.Result, error) {
		return &sim.Result{Scenario: sc.Name, Nodes: sc.Nodes, Seed: sc.Seed, Profile: sc.Profile, VirtualS: 60,
			TraceHash: "0123456789abcdef", Violations: []string{"t=1s: node n1 marked itself suspect", "t=2s: <&>"}}, nil
	}
	code, out, errOut := runCmd(t, "", "sim", "crash", "--quiet")
	if code != exitFail || errOut != "rumor: sim: 2 invariant violations\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"violations        2\n", "violation: t=1s: node n1 marked itself suspect\n",
		"violation: t=2s: <&>\n", "detect_all        not reached\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCmd(t, "", "sim", "crash", "--quiet", "--json")
	var r sim.Result
	if code != exitFail || json.Unmarshal([]byte(out), &r) != nil || len(r.Violations) != 2 {
		t.Errorf("--json: exit %d, stdout %q", code, out)
	}
}

// TestSimProgress drives the progress printer with a fake clock: at most
// one line per wall second, none for a run shorter than that, and a final
// line only after some progress was shown.
func TestSimProgress(t *testing.T) {
	var now time.Time
	clock := func() time.Time { return now }
	var b bytes.Buffer
	p := newProgress(&b, clock)
	total := 600 * time.Second
	for i, wall := range []time.Duration{300, 900, 1000, 1500, 1999, 2000, 2100, 3500} {
		now = time.Time{}.Add(wall * time.Millisecond)
		p.update(time.Duration(i+1)*60*time.Second, total)
	}
	p.finish(&sim.Result{VirtualS: 600, WallS: 3.6})
	want := "sim: 180s/600s virtual (30%)\n" +
		"sim: 360s/600s virtual (60%)\n" +
		"sim: 480s/600s virtual (80%)\n" +
		"sim: 600s/600s virtual (100%) in 3.6s\n"
	if b.String() != want {
		t.Errorf("progress printed\n%s\nwant\n%s", b.String(), want)
	}

	b.Reset()
	now = time.Time{}
	p = newProgress(&b, clock)
	p.update(time.Second, total)
	p.finish(&sim.Result{VirtualS: 600})
	if b.Len() != 0 {
		t.Errorf("a quick run printed progress %q", b.String())
	}
}
