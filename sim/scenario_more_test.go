package sim_test

// More scenario tests (see scenario_test.go for the helpers and bounds):
// restarts through the lower-level API, loss and slowness over 10 virtual
// minutes, determinism, and the invariant checker itself.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/internal/wire"
	"github.com/rumorproject/rumor/sim"
)

// restartRun crashes node k of a converged cluster, waits until every live
// node holds it dead, restarts it under the same name and address through
// node 0 and returns how long until every live node holds it alive at its
// new incarnation (ok false if not within limit). If refuteFirst is set,
// k first refutes a suspicion (a short pause), so it is held dead at an
// incarnation above the 1 it restarts with.
func restartRun(t *testing.T, seed uint64, k int, refuteFirst, tellStale bool, limit time.Duration) (d time.Duration, ok bool, s *sim.Sim) {
	t.Helper()
	s = newSim(t, seed, func(c *sim.Config) { c.Swim.TellStaleAlive = tellStale })
	s.Converge()
	s.RunFor(5 * time.Second)
	if refuteFirst {
		s.Pause(k)
		nobodySuspects := func() bool {
			return holdout(s, k, nil, func(m swim.Member, _ bool) bool { return m.State != swim.StateSuspect }) < 0
		}
		if !s.RunWhile(10*time.Millisecond, 30*time.Second, nobodySuspects) {
			t.Fatalf("seed %d: suspicion of paused n%d within 30 s: got none, want one", seed, k)
		}
		s.Resume(k) // well within the 8 s suspicion minimum
		if !s.RunWhile(10*time.Millisecond, 10*time.Second, func() bool {
			inc := s.Node(k).Incarnation()
			return inc < 2 || holdout(s, k, nil, func(m swim.Member, known bool) bool {
				return known && m.State == swim.StateAlive && m.Incarnation == inc
			}) >= 0
		}) {
			t.Fatalf("seed %d: n%d refuted and alive everywhere within 10 s: got incarnation %d, %s",
				seed, k, s.Node(k).Incarnation(), describe(s, holdout(s, k, nil, inState(swim.StateAlive)), k))
		}
	}
	held := s.Node(k).Incarnation()
	s.Crash(k)
	deadAtHeld := func(m swim.Member, known bool) bool {
		return known && m.State == swim.StateDead && m.Incarnation == held
	}
	if !s.RunWhile(100*time.Millisecond, suspicionMax+10*time.Second, func() bool { return holdout(s, k, nil, deadAtHeld) >= 0 }) {
		i := holdout(s, k, nil, deadAtHeld)
		t.Fatalf("seed %d: view of crashed n%d: got %s, want dead at incarnation %d", seed, k, describe(s, i, k), held)
	}
	if err := s.Restart(k, 0); err != nil {
		t.Fatalf("seed %d: Restart(%d): got error %v, want none", seed, k, err)
	}
	if inc := s.Node(k).Incarnation(); inc != 1 {
		fail(t, seed, "incarnation of the restarted node before it hears anything", inc, 1)
	}
	restartAt := s.Now()
	aliveAtNew := func(m swim.Member, known bool) bool {
		return known && m.State == swim.StateAlive && m.Incarnation == s.Node(k).Incarnation()
	}
	ok = s.RunWhile(10*time.Millisecond, limit, func() bool { return holdout(s, k, nil, aliveAtNew) >= 0 })
	d = s.Now() - restartAt
	if !ok {
		i := holdout(s, k, nil, aliveAtNew)
		t.Errorf("seed %d: view of restarted n%d (incarnation %d) %v after the restart: got %s, want alive at its incarnation",
			seed, k, s.Node(k).Incarnation(), limit, describe(s, i, k))
	}
	if inc := s.Node(k).Incarnation(); inc <= held {
		fail(t, seed, "incarnation of the restarted node after rejoining", inc, fmt.Sprintf("> %d (the one it was held dead at)", held))
	}
	return d, ok, s
}

// TestRestartStaleIncarnation restarts a dead node through the lower-level
// API with TellStaleAlive on: the restarted node comes back with
// incarnation 1, which is stale (equal to, or below, the one the cluster
// holds it dead at); it must learn that and refute above it, and every
// live node must hold it alive within 5 s.
func TestRestartStaleIncarnation(t *testing.T) {
	t.Parallel()
	// Same bound and reasoning as TestRestart: one push-pull, one
	// refutation, about five gossip rounds of 200 ms.
	const bound = 5 * time.Second
	for _, tc := range []struct {
		name        string
		seed        uint64
		k           int
		refuteFirst bool
	}{
		{"held dead at incarnation 1", 21, 33, false},
		{"held dead above incarnation 1", 22, 61, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok, s := restartRun(t, tc.seed, tc.k, tc.refuteFirst, true, bound)
			if !ok {
				return
			}
			t.Logf("seed %d: restarted n%d alive everywhere at incarnation %d after %v",
				tc.seed, tc.k, s.Node(tc.k).Incarnation(), d)
			if !s.RunWhile(100*time.Millisecond, bound, func() bool { return !s.Converged() }) {
				fail(t, tc.seed, "converged after the rejoin", false, true)
			}
			noViolations(t, tc.seed, s)

			// Without TellStaleAlive (memberlist's behaviour) the join's
			// push-pull alone must do. Identical traces mean the stale
			// notice was never sent in this run.
			d2, ok2, s2 := restartRun(t, tc.seed, tc.k, tc.refuteFirst, false, bound)
			if ok2 {
				t.Logf("seed %d: without TellStaleAlive: alive everywhere after %v; identical trace: %v",
					tc.seed, d2, s.TraceHash() == s2.TraceHash())
			}
			noViolations(t, tc.seed, s2)
		})
	}
}

// TestRestartWithoutSeed restarts a dead node without joining anyone. Its
// only way back is the cluster's: probes still in flight, gossip to the
// recently dead (which tells it it is dead, so it refutes), the
// reconnect timer (a push-pull with a dead member, about once per
// ReconnectInterval cluster-wide) and periodic push-pulls. It must end up
// alive in every view, and knowing every node.
func TestRestartWithoutSeed(t *testing.T) {
	t.Parallel()
	// Reconnect tries about one push-pull with the dead node per 30 s
	// cluster-wide (each node with probability dead/alive = 1/99), and
	// periodic push-pulls (every 90 s per node at n = 100) pick it about
	// once per 90 s; ten minutes is many times either wait.
	const seed, k, bound = 5, 7, 10 * time.Minute
	s := newSim(t, seed, nil)
	s.Converge()
	s.RunFor(5 * time.Second)
	s.Crash(k)
	if !s.RunWhile(100*time.Millisecond, time.Minute, func() bool { return holdout(s, k, nil, inState(swim.StateDead)) >= 0 }) {
		t.Fatalf("seed %d: crashed n%d dead everywhere within a minute: got %s", seed, k,
			describe(s, holdout(s, k, nil, inState(swim.StateDead)), k))
	}
	if err := s.Restart(k); err != nil {
		t.Fatalf("seed %d: Restart(%d): got error %v, want none", seed, k, err)
	}
	restartAt := s.Now()
	var aliveAt, knowsAt time.Duration = -1, -1
	ok := s.RunWhile(100*time.Millisecond, bound, func() bool {
		if aliveAt < 0 && holdout(s, k, nil, inState(swim.StateAlive)) < 0 {
			aliveAt = s.Now() - restartAt
		}
		if knowsAt < 0 && s.Node(k).NumAlive() == nodes {
			knowsAt = s.Now() - restartAt
		}
		return !s.Converged()
	})
	if !ok {
		fail(t, seed, fmt.Sprintf("converged within %v of a seedless restart", bound), false, true)
	}
	t.Logf("seed %d: seedless restart of n%d: alive in every view after %v, knows every node after %v, converged after %v",
		seed, k, aliveAt, knowsAt, s.Now()-restartAt)
	noViolations(t, seed, s)
}

// TestLossNoFalseDead: with 10% of datagrams lost on every link for 10
// virtual minutes, suspicions come and go but no running node is ever
// declared dead.
func TestLossNoFalseDead(t *testing.T) {
	t.Parallel()
	const seed = 1
	r := mustRun(t, sim.Scenario{Name: "loss", Seed: seed, Loss: 0.1})
	t.Logf("seed %d: loss 10%% for %.0f s: false_dead %d, false_suspect %d, target suspected %d / dead %d, converged %v, %.1f msgs/node/s",
		seed, r.VirtualS, r.FalseDead, r.FalseSuspect, r.TargetSuspected, r.TargetDead, r.Converged, r.MsgsPerNodeS)
	if r.VirtualS != (10 * time.Minute).Seconds() {
		fail(t, seed, "virtual_s", r.VirtualS, 600)
	}
	if r.TargetDead != 0 {
		fail(t, seed, "target_dead", r.TargetDead, 0)
	}
	if !r.Converged {
		fail(t, seed, "converged at the end", false, true)
	}

	// The meter counts a death as false only once its subject has been
	// healthy longer than a grace period (about 100 s here) from virtual
	// time 0, so it does not see the first minutes; count every failure
	// from the start instead.
	t.Run("from the start", func(t *testing.T) {
		s := newSim(t, seed, func(c *sim.Config) { c.Loss = 0.1 })
		s.Converge()
		var failed []string
		s.OnEvent = func(obs int, ev swim.Event) {
			if ev.Kind == swim.EventFailed && len(failed) < 10 {
				failed = append(failed, fmt.Sprintf("%v: n%d declared %s dead", s.Now(), obs, ev.Member.Name))
			}
		}
		s.RunFor(3 * time.Minute)
		if len(failed) != 0 {
			fail(t, seed, "deaths declared in the first 3 minutes", failed, "none")
		}
		if !s.Converged() {
			fail(t, seed, "converged after 3 minutes", false, true)
		}
		noViolations(t, seed, s)
	})
}

// TestSlowNodeNoFalseDead: one node handles every input up to 2 s late
// for 10 virtual minutes. It misses probe deadlines (so it suspects others,
// and others suspect it), but Lifeguard's refutations keep everyone alive:
// no healthy node, and not the slow one either, is declared dead.
func TestSlowNodeNoFalseDead(t *testing.T) {
	t.Parallel()
	const seed = 1
	r := mustRun(t, sim.Scenario{Name: "slow", Seed: seed})
	t.Logf("seed %d: slow n%d for %.0f s: false_dead %d, false_suspect %d, slow node suspected %d / refuted %d / dead %d",
		seed, r.Target, r.VirtualS, r.FalseDead, r.FalseSuspect, r.TargetSuspected, r.TargetRefutes, r.TargetDead)
	if r.TargetDead != 0 {
		fail(t, seed, "target_dead (the slow node declared dead)", r.TargetDead, 0)
	}
	if !r.Converged {
		fail(t, seed, "converged at the end", false, true)
	}
}

// canonical is a Result as JSON with its only wall-clock figure zeroed.
func canonical(r *sim.Result) string {
	c := *r
	c.WallS = 0
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestDeterminism: a run is a function of its Scenario. The same one twice
// gives the same Result (but WallS) and timeline; another seed gives
// another trace.
func TestDeterminism(t *testing.T) {
	t.Parallel()
	const seed = 11
	// Churn with loss touches most of the random choices: latencies, loss,
	// which node crashes, restarts and their new cores' seeds.
	sc := sim.Scenario{Name: "churn", Seed: seed, Loss: 0.05, Duration: 2 * time.Minute}
	a, b := mustRun(t, sc), mustRun(t, sc)
	if ca, cb := canonical(a), canonical(b); ca != cb {
		fail(t, seed, "second run's result", cb, ca)
	}
	if !reflect.DeepEqual(a.Timeline, b.Timeline) {
		fail(t, seed, "second run's timeline", b.Timeline, a.Timeline)
	}
	sc.Seed = seed + 1
	if c := mustRun(t, sc); c.TraceHash == a.TraceHash {
		fail(t, seed+1, "trace hash with another seed", c.TraceHash, "not "+a.TraceHash)
	}

	t.Run("sim", func(t *testing.T) {
		// The same through the lower-level API, with a fault of each kind.
		run := func(seed uint64) *sim.Sim {
			s := newSim(t, seed, func(c *sim.Config) { c.Duplicate = 0.01 })
			s.Converge()
			s.At(2*time.Second, func() { s.SetLoss(0.05) })
			s.At(3*time.Second, func() { s.SetLinkLoss(1, 2, 1) })
			s.At(4*time.Second, func() { s.Slow(3, 300*time.Millisecond) })
			s.At(5*time.Second, func() { s.Pause(4) })
			s.At(7*time.Second, func() { s.Resume(4) })
			s.At(8*time.Second, func() { s.Crash(5) })
			s.At(9*time.Second, func() { s.Leave(6) })
			s.At(12*time.Second, func() { s.Stop(6) })
			s.At(13*time.Second, func() { s.Partition([]int{10, 11, 12}) })
			s.At(25*time.Second, func() { s.Heal() })
			s.At(30*time.Second, func() { _ = s.Restart(5, 0) })
			s.RunFor(40 * time.Second)
			noViolations(t, seed, s)
			return s
		}
		a, b, c := run(seed), run(seed), run(seed+1)
		if a.TraceHash() != b.TraceHash() {
			fail(t, seed, "trace hash of the second run", b.TraceHash(), a.TraceHash())
		}
		if a.Stats() != b.Stats() {
			fail(t, seed, "network totals of the second run", b.Stats(), a.Stats())
		}
		if c.TraceHash() == a.TraceHash() {
			fail(t, seed+1, "trace hash with another seed", c.TraceHash(), fmt.Sprintf("not %x", a.TraceHash()))
		}
	})
}

// TestCheckerFlagsForgedIncarnation feeds one node a forged suspicion
// about another at an incarnation nobody used (as a buggy or malicious
// peer might) and checks that the continuous invariant checker reports it,
// and only it. It calls a core's HandlePacket directly, which Node's
// documentation reserves for the simulator: here that is the point.
func TestCheckerFlagsForgedIncarnation(t *testing.T) {
	t.Parallel()
	const seed, observer, subject, liar, forged = 1, 3, 5, 9, 1000
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSim(t, seed, func(c *sim.Config) { c.Start = start })
	s.Converge()
	s.RunFor(3 * time.Second)
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("seed %d: violations before the forgery: got %v, want none", seed, v)
	}
	s.At(s.Now(), func() {
		s.Node(observer).HandlePacket(start.Add(s.Now()), sim.NodeAddr(liar), []wire.Message{
			&wire.Suspect{Incarnation: forged, Node: sim.NodeName(subject), From: sim.NodeName(liar)},
		})
	})
	s.RunFor(5 * time.Second)
	v := s.Violations()
	want := fmt.Sprintf("node %s holds %s at incarnation %d", sim.NodeName(observer), sim.NodeName(subject), forged)
	if len(v) == 0 || !strings.Contains(v[0], want) {
		fail(t, seed, "first violation", v, fmt.Sprintf("one containing %q", want))
	}
	// The forged suspicion spreads; every node that takes it up is flagged
	// until the subject refutes above it, and nothing else is.
	for _, x := range v {
		if !strings.Contains(x, fmt.Sprintf("holds %s at incarnation %d", sim.NodeName(subject), forged)) {
			fail(t, seed, "violation", x, "only about the forged incarnation")
		}
	}
	if inc := s.Node(subject).Incarnation(); inc <= forged {
		fail(t, seed, "subject's incarnation after refuting", inc, fmt.Sprintf("> %d", forged))
	}
	n := len(v)
	s.RunFor(30 * time.Second)
	if got := len(s.Violations()); got != n {
		fail(t, seed, "violations after the refutation settled", s.Violations()[n:], "none new")
	}
	if !s.Converged() {
		fail(t, seed, "converged", false, true)
	}
	t.Logf("seed %d: the forged incarnation was flagged %d times", seed, n)
}

// TestHealInvariantFires checks the convergence-after-heal invariant can
// fail: a node paused across the partition and the heal cannot converge.
func TestHealInvariantFires(t *testing.T) {
	s, err := sim.New(sim.Config{Nodes: 20, Seed: 9, Swim: swim.LAN()})
	if err != nil {
		t.Fatal(err)
	}
	s.Converge()
	s.Pause(3)
	s.Partition([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	s.RunFor(40 * time.Second)
	s.Heal()
	s.RunFor(2*time.Minute + 20*time.Second)
	found := false
	for _, v := range s.Violations() {
		found = found || strings.Contains(v, "did not converge")
	}
	if !found {
		t.Errorf("violations: got %q, want one saying views did not converge after the heal", s.Violations())
	}
}
