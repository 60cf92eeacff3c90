package agent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/api"
)

// TestOwnersSpread: rendezvous hashing gives every agent a fair share of
// the plain members, even with names that differ only in a digit (a
// StatefulSet's).
func TestOwnersSpread(t *testing.T) {
	for _, names := range [][]string{{"rumor-0", "rumor-1", "rumor-2"}, {"a1", "a2", "a3", "a4"}, {"n1", "n2", "n3", "n4", "n5"}} {
		var agents []rumor.Member
		for _, n := range names {
			agents = append(agents, rumor.Member{Name: n})
		}
		owned := map[string]int{}
		const members = 1000
		for i := range members {
			owned[owner(agents, fmt.Sprintf("memberlist-%d", i))]++
		}
		fair := members / len(names)
		for _, n := range names {
			if owned[n] < fair*2/3 || owned[n] > fair*4/3 {
				t.Errorf("agents %v: %s owns %d of %d members, want about %d", names, n, owned[n], members, fair)
			}
		}
	}
}

// TestBroadcastPastCrashedAgent: once an agent is suspected, the others
// stop counting on it to relay or to own plain members, so a broadcast
// still reaches every live member.
func TestBroadcastPastCrashedAgent(t *testing.T) {
	ctx := context.Background()
	agents, plains := startMixed(t, 3, 6)
	crashed := agents[2]
	crashed.Shutdown()
	waitFor(t, "the crashed agent suspected by the others", func() error {
		for _, a := range agents[:2] {
			if m, ok := a.node.Member(crashed.Name()); ok && m.State == rumor.StateAlive {
				return fmt.Errorf("%s still holds %s alive", a.Name(), crashed.Name())
			}
		}
		return nil
	})
	if err := agents[0].Broadcast(ctx, []byte("after the crash")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broadcast reaches the live members", func() error {
		if got := received(agents[1], api.EventBroadcast); len(got) != 1 {
			return fmt.Errorf("a1 received %q", got)
		}
		for i, p := range plains {
			if got := p.got(); len(got) != 1 || got[0] != "after the crash" {
				return fmt.Errorf("p%d received %q", i, got)
			}
		}
		return nil
	})
}

// TestOversizedMessageDropped: a user message over the agent's limit is
// dropped and counted, not kept.
func TestOversizedMessageDropped(t *testing.T) {
	ctx := context.Background()
	a := startAgent(t, "a", nil)
	p, _ := startPlain(t, "p")
	if _, err := p.Join(ctx, []string{a.addr()}); err != nil {
		t.Fatal(err)
	}
	self, _ := p.Member("a")
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.SendReliable(sctx, self, make([]byte, maxMessageSize+1)); err != nil {
		t.Fatal(err)
	}
	if err := p.SendReliable(sctx, self, []byte("small")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the small message delivered", func() error {
		if got := received(a, api.EventMessage); len(got) != 1 || got[0] != ":small" {
			return fmt.Errorf("received %q", got)
		}
		return nil
	})
	waitFor(t, "the large message dropped", func() error {
		if s := a.RelayStats(); s.Dropped != 1 {
			return fmt.Errorf("relay stats %+v, want one dropped", s)
		}
		return nil
	})
	if got := received(a, api.EventMessage); len(got) != 1 {
		t.Errorf("events: %q, want the small message alone", got)
	}
}
