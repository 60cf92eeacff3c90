package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/api"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startAgent starts an agent on loopback with the local profile.
func startAgent(t *testing.T, name string, edit func(*Config)) *Agent {
	t.Helper()
	cfg := Config{Name: name, Profile: "local", BindAddr: "127.0.0.1", Tags: map[string]string{"role": "test"}}
	if edit != nil {
		edit(&cfg)
	}
	a, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start(%s): %v", name, err)
	}
	t.Cleanup(a.Shutdown)
	return a
}

func (a *Agent) addr() string { return a.node.LocalNode().Addr.String() }

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15 s: %v", what, err)
		}
		tick := time.NewTimer(10 * time.Millisecond)
		<-tick.C
	}
}

// allSee reports whether each node lists n live members.
func allSee(n int, nodes ...*rumor.Node) func() error {
	return func() error {
		for _, node := range nodes {
			if got := node.NumMembers(); got != n {
				return fmt.Errorf("%s lists %d members, want %d", node.LocalNode().Name, got, n)
			}
		}
		return nil
	}
}

// received lists the payloads of an agent's broadcast events, and who they
// came from.
func received(a *Agent, typ string) []string {
	evs, _, _ := a.EventsSince(0, 1<<20)
	var out []string
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev.From+":"+ev.Text)
		}
	}
	return out
}

// plain is a memberlist-style program: a rumor node whose delegate counts
// user messages.
type plain struct {
	mu   sync.Mutex
	msgs []string
}

func (p *plain) NotifyMsg(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, string(b))
}
func (p *plain) GetBroadcasts(int, int) [][]byte { return nil }
func (p *plain) LocalState(bool) []byte          { return nil }
func (p *plain) MergeRemoteState([]byte, bool)   {}
func (p *plain) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.msgs)
}

func startPlain(t *testing.T, name string) (*rumor.Node, *plain) {
	t.Helper()
	c := rumor.DefaultLocalConfig()
	p := &plain{}
	c.Name, c.BindAddr, c.BindPort, c.Delegate = name, "127.0.0.1", 0, p
	n, err := rumor.Create(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown() })
	return n, p
}

// startMixed starts agents a0.. and plain nodes p0.., joins them all
// through a0 and waits until every one lists every other.
func startMixed(t *testing.T, numAgents, numPlain int) ([]*Agent, []*plain) {
	t.Helper()
	var agents []*Agent
	var nodes []*rumor.Node
	for i := range numAgents {
		agents = append(agents, startAgent(t, fmt.Sprintf("a%d", i), nil))
		nodes = append(nodes, agents[i].node)
	}
	var plains []*plain
	for i := range numPlain {
		n, p := startPlain(t, fmt.Sprintf("p%d", i))
		nodes, plains = append(nodes, n), append(plains, p)
	}
	for _, n := range nodes[1:] {
		if _, err := n.Join(context.Background(), []string{agents[0].addr()}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all see all", allSee(len(nodes), nodes...))
	return agents, plains
}

// TestBroadcastReachesEveryMember: five agents and three plain nodes; each
// broadcast is delivered once to every agent's event stream and once to
// every plain node's delegate.
func TestBroadcastReachesEveryMember(t *testing.T) {
	ctx := context.Background()
	agents, plains := startMixed(t, 5, 3)
	for round, from := range []*Agent{agents[0], agents[3]} {
		text := fmt.Sprintf("hello %d", round)
		if err := from.Broadcast(ctx, []byte(text)); err != nil {
			t.Fatal(err)
		}
		want := from.Name() + ":" + text
		waitFor(t, "broadcast delivered", func() error {
			for _, a := range agents {
				if got := received(a, api.EventBroadcast); len(got) != round+1 || got[round] != want {
					return fmt.Errorf("%s received %q, want %d broadcasts ending with %q", a.Name(), got, round+1, want)
				}
			}
			for i, p := range plains {
				if got := p.got(); len(got) != round+1 || got[round] != text {
					return fmt.Errorf("p%d received %q, want %d messages ending with %q", i, got, round+1, text)
				}
			}
			return nil
		})
	}
	// No late duplicates: every copy in flight has landed once the relays
	// are idle again.
	for _, a := range agents {
		waitFor(t, "relays idle", func() error {
			if n := a.relay.inflight.Load(); n > 0 {
				return fmt.Errorf("%s has %d sends in flight", a.Name(), n)
			}
			return nil
		})
	}
	for _, a := range agents {
		if got := received(a, api.EventBroadcast); len(got) != 2 {
			t.Errorf("%s received %q, want each broadcast once", a.Name(), got)
		}
	}
}

func TestSendAndTags(t *testing.T) {
	ctx := context.Background()
	a, b := startAgent(t, "a", nil), startAgent(t, "b", nil)
	p, pd := startPlain(t, "p")
	for _, n := range []*rumor.Node{b.node, p} {
		if _, err := n.Join(ctx, []string{a.addr()}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all see all", allSee(3, a.node, b.node, p))
	if err := a.Send(ctx, "b", []byte("to b")); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ctx, "p", []byte("to p")); err != nil {
		t.Fatal(err)
	}
	if err := a.Send(ctx, "nobody", []byte("x")); err == nil {
		t.Error("Send to an unknown member succeeded")
	}
	waitFor(t, "messages delivered", func() error {
		if got := received(b, api.EventMessage); !slices.Equal(got, []string{"a:to b"}) {
			return fmt.Errorf("b received %q", got)
		}
		if got := pd.got(); !slices.Equal(got, []string{"to p"}) {
			return fmt.Errorf("p received %q", got)
		}
		return nil
	})

	if err := a.SetTags(ctx, map[string]string{"role": "web", "zone": "z1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tags seen by b", func() error {
		m, ok := b.Member("a")
		if !ok || len(m.Tags) != 2 || m.Tags["role"] != "web" || m.Tags["zone"] != "z1" {
			return fmt.Errorf("b sees a as %+v", m)
		}
		return nil
	})
	if err := a.SetTags(ctx, map[string]string{agentTag: "x"}); err == nil {
		t.Error("the reserved tag was accepted")
	}
	if m, _ := b.Member("p"); len(m.Tags) != 0 {
		t.Errorf("a plain node's tags: %v, want none", m.Tags)
	}
}

// TestLeaveTwice: concurrent and repeated leaves all succeed, and a join
// after leaving is refused.
func TestLeaveTwice(t *testing.T) {
	ctx := context.Background()
	a, b := startAgent(t, "a", nil), startAgent(t, "b", nil)
	if _, err := b.Join(ctx, []string{a.addr()}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- b.Leave(ctx) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("a concurrent leave: %v", err)
		}
	}
	if err := b.Leave(ctx); err != nil {
		t.Errorf("a second leave: %v", err)
	}
	if b.Health().Status != "left" {
		t.Errorf("health after leaving: %+v", b.Health())
	}
	if _, err := b.Join(ctx, []string{a.addr()}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("join after leaving: %v, want ErrInvalid", err)
	}
}
