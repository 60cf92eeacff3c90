package sim

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
)

// Partition splits the nodes: each listed group can reach only itself;
// nodes not listed stay together in one more group.
func (s *Sim) Partition(groups ...[]int) {
	clear(s.side)
	for g, members := range groups {
		for _, i := range members {
			s.side[i] = g + 1
		}
	}
	s.hashNote("partition", len(groups))
}

// Heal removes every partition.
func (s *Sim) Heal() {
	clear(s.side)
	for i := range s.healthyAt {
		s.healthyAt[i] = s.now
	}
	s.hashNote("heal", 0)
	s.expectConvergence()
}

// expectConvergence checks, as an invariant, that views converge after a
// heal: within two reconnect intervals and ten probe intervals, unless
// another fault or loss intervenes.
func (s *Sim) expectConvergence() {
	c := s.cfg.Swim
	if c.ReconnectInterval == 0 {
		return // without reconnect (memberlist's way) the halves may never meet
	}
	bound := 2*c.ReconnectInterval + 10*c.ProbeInterval
	faults := s.faults
	s.At(time.Duration(s.now)+bound, func() {
		if s.faults == faults && s.cfg.Loss == 0 && len(s.linkLoss) == 0 && !s.Converged() {
			s.violate("views did not converge within %v of the heal", bound)
		}
	})
}

// SetLoss sets the datagram loss probability of every link.
func (s *Sim) SetLoss(p float64) { s.cfg.Loss = p }

// SetLinkLoss sets the loss probability from a to b only (one way).
func (s *Sim) SetLinkLoss(a, b int, p float64) { s.linkLoss[[2]int{a, b}] = p }

// SetLinkLatency sets the delay distribution from a to b only (one way).
func (s *Sim) SetLinkLatency(a, b int, l Latency) { s.linkLatency[[2]int{a, b}] = l }

// Pause stops node i from processing anything, like SIGSTOP: what arrives
// waits in its socket buffers.
func (s *Sim) Pause(i int) {
	s.nodes[i].paused = true
	s.hashNote("pause", i)
}

// Resume lets a paused node catch up: it handles what arrived, in order,
// then its overdue deadlines.
func (s *Sim) Resume(i int) {
	n := s.nodes[i]
	if !n.paused || !n.up {
		return
	}
	n.paused = false
	s.healthyAt[i] = s.now
	s.hashNote("resume", i)
	inbox := n.inbox
	n.inbox = nil
	for _, e := range inbox {
		if e.kind == evStreamDone && (e.stream.done || e.stream.dialGen != n.gen) {
			continue
		}
		s.process(n, e)
	}
	n.core.Advance(s.time())
	s.after(n)
}

// Slow makes node i handle each input up to d late, as an overloaded
// process does; 0 restores it.
func (s *Sim) Slow(i int, d time.Duration) {
	s.nodes[i].slow = d
	s.healthyAt[i] = s.now
	s.hashNote("slow", i)
}

// Crash stops node i at once, without a word to anyone.
func (s *Sim) Crash(i int) {
	n := s.nodes[i]
	n.up, n.paused, n.inbox = false, false, nil
	s.hashNote("crash", i)
}

// Restart starts a crashed (or left) node again under the same name and
// address with a fresh incarnation, and joins it through seeds.
func (s *Sim) Restart(i int, seeds ...int) error {
	n := s.nodes[i]
	if n.up && !n.left {
		return fmt.Errorf("sim: restart node %d: still running", i)
	}
	s.hashNote("restart", i)
	if err := s.start(n); err != nil {
		return err
	}
	s.Join(i, seeds...)
	return nil
}

// Join makes node i join through the given seed nodes.
func (s *Sim) Join(i int, seeds ...int) {
	n := s.nodes[i]
	if !n.up || len(seeds) == 0 {
		return
	}
	addrs := make([]netip.AddrPort, len(seeds))
	for k, seed := range seeds {
		addrs[k] = s.nodes[seed].addr
	}
	n.core.Join(s.time(), addrs)
	s.after(n)
}

// Leave makes node i leave gracefully. The node keeps running (it still
// answers, as memberlist does until Shutdown) until Stop.
func (s *Sim) Leave(i int) {
	n := s.nodes[i]
	if !n.up {
		return
	}
	n.left = true
	_ = n.core.Leave(s.time())
	s.after(n)
}

// Stop shuts a node down (after Leave, say): it no longer runs.
func (s *Sim) Stop(i int) {
	s.nodes[i].up = false
	s.hashNote("stop", i)
}

// Bootstrap joins every node through seed, each at a random moment in the
// first second, as a deployment would start them.
func (s *Sim) Bootstrap(seed int) {
	for i := range s.nodes {
		if i == seed {
			continue
		}
		s.At(time.Duration(s.now+s.rng.Int64N(int64(time.Second))), func() { s.Join(i, seed) })
	}
}

// Converge preloads every running node with every other running node as
// alive, as if the cluster had long converged.
func (s *Sim) Converge() {
	var all []swim.Member
	first := -1
	for i, n := range s.nodes {
		if s.live(i) {
			all = append(all, n.core.Self())
			if first < 0 {
				first = i
			}
		}
	}
	if first < 0 {
		return
	}
	s.nodes[first].core.Preload(s.time(), all)
	for i, n := range s.nodes {
		if s.live(i) && i != first {
			// Shares the first node's view without hashing N² names.
			_ = n.core.PreloadFrom(s.time(), s.nodes[first].core)
		}
	}
	for i, n := range s.nodes {
		if s.live(i) {
			s.after(n)
		}
	}
}
