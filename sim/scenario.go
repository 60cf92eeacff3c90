package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
)

// Scenarios lists the named scenarios Run knows.
var Scenarios = []string{"bootstrap", "crash", "leave", "loss", "partition", "pause", "slow", "churn", "broadcast", "restart"}

// Scenario configures one run of a named scenario.
type Scenario struct {
	Name     string
	Nodes    int
	Seed     uint64
	Profile  string        // lan (default), wan or local
	Loss     float64       // datagram loss on every link
	Duration time.Duration // virtual run time; 0 picks the scenario's default
	// Fault is when the scenario's fault happens; 0 means 5 s in.
	Fault time.Duration
	// Pause is how long the pause scenario pauses its node (default 5 s).
	Pause time.Duration
	// SkipEnvelope skips the envelope codec layers (see Config).
	SkipEnvelope bool
	// Sample is the timeline's sampling period; 0 picks one by size.
	Sample time.Duration
	// Progress, if set, is called at each sample with virtual time done
	// and total.
	Progress func(done, total time.Duration)
}

// Profile returns the protocol configuration a profile name selects.
func Profile(name string) (swim.Config, error) {
	switch strings.ToLower(name) {
	case "", "lan":
		return swim.LAN(), nil
	case "wan":
		return swim.WAN(), nil
	case "local":
		return swim.Local(), nil
	}
	return swim.Config{}, fmt.Errorf("sim: unknown profile %q (want lan, wan or local)", name)
}

func (sc *Scenario) defaults() error {
	if !slices.Contains(Scenarios, sc.Name) {
		return fmt.Errorf("sim: unknown scenario %q (want one of %s)", sc.Name, strings.Join(Scenarios, ", "))
	}
	if sc.Nodes < 2 {
		return fmt.Errorf("sim: scenario %s needs at least 2 nodes, got %d", sc.Name, sc.Nodes)
	}
	if sc.Name == "loss" && sc.Loss == 0 {
		sc.Loss = 0.1 // the scenario is about loss; --loss picks another rate
	}
	if sc.Fault == 0 {
		sc.Fault = 5 * time.Second
	}
	if sc.Pause == 0 {
		sc.Pause = 5 * time.Second
	}
	if sc.Duration == 0 {
		switch sc.Name {
		case "loss", "slow":
			sc.Duration = 10 * time.Minute
		case "churn", "restart", "partition":
			sc.Duration = 3 * time.Minute
		default:
			sc.Duration = time.Minute
		}
		// Slower profiles (WAN probes every 5 s) need proportionally
		// longer to show the same thing.
		if proto, err := Profile(sc.Profile); err == nil && proto.ProbeInterval > time.Second {
			sc.Duration *= time.Duration(proto.ProbeInterval / time.Second)
		}
	}
	if sc.Sample == 0 {
		sc.Sample = time.Second
		if sc.Nodes > 1000 {
			sc.Sample = 10 * time.Second
		}
	}
	return nil
}

// Run runs a scenario and reports what it measured. Everything in the
// Result but WallS is a function of the Scenario alone.
func Run(sc Scenario) (*Result, error) {
	r, _, err := runScenario(sc)
	return r, err
}

// runScenario is Run, also returning the simulation for inspection.
func runScenario(sc Scenario) (*Result, *Sim, error) {
	if err := sc.defaults(); err != nil {
		return nil, nil, err
	}
	proto, err := Profile(sc.Profile)
	if err != nil {
		return nil, nil, err
	}
	wallStart := time.Now()
	cfg := Config{Nodes: sc.Nodes, Seed: sc.Seed, Swim: proto, Loss: 0, SkipEnvelope: sc.SkipEnvelope}
	var apps []*gossipApp
	if sc.Name == "broadcast" {
		apps = make([]*gossipApp, sc.Nodes)
		cfg.NewApp = func(i int) swim.App {
			apps[i] = newGossipApp(proto.RetransmitMult, func() int { return sc.Nodes })
			return apps[i]
		}
	}
	s, err := New(cfg)
	if err != nil {
		return nil, nil, err
	}
	r := &Result{Scenario: sc.Name, Nodes: sc.Nodes, Seed: sc.Seed, Profile: strings.ToLower(sc.Profile), Loss: sc.Loss}
	if r.Profile == "" {
		r.Profile = "lan"
	}
	m := newMeter(s, sc)
	s.OnEvent = m.onEvent
	if sc.Name == "bootstrap" {
		s.Bootstrap(0)
	} else {
		s.Converge()
	}
	s.SetLoss(sc.Loss)
	plan(s, &sc, m, apps)
	m.run(sc.Duration)
	m.report(r)
	r.WallS = time.Since(wallStart).Seconds()
	return r, s, nil
}

// plan schedules the scenario's faults.
func plan(s *Sim, sc *Scenario, m *meter, apps []*gossipApp) {
	target := 1 + int(sc.Seed%uint64(sc.Nodes-1)) // never the seed node 0
	m.target = target
	at := sc.Fault
	switch sc.Name {
	case "crash":
		s.At(at, func() { m.fault(); s.Crash(target) })
	case "leave":
		s.At(at, func() { m.fault(); s.Leave(target) })
	case "partition":
		half := make([]int, 0, sc.Nodes/2)
		for i := range sc.Nodes / 2 {
			half = append(half, i)
		}
		heal := at + 30*time.Second
		s.At(at, func() { s.Partition(half) })
		s.At(heal, func() { m.fault(); s.Heal() })
	case "pause":
		s.At(at, func() { m.fault(); s.Pause(target) })
		s.At(at+sc.Pause, func() { s.Resume(target) })
	case "slow":
		s.At(at, func() { s.Slow(target, 2*time.Second) })
		m.excluded[target] = true
	case "broadcast":
		s.At(at, func() {
			m.fault()
			apps[0].offer([]byte("hello from n0"))
			m.seen[0] = true
			m.heard = 1
		})
	case "restart":
		s.At(at, func() { s.Crash(target) })
		// Restart once every live node holds it dead; check each second.
		var check func()
		check = func() {
			if m.deadSeen() {
				m.fault()
				_ = s.Restart(target, 0)
				return
			}
			s.At(s.Now()+time.Second, check)
		}
		s.At(at+time.Second, check)
	case "churn":
		// Every 10 s one node crashes and the one crashed before restarts.
		down := -1
		for t := at; t < sc.Duration-30*time.Second; t += 10 * time.Second {
			s.At(t, func() {
				if down >= 0 {
					_ = s.Restart(down, 0)
				}
				down = 1 + s.rng.IntN(sc.Nodes-1)
				s.Crash(down)
			})
		}
		s.At(sc.Duration-30*time.Second, func() {
			if down >= 0 {
				_ = s.Restart(down, 0)
			}
		})
	}
	if sc.Name == "broadcast" {
		m.onMessage = func(i int, ev swim.Event) {
			if apps[i].offer(ev.Payload) && !m.seen[i] {
				m.seen[i] = true
				m.times[i] = s.Now() - m.faultAt
				m.heard++
				if m.heard == sc.Nodes {
					m.allAt = s.Now()
				}
			}
		}
	}
}
