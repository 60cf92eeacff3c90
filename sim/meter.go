package sim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
)

// Result is what a scenario measured. Durations are virtual seconds; nil
// means the figure does not apply to the scenario or never happened.
type Result struct {
	Scenario string  `json:"scenario"`
	Nodes    int     `json:"nodes"`
	Seed     uint64  `json:"seed"`
	Profile  string  `json:"profile"`
	Loss     float64 `json:"loss"`
	VirtualS float64 `json:"virtual_s"`
	WallS    float64 `json:"wall_s"`
	// Converged: every live node sees every live node alive at the end.
	Converged bool `json:"converged"`
	// FullViewS (bootstrap): until every node sees every other alive.
	FullViewS *float64 `json:"full_view_s"`
	// DetectAllS (crash): from the crash until every live node holds the
	// node dead; DetectP50S and DetectP99S spread the nodes' times.
	DetectAllS *float64 `json:"detect_all_s"`
	DetectP50S *float64 `json:"detect_p50_s"`
	DetectP99S *float64 `json:"detect_p99_s"`
	// SpreadP50S and SpreadP99S spread the nodes' times to the scenario's
	// headline event: full view (bootstrap), death (crash), left (leave),
	// alive again (restart), message received (broadcast).
	SpreadP50S *float64 `json:"spread_p50_s"`
	SpreadP99S *float64 `json:"spread_p99_s"`
	// LeaveAllS (leave): until every live node holds the node left.
	LeaveAllS *float64 `json:"leave_all_s"`
	// RejoinAllS (restart): from the restart until every live node holds
	// the node alive again.
	RejoinAllS *float64 `json:"rejoin_all_s"`
	// HealConvergeS (partition): from the heal until views converge.
	HealConvergeS *float64 `json:"heal_converge_s"`
	// BroadcastAllS (broadcast): until every node has the message.
	BroadcastAllS *float64 `json:"broadcast_all_s"`
	// FalseDead and FalseSuspect count declarations of running, healthy,
	// reachable nodes as dead or suspect, by any node.
	FalseDead    int `json:"false_dead"`
	FalseSuspect int `json:"false_suspect"`
	// TargetSuspected and TargetDead count how many times the scenario's
	// target node (crashed, paused, left, ...) was suspected or declared
	// dead; TargetRefutes how often it refuted.
	TargetSuspected int `json:"target_suspected"`
	TargetDead      int `json:"target_dead"`
	TargetRefutes   int `json:"target_refutes"`
	// LeftSeenDead (leave): nodes that saw the leaver as failed instead.
	LeftSeenDead  int      `json:"left_seen_dead"`
	MsgsPerNodeS  float64  `json:"msgs_per_node_s"`
	BytesPerNodeS float64  `json:"bytes_per_node_s"`
	TraceHash     string   `json:"trace_hash"`
	Violations    []string `json:"violations"`
	// Timeline samples the average member table of the live nodes.
	Timeline []Sample `json:"-"`
	// Target is the node the scenario's fault hits.
	Target int `json:"target"`
	// FaultS is when the scenario's measured fault happened (the crash,
	// leave, heal, restart, pause or broadcast), if it did.
	FaultS *float64 `json:"fault_s"`
}

// Sample is the average number of members each live node holds in each
// state at time T (virtual seconds).
type Sample struct {
	T                          float64
	Alive, Suspect, Dead, Left float64
}

// meter watches a run and measures it.
type meter struct {
	s        *Sim
	sc       Scenario
	target   int
	excluded map[int]bool
	grace    time.Duration

	faultAt time.Duration
	faulted bool
	times   map[int]time.Duration // per observer: when it saw the fault's effect
	allAt   time.Duration         // when the last observer did (0: not yet)

	fullViewAt, healAt time.Duration
	seen               map[int]bool
	heard              int
	onMessage          func(i int, ev swim.Event)

	falseDead, falseSuspect          int
	targetSus, targetDead, targetRef int
	leftSeenDead                     int
	timeline                         []Sample
}

func newMeter(s *Sim, sc Scenario) *meter {
	c := s.cfg.Swim
	lo := time.Duration(float64(c.SuspicionMult) * float64(c.ProbeInterval) * math.Max(1, math.Log10(float64(sc.Nodes))))
	grace := time.Duration(c.SuspicionMaxTimeoutMult)*lo + c.GossipToTheDeadTime
	return &meter{s: s, sc: sc, excluded: make(map[int]bool), times: make(map[int]time.Duration),
		seen: make(map[int]bool), fullViewAt: -1, healAt: -1, grace: grace}
}

func (m *meter) fault() {
	m.faultAt, m.faulted = m.s.Now(), true
	clear(m.times)
	m.allAt = 0
}

// healthy reports whether subject is a running node nobody should doubt
// from observer's side: running, reachable, neither paused nor slowed, and
// so for longer than a suspicion about an earlier fault can take to run
// its course (its longest timeout plus the time the dead are gossiped).
func (m *meter) healthy(observer, subject int) bool {
	n := m.s.nodes[subject]
	return m.s.live(subject) && !n.paused && n.slow == 0 && !m.excluded[subject] &&
		m.s.connected(observer, subject) && m.s.now-m.s.healthyAt[subject] > int64(m.grace)
}

func (m *meter) onEvent(observer int, ev swim.Event) {
	if ev.Kind == swim.EventMessage && m.onMessage != nil {
		m.onMessage(observer, ev)
		return
	}
	subject, ok := m.s.byName(ev.Member.Name)
	if !ok {
		return
	}
	switch ev.Kind {
	case swim.EventSuspect:
		if m.healthy(observer, subject) {
			m.falseSuspect++
		}
		if subject == m.target {
			m.targetSus++
		}
	case swim.EventFailed:
		if m.healthy(observer, subject) {
			m.falseDead++
		}
		if subject == m.target {
			m.targetDead++
			if m.sc.Name == "leave" && m.faulted {
				m.leftSeenDead++
			}
		}
	case swim.EventRefute:
		if subject == m.target {
			m.targetRef++
		}
	}
	if !m.faulted || subject != m.target || observer == m.target {
		return
	}
	if k, ok := effects[m.sc.Name]; ok && ev.Kind == k {
		if _, done := m.times[observer]; !done {
			m.times[observer] = m.s.Now() - m.faultAt
			m.checkAll()
		}
	}
}

// effects is, per scenario, the event that shows an observer has seen the
// fault: the crashed node failed, the leaver left, the restarted one joined.
var effects = map[string]swim.EventKind{"crash": swim.EventFailed, "leave": swim.EventLeave, "restart": swim.EventJoin}

// checkAll notes when every live observer has seen the fault's effect.
func (m *meter) checkAll() {
	if m.allAt != 0 {
		return
	}
	for i := range m.s.nodes {
		if i == m.target || !m.s.live(i) {
			continue
		}
		if _, ok := m.times[i]; !ok {
			return
		}
	}
	m.allAt = m.s.Now()
}

// deadSeen reports whether every live node holds the target dead.
func (m *meter) deadSeen() bool {
	name := NodeName(m.target)
	for i, n := range m.s.nodes {
		if i == m.target || !m.s.live(i) {
			continue
		}
		if mm, ok := n.core.Member(name); ok && mm.State != swim.StateDead && mm.State != swim.StateLeft {
			return false
		}
	}
	return true
}

// run advances the simulation, sampling and watching for convergence.
func (m *meter) run(total time.Duration) {
	s := m.s
	nextSample := time.Duration(0)
	for s.Now() < total {
		step := m.sc.Sample
		watching := (m.sc.Name == "bootstrap" && m.fullViewAt < 0) ||
			(m.sc.Name == "partition" && m.faulted && m.healAt < 0)
		if watching {
			step = 100 * time.Millisecond
		}
		s.RunUntil(min(s.Now()+step, total))
		if m.sc.Name == "bootstrap" && m.fullViewAt < 0 {
			m.noteFullViews()
		}
		if watching && s.Converged() {
			if m.sc.Name == "bootstrap" {
				m.fullViewAt = s.Now()
			} else {
				m.healAt = s.Now() - m.faultAt
			}
		}
		if s.Now() >= nextSample {
			m.sample()
			nextSample = s.Now() + m.sc.Sample
			if m.sc.Progress != nil {
				m.sc.Progress(s.Now(), total)
			}
		}
	}
	if n := len(m.timeline); n == 0 || m.timeline[n-1].T < s.Now().Seconds() {
		m.sample() // the timeline ends where the run does
	}
}

// noteFullViews records when each node first sees every node alive.
func (m *meter) noteFullViews() {
	for i, n := range m.s.nodes {
		if _, ok := m.times[i]; !ok && m.s.live(i) && n.core.CountStates()[swim.StateAlive] == len(m.s.nodes) {
			m.times[i] = m.s.Now()
		}
	}
}

func (m *meter) sample() {
	var sum [4]int
	live := 0
	for i, n := range m.s.nodes {
		if !m.s.live(i) {
			continue
		}
		live++
		c := n.core.CountStates()
		for k := range sum {
			sum[k] += c[k]
		}
	}
	if live == 0 {
		return
	}
	f := func(k swim.State) float64 { return float64(sum[k]) / float64(live) }
	m.timeline = append(m.timeline, Sample{T: m.s.Now().Seconds(), Alive: f(swim.StateAlive),
		Suspect: f(swim.StateSuspect), Dead: f(swim.StateDead), Left: f(swim.StateLeft)})
}

// secs is d in seconds, rounded to the microsecond so the JSON stays short.
func secs(d time.Duration) *float64 {
	v := math.Round(d.Seconds()*1e6) / 1e6
	return &v
}

func (m *meter) report(r *Result) {
	s := m.s
	r.Target = m.target
	if m.faulted {
		r.FaultS = secs(m.faultAt)
	}
	r.VirtualS = s.Now().Seconds()
	r.Converged = s.Converged()
	st := s.Stats()
	nodeSeconds := float64(s.Len()) * r.VirtualS
	r.MsgsPerNodeS = float64(st.Packets+st.Streams) / nodeSeconds
	r.BytesPerNodeS = float64(st.PacketBytes+st.StreamBytes) / nodeSeconds
	r.FalseDead, r.FalseSuspect = m.falseDead, m.falseSuspect
	r.TargetSuspected, r.TargetDead, r.TargetRefutes = m.targetSus, m.targetDead, m.targetRef
	r.LeftSeenDead = m.leftSeenDead
	r.TraceHash = fmt.Sprintf("%016x", s.TraceHash())
	r.Violations = slices.Clone(s.Violations())
	if r.Violations == nil {
		r.Violations = []string{}
	}
	r.Timeline = m.timeline
	if m.fullViewAt >= 0 {
		r.FullViewS = secs(m.fullViewAt)
	}
	if m.healAt >= 0 {
		r.HealConvergeS = secs(m.healAt)
	}
	if m.sc.Name == "broadcast" && m.allAt > 0 {
		r.BroadcastAllS = secs(m.allAt - m.faultAt)
	}
	if m.allAt > 0 {
		all := secs(m.allAt - m.faultAt)
		switch m.sc.Name {
		case "crash":
			r.DetectAllS = all
		case "leave":
			r.LeaveAllS = all
		case "restart":
			r.RejoinAllS = all
		}
	}
	if len(m.times) > 0 {
		ts := make([]time.Duration, 0, len(m.times))
		for _, t := range m.times {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		r.SpreadP50S = secs(ts[(len(ts)-1)*50/100])
		r.SpreadP99S = secs(ts[(len(ts)-1)*99/100])
		if m.sc.Name == "crash" {
			r.DetectP50S, r.DetectP99S = r.SpreadP50S, r.SpreadP99S
		}
	}
}
