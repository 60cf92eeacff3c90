// Package swimcore tests the protocol core (internal/swim), run on real
// loopback sockets by package rumor's Node, in clusters mixed with real
// memberlist v0.7.0 nodes.
package swimcore

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/interop/mlwire"
)

// Deadlines. Everything runs with memberlist's DefaultLocalConfig timings
// (swim.Local() on the swim side). With them memberlist sends a broadcast
// only twice in clusters under 10 members (RetransmitMult 2), and a send
// piggybacked on a ping or ack counts, so a member can miss news until a
// push-pull repairs it: the first comes at most 2 × PushPullInterval (30 s)
// after a node starts. Measured with memberlist alone, a metadata update
// missed some member of 4 for more than 2 s in 18 runs of 120 (with 3
// members: none in 120, though a ping just before the gossip round can
// still spend one of the two sends). The tests therefore let only 3 nodes
// meet by gossip and join any further node through every running one, so
// that it meets each in a push-pull; and whatever travels by gossip gets a
// deadline that covers the push-pull. In practice it arrives within a few
// hundred milliseconds.
const (
	quick  = 5 * time.Second  // what a push-pull settles directly
	gossip = 35 * time.Second // what gossip carries, or else the next push-pull
	// detect bounds failure detection: every member probes the victim
	// within a few probe intervals, then suspects it for 3 s once another
	// member confirms, and for up to 18 s (SuspicionMaxTimeoutMult 6 ×
	// SuspicionMult 3 × 1 s) when no confirmation reaches it.
	detect = 28 * time.Second
)

// A swim node joins through a memberlist seed, a memberlist node through
// a swim seed, and a swim node through several seeds of both kinds; every
// view converges.
func TestJoinConverges(t *testing.T) {
	c := newCluster(t)
	m1 := c.addML("ml-1", "")
	s1 := c.addSwim("sw-1", "")
	c.swimJoin(s1, m1.addr()) // swim → memberlist seed
	c.eventually("swim joined a memberlist seed", quick, c.converged)

	// memberlist → swim seed: ml-1 hears of ml-2 by gossip from sw-1 (and
	// from ml-2 itself).
	m2 := c.addML("ml-2", "")
	c.mlJoin(m2, s1.d.Addr())
	c.eventually("memberlist joined a swim seed", gossip, c.converged)

	s2 := c.addSwim("sw-2", "")
	if k, err := s2.d.Join([]netip.AddrPort{m1.addr(), m2.addr(), s1.d.Addr()}); err != nil || k != 3 {
		t.Fatalf("sw-2 joins 3 seeds: %d answered, %v", k, err)
	}
	c.eventually("swim joined 3 seeds", quick, c.converged)

	// Probes in both directions go over UDP: none may fail while all live.
	c.eventually("swim nodes probed 3 times", 10*time.Second, func() error {
		for _, n := range c.sw {
			if cs := n.d.Stats(); cs.Probes < 3 {
				return fmt.Errorf("%s has probed %d times", n.name, cs.Probes)
			}
		}
		return nil
	})
	for _, n := range c.sw {
		if cs := n.d.Stats(); cs.ProbesFailed != 0 || cs.Suspicions != 0 {
			t.Errorf("%s: %d failed probes, %d suspicions in a healthy cluster", n.name, cs.ProbesFailed, cs.Suspicions)
		}
	}
	if err := c.converged(); err != nil {
		t.Fatal(err)
	}
	// memberlist's table agrees: everyone alive, at incarnation 1.
	for _, m := range c.ml {
		tab, err := mlTable(m)
		if err != nil {
			t.Fatal(err)
		}
		for name, e := range tab {
			if e.State != mlwire.NodeStateType(memberlist.StateAlive) || e.Incarnation != 1 {
				t.Errorf("memberlist %s holds %s in state %d at incarnation %d", m.name, name, e.State, e.Incarnation)
			}
		}
	}
}

// Crashed nodes of either kind are declared dead by nodes of both kinds,
// each in its own cluster of 3 memberlist and 2 swim nodes (a second crash
// in the same cluster would come while the first victim, still gossiped to
// for GossipToTheDeadTime, takes half of every broadcast's two sends).
func TestCrashDetected(t *testing.T) {
	for _, victim := range []string{"ml-3", "sw-2"} {
		t.Run(victim, func(t *testing.T) {
			c := newCluster(t)
			c.trio()
			m3 := c.joinML("ml-3")
			s2 := c.joinSwim("sw-2")
			c.eventually("5 nodes converged", quick, c.converged)

			if victim == "ml-3" {
				if err := m3.ml.Shutdown(); err != nil {
					t.Fatal(err)
				}
				m3.down = true
			} else {
				c.stopSwim(s2)
			}
			c.eventually(victim+" declared dead", detect, func() error {
				return c.gone(victim, rumor.StateDead)
			})
			if err := c.converged(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A graceful leave of either kind is seen as a leave, not a failure. (In a
// cluster of 4, every member that hears the leave first-hand passes it to
// both remaining members: left members are not gossiped to.)
func TestLeave(t *testing.T) {
	c := newCluster(t)
	m1, s1, _ := c.trio()
	c.joinSwim("sw-2")
	c.eventually("4 nodes converged", quick, c.converged)

	// The leaving node keeps running until all have heard, as a real one
	// would for a while; then it stops.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s1.d.Leave(ctx); err != nil {
		t.Fatalf("swim leave: %v", err)
	}
	c.eventually("swim leave seen as left", gossip, func() error {
		return c.gone("sw-1", rumor.StateLeft)
	})
	c.stopSwim(s1)

	if err := m1.ml.Leave(5 * time.Second); err != nil {
		t.Fatalf("memberlist leave: %v", err)
	}
	c.eventually("memberlist leave seen as left", gossip, func() error {
		return c.gone("ml-1", rumor.StateLeft)
	})
	_ = m1.ml.Shutdown()
	m1.down = true
	// Nobody was declared dead along the way.
	for _, n := range c.sw {
		for _, ev := range n.events() {
			if ev.Kind == rumor.EventFailed || ev.Kind == rumor.EventSuspect {
				t.Errorf("%s: %v %s (from %s)", n.name, ev.Kind, ev.Member.Name, ev.From)
			}
		}
	}
	if err := c.converged(); err != nil {
		t.Fatal(err)
	}
}

// Metadata updates travel both ways.
func TestMetaUpdate(t *testing.T) {
	c := newCluster(t)
	m1 := c.addML("ml-1", "ml-1 v1")
	s1 := c.addSwim("sw-1", "sw-1 v1")
	s2 := c.addSwim("sw-2", "sw-2 v1")
	c.swimJoin(s1, m1.addr())
	if k, err := s2.d.Join([]netip.AddrPort{m1.addr(), s1.d.Addr()}); err != nil || k != 2 {
		t.Fatalf("sw-2 joins: %d answered, %v", k, err)
	}
	c.eventually("3 nodes converged", gossip, c.converged)

	metaSeen := func(name, want string) error {
		for _, n := range c.ml {
			if n.name == name {
				continue
			}
			s, ok := n.del.last(name)
			if !ok || string(s.meta) != want {
				return fmt.Errorf("memberlist %s holds %s's meta %q, want %q", n.name, name, s.meta, want)
			}
		}
		for _, n := range c.sw {
			if n.name == name {
				continue
			}
			m, _ := n.d.Member(name)
			if string(m.Meta) != want {
				return fmt.Errorf("swim %s holds %s's meta %q, want %q", n.name, name, m.Meta, want)
			}
		}
		return nil
	}
	for _, name := range c.running() {
		if err := metaSeen(name, name+" v1"); err != nil {
			t.Fatalf("after joining: %v", err)
		}
	}

	if err := s1.d.UpdateMeta([]byte("sw-1 v2")); err != nil {
		t.Fatal(err)
	}
	c.eventually("swim metadata update seen", gossip, func() error { return metaSeen("sw-1", "sw-1 v2") })
	if s, _ := m1.del.last("sw-1"); s.event != "update" {
		t.Errorf("memberlist ml-1: last notification about sw-1 is %q, want update", s.event)
	}

	m1.del.setMeta([]byte("ml-1 v2"))
	if err := m1.ml.UpdateNode(5 * time.Second); err != nil {
		t.Fatalf("memberlist UpdateNode: %v", err)
	}
	c.eventually("memberlist metadata update seen", gossip, func() error { return metaSeen("ml-1", "ml-1 v2") })
	// Events reach the application through a channel, after the table
	// changed: wait for them rather than expect them at once.
	c.eventually("update events about ml-1", gossip, func() error {
		for _, n := range c.sw {
			i := slices.IndexFunc(n.events(), func(ev rumor.Event) bool {
				return ev.Kind == rumor.EventUpdate && ev.Member.Name == "ml-1" && string(ev.Member.Meta) == "ml-1 v2"
			})
			if i < 0 {
				return fmt.Errorf("swim %s: no update event about ml-1", n.name)
			}
		}
		return nil
	})
	if err := c.converged(); err != nil {
		t.Fatal(err)
	}
}

// A false suspicion injected into one node reaches the accused by gossip
// (or along with a ping, as memberlist and the core both send a suspect
// with the probe of a suspect member), and the accused refutes it; both
// directions.
func TestSuspicionRefuted(t *testing.T) {
	c := newCluster(t)
	// A swim node that believes the forged suspicion probes the suspect
	// with the accusation attached (From: itself); memberlist refutes that
	// too, with a warning.
	c.refutes = true
	m1 := c.addML("ml-1", "")
	m2 := c.addML("ml-2", "")
	s1 := c.addSwim("sw-1", "")
	c.swimJoin(s1, m1.addr())
	c.mlJoin(m2, s1.d.Addr())
	c.eventually("3 nodes converged", gossip, c.converged)

	// memberlist accuses a swim node: the suspect goes to ml-1 only, so
	// sw-1 hears of it from memberlist.
	inc0 := s1.d.Self().Incarnation
	sendPacket(t, m1.addr(), mlwire.TypeSuspect, &mlwire.Suspect{Incarnation: inc0, Node: "sw-1", From: "injector"})
	c.eventually("memberlist suspicion of a swim node refuted", gossip, func() error {
		inc := s1.d.Self().Incarnation
		if inc <= inc0 {
			return fmt.Errorf("sw-1 still at incarnation %d", inc)
		}
		for _, n := range c.ml {
			tab, err := mlTable(n)
			if err != nil {
				return err
			}
			if e := tab["sw-1"]; e.Incarnation != inc || e.State != mlwire.NodeStateType(memberlist.StateAlive) {
				return fmt.Errorf("memberlist %s holds sw-1 in state %d at incarnation %d, want alive at %d", n.name, e.State, e.Incarnation, inc)
			}
		}
		return nil
	})
	c.eventually("sw-1's refute event", gossip, func() error {
		if !slices.ContainsFunc(s1.events(), func(ev rumor.Event) bool { return ev.Kind == rumor.EventRefute }) {
			return fmt.Errorf("sw-1 emitted no refute event")
		}
		return nil
	})

	// swim accuses a memberlist node: the suspect goes to sw-1 only.
	before, _ := s1.d.Member("ml-2")
	sendPacket(t, s1.d.Addr(), mlwire.TypeSuspect, &mlwire.Suspect{Incarnation: before.Incarnation, Node: "ml-2", From: "injector"})
	c.eventually("swim suspicion of a memberlist node refuted", gossip, func() error {
		tab, err := mlTable(m2)
		if err != nil {
			return err
		}
		inc := tab["ml-2"].Incarnation
		if inc <= before.Incarnation {
			return fmt.Errorf("ml-2 still at incarnation %d", inc)
		}
		if m, _ := s1.d.Member("ml-2"); m.State != rumor.StateAlive || m.Incarnation != inc {
			return fmt.Errorf("swim sw-1 holds ml-2 %v at %d, want alive at %d", m.State, m.Incarnation, inc)
		}
		tab, err = mlTable(m1)
		if err != nil {
			return err
		}
		if e := tab["ml-2"]; e.Incarnation != inc || e.State != mlwire.NodeStateType(memberlist.StateAlive) {
			return fmt.Errorf("memberlist ml-1 holds ml-2 in state %d at incarnation %d, want alive at %d", e.State, e.Incarnation, inc)
		}
		return nil
	})
	// The events come through a channel, after the table changed.
	c.eventually("sw-1's suspect and recover events about ml-2", gossip, func() error {
		evs := s1.events()
		if !slices.ContainsFunc(evs, func(ev rumor.Event) bool {
			return ev.Kind == rumor.EventSuspect && ev.Member.Name == "ml-2" && ev.From == "injector"
		}) {
			return fmt.Errorf("sw-1 did not take up the injected suspicion of ml-2")
		}
		if !slices.ContainsFunc(evs, func(ev rumor.Event) bool { return ev.Kind == rumor.EventRecover && ev.Member.Name == "ml-2" }) {
			return fmt.Errorf("sw-1 saw no recovery of ml-2")
		}
		return nil
	})
	evs := s1.events()
	for _, ev := range evs {
		if ev.Kind == rumor.EventFailed {
			t.Errorf("sw-1: %s declared failed by %s", ev.Member.Name, ev.From)
		}
	}
	if err := c.converged(); err != nil {
		t.Fatal(err)
	}
}
