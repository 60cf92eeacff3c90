package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rumorproject/rumor/sim"
)

// runSim runs a scenario; tests replace it.
var runSim = sim.Run

// maxSimNodes is the most nodes sim.New accepts.
const maxSimNodes = 1 << 20

type simCmd struct {
	Scenario string        `arg:"" placeholder:"SCENARIO" help:"What to simulate; see the list below."`
	Nodes    int           `default:"100" placeholder:"N" help:"Cluster size, at least 2 (default: ${default})."`
	Seed     uint64        `default:"1" placeholder:"S" help:"Random seed: the same flags and seed give the same run (default: ${default})."`
	Loss     float64       `default:"0" placeholder:"P" help:"Probability that a datagram is lost, on every link, from 0 to 1 (default: ${default})."`
	Duration time.Duration `placeholder:"D" help:"Virtual time to run, as a Go duration such as 30s or 5m (default: the scenario's own)."`
	Profile  string        `enum:"lan,wan,local" default:"lan" help:"Protocol timing profile: lan, wan or local."`
	Fast     bool          `help:"Skip the envelope codec layers (compression, CRC, encryption, label) for speed; payloads are still encoded and decoded."`
	SVG      string        `name:"svg" placeholder:"FILE" help:"Also write the membership timeline as an SVG image to FILE."`
	JSON     bool          `name:"json" help:"Print the result as one JSON object."`
	Quiet    bool          `help:"Print no progress lines to stderr."`
}

// scenarioHelp describes each of sim.Scenarios.
var scenarioHelp = map[string]string{
	"bootstrap": "every node joins through n0; measures how long until all see all (full_view)",
	"crash":     "a node crashes 5s in; measures how long until all hold it dead (detect_all)",
	"leave":     "a node leaves gracefully 5s in (leave_all)",
	"loss":      "a steady cluster for 10m; combine with --loss to count false suspicions",
	"partition": "half the cluster is cut off from 5s to 35s; measures reconvergence after the heal",
	"pause":     "a node is paused for 5s from 5s in",
	"slow":      "a node handles each input up to 2s late from 5s in, for 10m",
	"churn":     "every 10s one node crashes and the one crashed before restarts, for 3m",
	"broadcast": "n0 gossips a user message 5s in (broadcast_all)",
	"restart":   "a node crashes 5s in and restarts once all hold it dead (rejoin_all)",
}

// headline is each scenario's main figure: when it is missing, the table
// says it was not reached rather than leaving it out.
var headline = map[string]string{
	"bootstrap": "full_view", "crash": "detect_all", "leave": "leave_all",
	"restart": "rejoin_all", "partition": "heal_converge", "broadcast": "broadcast_all",
}

// targeted lists the scenarios whose fault hits one node, the target: the
// others have no target worth counting.
var targeted = map[string]bool{"crash": true, "leave": true, "pause": true, "slow": true, "restart": true}

func (c *simCmd) Help() string {
	var b strings.Builder
	b.WriteString(`Runs a simulated cluster of protocol cores on a virtual clock: no sockets, no
real waiting, and the same flags always give the same run (the same trace hash).
Prints what the scenario measured, in virtual seconds; with --svg also draws how
many members the nodes hold alive, suspect, dead and left over time.

Scenarios:
`)
	for _, name := range sim.Scenarios {
		fmt.Fprintf(&b, "  %-10s %s\n", name, scenarioHelp[name])
	}
	b.WriteString(`
Progress goes to stderr, at most once a second, when a run takes that long.

Exit status: 0 when the run holds every invariant, 1 when it reports
violations (listed after the figures) or fails, 2 for bad arguments.`)
	return b.String()
}

func (c *simCmd) Run(e *env) error {
	sc, err := c.scenario()
	if err != nil {
		return err
	}
	// Open the SVG file first, so a bad path fails before a long run.
	var svg *os.File
	if c.SVG != "" {
		if svg, err = os.Create(c.SVG); err != nil {
			return fmt.Errorf("--svg: %w", err)
		}
		defer func() {
			if svg != nil { // not written: leave no empty or partial image behind
				svg.Close()
				os.Remove(c.SVG)
			}
		}()
	}
	var prog *progress
	if !c.Quiet {
		prog = newProgress(e.stderr, time.Now)
		sc.Progress = prog.update
	}
	r, err := runSim(sc)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "sim: "))
	}
	if prog != nil {
		prog.finish(r)
	}
	if c.JSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(e.stdout, "%s\n", b); err != nil {
			return err
		}
	} else if err := writeSimTable(e.stdout, r); err != nil {
		return err
	}
	if svg != nil {
		err := sim.WriteSVG(svg, r)
		if cerr := svg.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("--svg: %w", err)
		}
		svg = nil
	}
	if n := len(r.Violations); n > 0 {
		return fmt.Errorf("%d invariant %s", n, plural(n, "violation", "violations"))
	}
	return nil
}

// scenario checks the flags and builds the simulator's Scenario.
func (c *simCmd) scenario() (sim.Scenario, error) {
	if !slices.Contains(sim.Scenarios, c.Scenario) {
		return sim.Scenario{}, usagef("unknown scenario %q (want one of %s)", c.Scenario, strings.Join(sim.Scenarios, ", "))
	}
	if c.Nodes < 2 || c.Nodes > maxSimNodes {
		return sim.Scenario{}, usagef("--nodes is %d, want 2 to %d", c.Nodes, maxSimNodes)
	}
	if !(c.Loss >= 0 && c.Loss <= 1) { // also rejects NaN
		return sim.Scenario{}, usagef("--loss is %v, want a probability from 0 to 1", c.Loss)
	}
	if c.Duration < 0 {
		return sim.Scenario{}, usagef("--duration is %v, want a positive duration", c.Duration)
	}
	return sim.Scenario{Name: c.Scenario, Nodes: c.Nodes, Seed: c.Seed, Profile: c.Profile,
		Loss: c.Loss, Duration: c.Duration, SkipEnvelope: c.Fast}, nil
}

// progress prints how far a run has got, at most once per interval of
// wall time, and nothing for a run that ends sooner than that.
type progress struct {
	w       io.Writer
	now     func() time.Time
	every   time.Duration
	last    time.Time
	printed bool
}

func newProgress(w io.Writer, now func() time.Time) *progress {
	t := now()
	return &progress{w: w, now: now, every: time.Second, last: t}
}

// update is the Scenario's Progress hook.
func (p *progress) update(done, total time.Duration) {
	t := p.now()
	if t.Sub(p.last) < p.every {
		return
	}
	p.last, p.printed = t, true
	pct := 100
	if total > 0 {
		pct = int(min(done, total) * 100 / total)
	}
	fmt.Fprintf(p.w, "sim: %ss/%ss virtual (%d%%)\n", wholeSeconds(done), wholeSeconds(total), pct)
}

// finish closes a run that printed progress with the final line.
func (p *progress) finish(r *sim.Result) {
	if !p.printed {
		return
	}
	v := time.Duration(r.VirtualS * float64(time.Second))
	fmt.Fprintf(p.w, "sim: %ss/%ss virtual (100%%) in %.1fs\n", wholeSeconds(v), wholeSeconds(v), r.WallS)
}

func wholeSeconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// writeSimTable prints a Result for people: one figure a line, with units.
func writeSimTable(w io.Writer, r *sim.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ew := &errWriter{w: tw}
	row := func(name, value string) { ew.printf("%s\t%s\n", name, value) }
	secs := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) + " s" }

	row("scenario", r.Scenario)
	row("nodes", strconv.Itoa(r.Nodes))
	row("seed", strconv.FormatUint(r.Seed, 10))
	row("profile", r.Profile)
	row("loss", strconv.FormatFloat(r.Loss, 'g', -1, 64))
	row("virtual_time", secs(r.VirtualS))
	row("wall_time", secs(r.WallS))
	row("converged", strconv.FormatBool(r.Converged))
	for _, f := range []struct {
		name string
		v    *float64
	}{
		{"full_view", r.FullViewS},
		{"detect_all", r.DetectAllS},
		{"leave_all", r.LeaveAllS},
		{"rejoin_all", r.RejoinAllS},
		{"heal_converge", r.HealConvergeS},
		{"broadcast_all", r.BroadcastAllS},
		{"spread_p50", r.SpreadP50S},
		{"spread_p99", r.SpreadP99S},
	} {
		switch {
		case f.v != nil:
			row(f.name, secs(*f.v))
		case headline[r.Scenario] == f.name:
			row(f.name, "not reached")
		}
	}
	row("false_dead", strconv.Itoa(r.FalseDead))
	row("false_suspect", strconv.Itoa(r.FalseSuspect))
	if targeted[r.Scenario] {
		row("target", sim.NodeName(r.Target))
		row("target_suspected", strconv.Itoa(r.TargetSuspected))
		row("target_dead", strconv.Itoa(r.TargetDead))
		row("target_refutes", strconv.Itoa(r.TargetRefutes))
	}
	if r.Scenario == "leave" || r.LeftSeenDead != 0 {
		row("left_seen_dead", strconv.Itoa(r.LeftSeenDead))
	}
	row("messages", strconv.FormatFloat(r.MsgsPerNodeS, 'f', 3, 64)+" msgs/node/s")
	row("bytes", strconv.FormatFloat(r.BytesPerNodeS, 'f', 1, 64)+" bytes/node/s")
	row("trace_hash", r.TraceHash)
	row("violations", strconv.Itoa(len(r.Violations)))
	if ew.err == nil {
		ew.err = tw.Flush()
	}
	ew.w = w // the violations are not part of the table
	for _, v := range r.Violations {
		ew.printf("violation: %s\n", v)
	}
	return ew.err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
