// Package agent tests rumor's agent (internal/agent) in clusters with real
// memberlist v0.7.0 nodes.
package agent

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor/internal/agent"
	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/tags"
)

// inbox is a memberlist delegate that records user messages.
type inbox struct {
	mu  sync.Mutex
	got []string
}

func (b *inbox) NotifyMsg(m []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, string(m))
}
func (b *inbox) NodeMeta(int) []byte             { return []byte("plain memberlist") }
func (b *inbox) GetBroadcasts(int, int) [][]byte { return nil }
func (b *inbox) LocalState(bool) []byte          { return nil }
func (b *inbox) MergeRemoteState([]byte, bool)   {}
func (b *inbox) messages() []string              { b.mu.Lock(); defer b.mu.Unlock(); return slices.Clone(b.got) }

func startML(t *testing.T, name string) (*memberlist.Memberlist, *inbox) {
	t.Helper()
	c := memberlist.DefaultLocalConfig()
	box := &inbox{}
	c.Name, c.BindAddr, c.BindPort, c.LogOutput, c.Delegate = name, "127.0.0.1", 0, io.Discard, box
	m, err := memberlist.Create(c)
	if err != nil {
		t.Fatalf("memberlist.Create(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m, box
}

func startAgent(t *testing.T, name string) *agent.Agent {
	t.Helper()
	a, err := agent.Start(agent.Config{Name: name, Profile: "local", BindAddr: "127.0.0.1", Tags: map[string]string{"role": name}})
	if err != nil {
		t.Fatalf("agent.Start(%s): %v", name, err)
	}
	t.Cleanup(a.Shutdown)
	return a
}

func within(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s: %v", what, err)
		}
		<-time.After(10 * time.Millisecond)
	}
}

func payloads(a *agent.Agent, typ string) []string {
	evs, _, _ := a.EventsSince(0, 1<<20)
	var out []string
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev.Text)
		}
	}
	return out
}

// TestBroadcastReachesMemberlistNodes: in a 5-node cluster on the local
// profile (3 agents, 2 memberlist nodes), every broadcast from an agent
// reaches every agent's event stream and every memberlist node's
// delegate, once each. memberlist's own broadcast budget misses a member
// of a cluster this small about half the time, and memberlist nodes never
// pass a user message on.
func TestBroadcastReachesMemberlistNodes(t *testing.T) {
	ctx := context.Background()
	agents := []*agent.Agent{startAgent(t, "a1"), startAgent(t, "a2"), startAgent(t, "a3")}
	ml1, box1 := startML(t, "m1")
	ml2, box2 := startML(t, "m2")
	seed := agents[0].Node().Addr().String()
	for _, a := range agents[1:] {
		if _, err := a.Join(ctx, []string{seed}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*memberlist.Memberlist{ml1, ml2} {
		if _, err := m.Join([]string{seed}); err != nil {
			t.Fatal(err)
		}
	}
	within(t, "all five see five", func() error {
		for _, a := range agents {
			if n := a.Node().NumMembers(); n != 5 {
				return fmt.Errorf("%s sees %d", a.Name(), n)
			}
		}
		for _, m := range []*memberlist.Memberlist{ml1, ml2} {
			if n := m.NumMembers(); n != 5 {
				return fmt.Errorf("%s sees %d", m.LocalNode().Name, n)
			}
		}
		return nil
	})

	const rounds = 20
	var want []string
	for i := range rounds {
		text := fmt.Sprintf("broadcast %d", i)
		want = append(want, text)
		if err := agents[i%len(agents)].Broadcast(ctx, []byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	within(t, "every broadcast delivered everywhere", func() error {
		for _, a := range agents {
			if got := payloads(a, api.EventBroadcast); !slices.Equal(sorted(got), sorted(want)) {
				return fmt.Errorf("%s has %d of %d: %q", a.Name(), len(got), rounds, got)
			}
		}
		for i, box := range []*inbox{box1, box2} {
			if got := box.messages(); !slices.Equal(sorted(got), sorted(want)) {
				return fmt.Errorf("m%d has %d of %d: %q", i+1, len(got), rounds, got)
			}
		}
		return nil
	})
	t.Logf("delivered %d broadcasts to 3 agents and 2 memberlist nodes, each once", rounds)

	// The other way: memberlist's classic "send to every member" reaches
	// the agents' event streams as messages.
	for _, n := range ml1.Members() {
		if err := ml1.SendReliable(n, []byte("from m1")); err != nil {
			t.Fatalf("m1 sends to %s: %v", n.Name, err)
		}
	}
	within(t, "memberlist's message in every agent's stream", func() error {
		for _, a := range agents {
			if got := payloads(a, api.EventMessage); !slices.Equal(got, []string{"from m1"}) {
				return fmt.Errorf("%s has %q", a.Name(), got)
			}
		}
		return nil
	})

	// Tags: memberlist sees Serf-format metadata; the agents see the
	// memberlist node's metadata as it is, with no tags.
	for _, n := range ml1.Members() {
		if n.Name == "a2" {
			got, err := tags.Decode(n.Meta)
			if err != nil || got["role"] != "a2" {
				t.Errorf("memberlist sees a2's metadata %q: tags %v, %v", n.Meta, got, err)
			}
		}
	}
	m, ok := agents[0].Member("m2")
	if !ok || string(m.Meta) != "plain memberlist" || len(m.Tags) != 0 || m.State != api.StateAlive {
		t.Errorf("a1 sees m2 as %+v, %v", m, ok)
	}
	if err := agents[1].Send(ctx, "m2", []byte("just m2")); err != nil {
		t.Fatal(err)
	}
	within(t, "a2's message to m2", func() error {
		if got := box2.messages(); !slices.Contains(got, "just m2") {
			return fmt.Errorf("m2 has %q", got)
		}
		return nil
	})
}
