package sim

import (
	"fmt"
	"net/netip"

	"github.com/rumorproject/rumor/internal/swim"
)

const (
	fnvOffset     = 14695981039346656037
	fnvPrime      = 1099511628211
	maxViolations = 100
)

func (s *Sim) hashU64(v uint64) {
	for range 8 {
		s.trace ^= v & 0xff
		s.trace *= fnvPrime
		v >>= 8
	}
}

func (s *Sim) hashString(str string) {
	for i := 0; i < len(str); i++ {
		s.trace ^= uint64(str[i])
		s.trace *= fnvPrime
	}
	s.hashU64(uint64(len(str)))
}

func (s *Sim) hashNote(what string, i int) {
	s.faults++
	s.hashU64(uint64(s.now))
	s.hashString(what)
	s.hashU64(uint64(i))
}

func (s *Sim) hashPacket(from int, to netip.AddrPort, size int) {
	s.hashU64(uint64(s.now))
	s.hashU64(uint64(from))
	b := to.Addr().As16()
	s.hashU64(uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15]))
	s.hashU64(uint64(size))
}

func (s *Sim) violate(format string, args ...any) {
	if len(s.violations) < maxViolations {
		s.violations = append(s.violations, fmt.Sprintf("t=%v: ", s.Now())+fmt.Sprintf(format, args...))
	}
}

// observe records an event in the trace, checks it against the
// invariants, and passes it on.
func (s *Sim) observe(n *simNode, ev *swim.Event) {
	s.hashU64(uint64(s.now))
	s.hashU64(uint64(n.idx))
	s.hashU64(uint64(ev.Kind))
	s.hashString(ev.Member.Name)
	s.hashU64(uint64(ev.Member.State)<<32 | uint64(ev.Member.Incarnation))
	if ev.Member.Name == n.name {
		switch {
		case ev.Kind == swim.EventFailed || ev.Kind == swim.EventSuspect:
			s.violate("node %s marked itself %v", n.name, ev.Kind)
		case ev.Kind == swim.EventLeave && !n.left:
			s.violate("node %s left without being asked", n.name)
		}
	} else if subject, ok := s.byName(ev.Member.Name); ok && ev.Member.Incarnation > s.nodes[subject].maxInc {
		s.violate("node %s holds %s at incarnation %d, above any it used (%d)",
			n.name, ev.Member.Name, ev.Member.Incarnation, s.nodes[subject].maxInc)
	}
	if s.OnEvent != nil {
		s.OnEvent(n.idx, *ev)
	}
}

// checkSelf checks the node's own incarnation after each step.
func (s *Sim) checkSelf(n *simNode) {
	inc := n.core.Incarnation()
	if inc < n.lastInc {
		s.violate("node %s incarnation went back from %d to %d", n.name, n.lastInc, inc)
	}
	n.lastInc = inc
	n.maxInc = max(n.maxInc, inc)
}

// byName maps a simulated node's name back to its index.
func (s *Sim) byName(name string) (int, bool) {
	var i int
	if _, err := fmt.Sscanf(name, "n%d", &i); err != nil || i < 0 || i >= len(s.nodes) || s.nodes[i].name != name {
		return 0, false
	}
	return i, true
}

// live reports whether node i runs and has not left: a member everyone
// should see alive.
func (s *Sim) live(i int) bool { n := s.nodes[i]; return n.up && !n.left }

// Converged reports whether every live node counts exactly the live nodes
// as members: alive or suspect (a suspect is still a member, as in
// memberlist's Members), and every other node dead, left or forgotten.
func (s *Sim) Converged() bool {
	nlive := 0
	for i := range s.nodes {
		if s.live(i) {
			nlive++
		}
	}
	for i, n := range s.nodes {
		if !s.live(i) {
			continue
		}
		c := n.core.CountStates()
		if c[swim.StateAlive]+c[swim.StateSuspect] != nlive {
			return false
		}
	}
	if len(s.nodes) > 2000 {
		return true // the counts above suffice in practice; the pairwise check is O(N²) lookups
	}
	for i, n := range s.nodes {
		if !s.live(i) {
			continue
		}
		for j, m := range s.nodes {
			if !s.live(j) {
				continue
			}
			if mm, ok := n.core.Member(m.name); !ok || (mm.State != swim.StateAlive && mm.State != swim.StateSuspect) {
				return false
			}
		}
	}
	return true
}
