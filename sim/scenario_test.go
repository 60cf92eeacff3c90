package sim_test

// Scenario tests: each proves, in simulation at 100 nodes with the LAN
// profile (memberlist's DefaultLANConfig), one property of the protocol
// under one fault, and that no invariant was violated on the way. Seeds are
// fixed, so every run is deterministic; each failure message names its seed.
//
// The bounds come from memberlist's formulas for n = 100, LAN:
//
//	suspicion min = SuspicionMult · max(1, log10 n) · ProbeInterval = 4 · 2 · 1 s = 8 s
//	suspicion max = SuspicionMaxTimeoutMult · min = 6 · 8 s = 48 s
//	confirmations that bring the timeout down to min: k = SuspicionMult − 2 = 2
//
// More scenarios are in scenario_more_test.go.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/sim"
)

const (
	nodes = 100

	// Suspicion timeouts for nodes at LAN (see the file comment).
	suspicionMin = 8 * time.Second
	suspicionMax = 48 * time.Second
)

// fail reports a failed check in the form every test here uses.
func fail(t *testing.T, seed uint64, what string, got, want any) {
	t.Helper()
	t.Errorf("seed %d: %s: got %v, want %v", seed, what, got, want)
}

// secs prints an optional Result figure.
func secs(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%.3fs", *p)
}

// mustRun runs a scenario at 100 nodes unless sc says otherwise, fails the
// test on an error, any invariant violation or any false death, and logs
// the whole Result if the test fails later. (The meter counts a death as
// false only once its subject has been healthy for a grace period of about
// 100 s at this size, from virtual time 0; tests that need the first
// minutes covered count events themselves.)
func mustRun(t *testing.T, sc sim.Scenario) *sim.Result {
	t.Helper()
	if sc.Nodes == 0 {
		sc.Nodes = nodes
	}
	r, err := sim.Run(sc)
	if err != nil {
		t.Fatalf("seed %d: Run(%s): got error %v, want none", sc.Seed, sc.Name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := json.Marshal(r)
			t.Logf("seed %d: result: %s", sc.Seed, b)
		}
	})
	if len(r.Violations) != 0 {
		fail(t, sc.Seed, "invariant violations", r.Violations, "none")
	}
	if r.FalseDead != 0 {
		fail(t, sc.Seed, "false_dead (healthy nodes declared dead)", r.FalseDead, 0)
	}
	return r
}

// newSim builds a simulation at 100 nodes with the LAN profile; edit, if
// set, adjusts the configuration first.
func newSim(t *testing.T, seed uint64, edit func(*sim.Config)) *sim.Sim {
	t.Helper()
	cfg := sim.Config{Nodes: nodes, Seed: seed, Swim: swim.LAN()}
	if edit != nil {
		edit(&cfg)
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatalf("seed %d: New: got error %v, want none", seed, err)
	}
	return s
}

// noViolations fails the test if the simulation saw any invariant broken.
func noViolations(t *testing.T, seed uint64, s *sim.Sim) {
	t.Helper()
	if v := s.Violations(); len(v) != 0 {
		fail(t, seed, "invariant violations", v, "none")
	}
}

// holdout returns the first observer (not k, and for which skip is false)
// whose view of node k does not satisfy ok, or -1 if all do. A member the
// observer does not know is passed as the zero Member with known false.
func holdout(s *sim.Sim, k int, skip func(i int) bool, ok func(m swim.Member, known bool) bool) int {
	name := sim.NodeName(k)
	for i := range s.Len() {
		if i == k || !s.Up(i) || (skip != nil && skip(i)) {
			continue
		}
		if m, known := s.Node(i).Member(name); !ok(m, known) {
			return i
		}
	}
	return -1
}

func inState(st swim.State) func(swim.Member, bool) bool {
	return func(m swim.Member, known bool) bool { return known && m.State == st }
}

// describe says how observer i sees node k, for failure messages.
func describe(s *sim.Sim, i, k int) string {
	m, known := s.Node(i).Member(sim.NodeName(k))
	if !known {
		return fmt.Sprintf("n%d does not know n%d", i, k)
	}
	return fmt.Sprintf("n%d holds n%d %v at incarnation %d", i, k, m.State, m.Incarnation)
}

// TestBootstrap: 100 nodes, each alone at first, join through one seed
// (node 0) at random moments in the first second and reach one full view.
func TestBootstrap(t *testing.T) {
	t.Parallel()
	// The joins take one push-pull each (a few ms); what the seed did not yet
	// know when a node joined reaches it by gossip, about log3(100) ≈ 5
	// rounds of 200 ms per alive message, or by the next push-pull. 10 s
	// leaves several times that.
	const bound = 10 * time.Second
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s := newSim(t, seed, nil)
			if s.Converged() {
				fail(t, seed, "converged before any join", true, false)
			}
			// Result.FalseSuspect ignores the first ~100 s (the meter's grace
			// period), so count doubts from the start here.
			var doubts []string
			s.OnEvent = func(obs int, ev swim.Event) {
				if (ev.Kind == swim.EventSuspect || ev.Kind == swim.EventFailed) && len(doubts) < 10 {
					doubts = append(doubts, fmt.Sprintf("%v: n%d: %v %s", s.Now(), obs, ev.Kind, ev.Member.Name))
				}
			}
			s.Bootstrap(0)
			if !s.RunWhile(100*time.Millisecond, bound, func() bool { return !s.Converged() }) {
				fail(t, seed, fmt.Sprintf("converged within %v", bound), false, true)
			}
			t.Logf("seed %d: bootstrap full view after %v (virtual)", seed, s.Now())
			// The view stays whole: nobody is suspected once all have met.
			s.RunFor(30 * time.Second)
			if !s.Converged() {
				fail(t, seed, "converged 30 s after the full view", false, true)
			}
			if len(doubts) != 0 {
				fail(t, seed, "suspicions or failures while bootstrapping", doubts, "none")
			}
			noViolations(t, seed, s)

			// The scenario measures the same through Run.
			r := mustRun(t, sim.Scenario{Name: "bootstrap", Seed: seed, Duration: 30 * time.Second})
			if r.FullViewS == nil || *r.FullViewS >= bound.Seconds() {
				fail(t, seed, "full_view_s", secs(r.FullViewS), fmt.Sprintf("< %v", bound))
			}
			if !r.Converged {
				fail(t, seed, "converged at the end", false, true)
			}
			t.Logf("seed %d: scenario full_view_s %s", seed, secs(r.FullViewS))
		})
	}
}

// TestCrashDetected: a crashed node is declared dead by every live node,
// no sooner than the suspicion minimum allows and well before the maximum.
func TestCrashDetected(t *testing.T) {
	t.Parallel()
	// Lower bound: a suspicion runs at least min = 8 s, and starts after the
	// crash. Upper bound: some node probes the crashed one within about a
	// second (99 probers, one probe each per second, round-robin over 99
	// members), the probe fails within ProbeInterval (1 s); two independent
	// confirmations (k = 2) arrive as others probe it too, which brings the
	// timeout to min (8 s); the dead notice then spreads by gossip in about
	// a second. That is about 11 s; 20 s allows slow discovery and is still
	// far below the 48 s an unconfirmed suspicion takes.
	const lo, hi = suspicionMin, 20 * time.Second
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := mustRun(t, sim.Scenario{Name: "crash", Seed: seed, Duration: 45 * time.Second})
			t.Logf("seed %d: crash of n%d: detect_all_s %s, p50 %s, p99 %s", seed, r.Target,
				secs(r.DetectAllS), secs(r.DetectP50S), secs(r.DetectP99S))
			if r.DetectAllS == nil {
				fail(t, seed, "detect_all_s (every live node declared the crashed node dead)", "nil", "a time")
			} else if d := *r.DetectAllS; d <= lo.Seconds() || d >= hi.Seconds() {
				fail(t, seed, "detect_all_s", secs(r.DetectAllS), fmt.Sprintf("in (%v, %v)", lo, hi))
			}
			if r.DetectP50S == nil || *r.DetectP50S <= lo.Seconds() {
				fail(t, seed, "detect_p50_s", secs(r.DetectP50S), fmt.Sprintf("> %v", lo))
			}
			if r.TargetDead != nodes-1 {
				fail(t, seed, "declarations of the crashed node as dead (once per live node)", r.TargetDead, nodes-1)
			}
			if r.TargetRefutes != 0 {
				fail(t, seed, "refutations by the crashed node", r.TargetRefutes, 0)
			}
			if !r.Converged {
				fail(t, seed, "converged at the end", false, true)
			}
		})
	}
}

// TestCrashDetectedEverywhere checks the same against every member table:
// 8 s after the crash nobody holds the node dead yet; within 20 s everyone
// does; nobody else is ever declared dead, and the 99 live nodes still
// count each other as members.
func TestCrashDetectedEverywhere(t *testing.T) {
	t.Parallel()
	const seed, k = 7, 42
	s := newSim(t, seed, nil)
	s.Converge()
	var others []string // any other node declared dead (the meter's FalseDead has a grace period)
	s.OnEvent = func(obs int, ev swim.Event) {
		if ev.Kind == swim.EventFailed && ev.Member.Name != sim.NodeName(k) && len(others) < 10 {
			others = append(others, fmt.Sprintf("%v: n%d declared %s dead", s.Now(), obs, ev.Member.Name))
		}
	}
	s.RunFor(5 * time.Second)
	crashAt := s.Now()
	s.Crash(k)
	s.RunFor(suspicionMin)
	if i := holdout(s, k, nil, func(m swim.Member, known bool) bool { return known && m.State != swim.StateDead }); i >= 0 {
		fail(t, seed, fmt.Sprintf("view %v after the crash", suspicionMin), describe(s, i, k), "not dead before the suspicion minimum")
	}
	allDead := func() bool { return holdout(s, k, nil, inState(swim.StateDead)) >= 0 }
	if !s.RunWhile(10*time.Millisecond, 12*time.Second, allDead) {
		i := holdout(s, k, nil, inState(swim.StateDead))
		fail(t, seed, "view 20 s after the crash", describe(s, i, k), fmt.Sprintf("n%d dead", k))
	}
	t.Logf("seed %d: every live node holds n%d dead %v after the crash", seed, k, s.Now()-crashAt)
	s.RunFor(30 * time.Second)
	if len(others) != 0 {
		fail(t, seed, "other nodes declared dead", others, "none")
	}
	if !s.Converged() {
		fail(t, seed, "converged", false, true)
	}
	noViolations(t, seed, s)
}

// TestLeave: a graceful leave is seen as a leave by every node, never as a
// failure.
func TestLeave(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := mustRun(t, sim.Scenario{Name: "leave", Seed: seed, Duration: 30 * time.Second})
			t.Logf("seed %d: leave of n%d: leave_all_s %s", seed, r.Target, secs(r.LeaveAllS))
			if r.LeaveAllS == nil {
				fail(t, seed, "leave_all_s (every live node holds the leaver left)", "nil", "a time")
			}
			if r.LeftSeenDead != 0 {
				fail(t, seed, "left_seen_dead", r.LeftSeenDead, 0)
			}
			if r.TargetDead != 0 {
				fail(t, seed, "target_dead", r.TargetDead, 0)
			}
			if r.TargetSuspected != 0 {
				fail(t, seed, "target_suspected", r.TargetSuspected, 0)
			}
			if !r.Converged {
				fail(t, seed, "converged at the end", false, true)
			}
		})
	}
}

// TestLeaveNeverFailed follows a leave through every member table: each
// live node emits exactly one EventLeave and holds the node left within
// 5 s; after the leaver stops, for longer than the longest suspicion, no
// node ever declares it failed or suspects it.
func TestLeaveNeverFailed(t *testing.T) {
	t.Parallel()
	const seed, k = 4, 17
	s := newSim(t, seed, nil)
	s.Converge()
	name := sim.NodeName(k)
	leaves := make(map[int]int)
	var bad []string
	s.OnEvent = func(obs int, ev swim.Event) {
		if ev.Member.Name != name || obs == k {
			return
		}
		switch ev.Kind {
		case swim.EventLeave:
			leaves[obs]++
			if ev.Member.State != swim.StateLeft {
				bad = append(bad, fmt.Sprintf("n%d: leave event with state %v", obs, ev.Member.State))
			}
		case swim.EventFailed, swim.EventSuspect:
			if len(bad) < 10 {
				bad = append(bad, fmt.Sprintf("%v: n%d: %v (from %s)", s.Now(), obs, ev.Kind, ev.From))
			}
		}
	}
	s.RunFor(5 * time.Second)
	leftAt := s.Now()
	s.Leave(k)
	notLeft := func() bool { return holdout(s, k, nil, inState(swim.StateLeft)) >= 0 }
	if !s.RunWhile(10*time.Millisecond, 5*time.Second, notLeft) {
		i := holdout(s, k, nil, inState(swim.StateLeft))
		fail(t, seed, "view 5 s after the leave", describe(s, i, k), fmt.Sprintf("n%d left", k))
	}
	t.Logf("seed %d: every node holds n%d left %v after Leave", seed, k, s.Now()-leftAt)
	s.RunFor(2 * time.Second) // let the leave notice finish its retransmits
	s.Stop(k)
	// Left members are forgotten after GossipToTheDeadTime (30 s); until
	// then they stay left.
	s.RunFor(suspicionMax + 10*time.Second)
	if i := holdout(s, k, nil, func(m swim.Member, known bool) bool { return !known || m.State == swim.StateLeft }); i >= 0 {
		fail(t, seed, "view after the leaver stopped", describe(s, i, k), "left or forgotten")
	}
	if len(bad) != 0 {
		fail(t, seed, "failure, suspicion or odd leave events about the leaver", bad, "none")
	}
	var wrong []string
	for i := range s.Len() {
		if i != k && leaves[i] != 1 {
			wrong = append(wrong, fmt.Sprintf("n%d saw %d", i, leaves[i]))
		}
	}
	if len(wrong) != 0 {
		fail(t, seed, fmt.Sprintf("nodes not seeing exactly one leave event about n%d", k),
			fmt.Sprintf("%d (%s)", len(wrong), strings.Join(wrong[:min(len(wrong), 5)], ", ")), 0)
	}
	if !s.Converged() {
		fail(t, seed, "converged", false, true)
	}
	noViolations(t, seed, s)
}

// TestPartitionHeals: a 50/50 partition lasting 30 s makes each half
// declare the other dead; after the heal the halves merge into one view.
func TestPartitionHeals(t *testing.T) {
	t.Parallel()
	// Bound on merging: at the heal every node holds half the cluster dead,
	// so at its next reconnect tick (ReconnectInterval, 30 s) it push-pulls
	// with a dead member with probability dead/alive ≈ 1; the refutations
	// then spread by gossip within seconds. Gossip to the recently dead
	// usually merges the halves sooner.
	const bound = 35 * time.Second
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := mustRun(t, sim.Scenario{Name: "partition", Seed: seed, Duration: 90 * time.Second})
			t.Logf("seed %d: partition heal_converge_s %s", seed, secs(r.HealConvergeS))
			if r.HealConvergeS == nil {
				fail(t, seed, "heal_converge_s", "nil", "a time")
			} else if *r.HealConvergeS >= bound.Seconds() {
				fail(t, seed, "heal_converge_s", secs(r.HealConvergeS), fmt.Sprintf("< %v", bound))
			}
			if !r.Converged {
				fail(t, seed, "converged at the end", false, true)
			}
		})
	}

	t.Run("views", func(t *testing.T) {
		// Through the lower-level API: during the partition each half holds
		// the other dead and itself alive; after the heal all is one view.
		const seed = 3
		s := newSim(t, seed, nil)
		s.Converge()
		s.RunFor(5 * time.Second)
		half := make([]int, nodes/2)
		for i := range half {
			half[i] = i
		}
		side := func(i int) bool { return i < nodes/2 }
		s.Partition(half)
		s.RunFor(30 * time.Second)
		for _, k := range []int{0, 49, 50, 99} {
			sameSide := func(i int) bool { return side(i) == side(k) }
			otherSide := func(i int) bool { return side(i) != side(k) }
			if i := holdout(s, k, sameSide, inState(swim.StateDead)); i >= 0 {
				fail(t, seed, "view across the partition after 30 s", describe(s, i, k), "dead")
			}
			if i := holdout(s, k, otherSide, inState(swim.StateAlive)); i >= 0 {
				fail(t, seed, "view within a side after 30 s", describe(s, i, k), "alive")
			}
		}
		s.Heal()
		healAt := s.Now()
		// Usually seconds, as above; but gossip can miss one node with a
		// refutation (seed 3 here: one node holds one other dead), as in
		// memberlist, and then that node's next push-pull repairs it:
		// 90 s apart at 100 nodes.
		const repaired = 95 * time.Second
		if !s.RunWhile(100*time.Millisecond, repaired, func() bool { return !s.Converged() }) {
			fail(t, seed, fmt.Sprintf("converged within %v of the heal", repaired), false, true)
		}
		t.Logf("seed %d: one view %v after the heal", seed, s.Now()-healAt)
		noViolations(t, seed, s)
	})
}

// TestPauseShorterThanSuspicion: a node paused for 5 s, less than the 8 s
// suspicion minimum, is suspected, refutes when it resumes, and is never
// declared dead.
func TestPauseShorterThanSuspicion(t *testing.T) {
	t.Parallel()
	// Whether anybody probes the paused node during the pause is chance:
	// about one probe a second reaches any given node, and a probe needs
	// to start in the pause's first ~4 s to fail before the resume, so
	// about 2% of seeds (seed 1 among them at the time of writing) see no
	// suspicion at all. These seeds do.
	for _, seed := range []uint64{2, 3, 4} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := mustRun(t, sim.Scenario{Name: "pause", Seed: seed, Pause: 5 * time.Second, Duration: 40 * time.Second})
			t.Logf("seed %d: pause of n%d: suspected %d times, refuted %d times, declared dead %d times",
				seed, r.Target, r.TargetSuspected, r.TargetRefutes, r.TargetDead)
			if r.TargetSuspected == 0 {
				fail(t, seed, "target_suspected (if 0, nobody probed the paused node; try another seed)", 0, "> 0")
			}
			if r.TargetRefutes < 1 {
				fail(t, seed, "target_refutes", r.TargetRefutes, ">= 1")
			}
			if r.TargetDead != 0 {
				fail(t, seed, "target_dead", r.TargetDead, 0)
			}
			if !r.Converged {
				fail(t, seed, "converged at the end", false, true)
			}
		})
	}
}

// TestRestart: a node crashes, is declared dead by all, and restarts under
// the same name and address with a fresh incarnation (1), joining through
// node 0; every node holds it alive again within 5 s.
func TestRestart(t *testing.T) {
	t.Parallel()
	// The join push-pull (a few ms) tells the restarted node it is held
	// dead; it refutes with a higher incarnation, sends that to the seed at
	// once and gossips it: a broadcast reaches 100 nodes in about
	// log3(100) ≈ 5 rounds of 200 ms. 5 s is several times that.
	const bound = 5 * time.Second
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := mustRun(t, sim.Scenario{Name: "restart", Seed: seed, Duration: 60 * time.Second})
			t.Logf("seed %d: restart of n%d: rejoin_all_s %s", seed, r.Target, secs(r.RejoinAllS))
			if r.RejoinAllS == nil {
				fail(t, seed, "rejoin_all_s", "nil", "a time")
			} else if *r.RejoinAllS >= bound.Seconds() {
				fail(t, seed, "rejoin_all_s", secs(r.RejoinAllS), fmt.Sprintf("< %v", bound))
			}
			if r.TargetDead != nodes-1 {
				fail(t, seed, "declarations of the crashed node as dead before the restart", r.TargetDead, nodes-1)
			}
			if r.TargetRefutes < 1 {
				fail(t, seed, "refutations by the restarted node", r.TargetRefutes, ">= 1")
			}
			if !r.Converged {
				fail(t, seed, "converged at the end", false, true)
			}
		})
	}
}
