package rumor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start creates a node on loopback with the local profile after edit.
func start(t *testing.T, name string, edit func(*Config)) *Node {
	t.Helper()
	c := DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort = name, "127.0.0.1", 0
	if edit != nil {
		edit(c)
	}
	n, err := Create(c)
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	t.Cleanup(func() { n.Shutdown() })
	return n
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	const limit = 15 * time.Second
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: not within %v: %v", what, limit, err)
		}
	}
}

// sees reports whether every node lists exactly the given names.
func sees(nodes []*Node, names ...string) func() error {
	return func() error {
		for _, n := range nodes {
			if got := n.NumMembers(); got != len(names) {
				return fmt.Errorf("%s lists %d members, want %d", n.cfg.Name, got, len(names))
			}
			for _, name := range names {
				found := false
				for _, m := range n.Members() {
					found = found || (m.Name == name && m.State == StateAlive)
				}
				if !found {
					return fmt.Errorf("%s does not list %s alive", n.cfg.Name, name)
				}
			}
		}
		return nil
	}
}

func join(t *testing.T, n *Node, seeds ...*Node) {
	t.Helper()
	var addrs []string
	for _, s := range seeds {
		addrs = append(addrs, s.Addr().String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if k, err := n.Join(ctx, addrs); err != nil || k != len(seeds) {
		t.Fatalf("%s joins %v: %d answered, %v", n.cfg.Name, addrs, k, err)
	}
}

func TestJoinLeaveCrash(t *testing.T) {
	a, b, c := start(t, "a", nil), start(t, "b", nil), start(t, "c", nil)
	if a.Addr().Port() == 0 || a.LocalNode().Name != "a" || a.LocalNode().Addr != a.Addr() {
		t.Fatalf("LocalNode = %+v at %v; want a at the bound port", a.LocalNode(), a.Addr())
	}
	join(t, b, a)
	join(t, c, a)
	all := []*Node{a, b, c}
	waitFor(t, "three nodes converge", sees(all, "a", "b", "c"))

	// A crash, to a and c: each suspects b and the other confirms, so the
	// suspicion ends at its minimum (3 s in the local profile).
	b.Shutdown()
	waitFor(t, "b's crash detected", sees([]*Node{a, c}, "a", "c"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Leave(ctx); err != nil {
		t.Fatalf("c leaves: %v", err)
	}
	c.Shutdown()
	waitFor(t, "c's leave seen", sees([]*Node{a}, "a"))

	// Members lists the live; AllMembers keeps the dead and the left.
	states := map[string]State{}
	for _, m := range a.AllMembers() {
		states[m.Name] = m.State
	}
	if want := map[string]State{"a": StateAlive, "b": StateDead, "c": StateLeft}; !maps.Equal(states, want) {
		t.Errorf("AllMembers: %v, want %v", states, want)
	}
}

// TestMembersBeforeNews: when Join returns, or an event arrives, Members
// already shows it; the classic example prints the members right after
// Join, and an event handler reads Members.
func TestMembersBeforeNews(t *testing.T) {
	seed := start(t, "seed", nil)
	lists := func(n *Node, name string) bool {
		return slices.ContainsFunc(n.Members(), func(m Member) bool { return m.Name == name })
	}
	for i := range 20 {
		events := make(chan Event, 64)
		n := start(t, fmt.Sprintf("n%d", i), func(c *Config) { c.Events = events })
		unlisted := make(chan bool, 1)
		go func() {
			for ev := range events {
				if ev.Kind == EventJoin && ev.Member.Name == "seed" {
					unlisted <- !lists(n, "seed")
				}
			}
		}()
		join(t, n, seed)
		if !lists(n, "seed") {
			t.Fatalf("right after Join, %s does not list seed", n.cfg.Name)
		}
		if <-unlisted {
			t.Fatalf("%s: join of seed reported before Members listed it", n.cfg.Name)
		}
		n.Shutdown()
		close(events)
	}
}

// TestEncryptionAndLabels: nodes with the same key and label form a
// cluster; a node with another key, or another label, cannot join it.
func TestEncryptionAndLabels(t *testing.T) {
	key := []byte("0123456789abcdef")
	secure := func(c *Config) { c.SecretKey, c.Label = key, "prod" }
	a, b := start(t, "a", secure), start(t, "b", secure)
	join(t, b, a)
	waitFor(t, "encrypted pair converges", sees([]*Node{a, b}, "a", "b"))

	for name, edit := range map[string]func(*Config){
		"wrong-key":   func(c *Config) { c.SecretKey, c.Label = []byte("fedcba9876543210"), "prod" },
		"wrong-label": func(c *Config) { c.SecretKey, c.Label = key, "dev" },
		"plaintext":   func(c *Config) { c.Label = "prod" },
	} {
		x := start(t, name, edit)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		k, err := x.Join(ctx, []string{a.Addr().String()})
		cancel()
		if err == nil || k != 0 {
			t.Errorf("%s joins an encrypted, labelled cluster: %d answered, err %v; want refused", name, k, err)
		}
		if got := a.NumMembers(); got != 2 {
			t.Errorf("after %s tried to join, a lists %d members; want 2", name, got)
		}
	}
}

func TestJoinErrors(t *testing.T) {
	a := start(t, "a", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.Join(ctx, []string{"not-an-address"}); err == nil {
		t.Error("Join with an unparsable seed: got nil error")
	}
	b := start(t, "b", nil)
	baddr := b.Addr().String()
	b.Shutdown()
	if k, err := a.Join(ctx, []string{"b/" + baddr}); err == nil || k != 0 {
		t.Errorf("Join with a dead seed: %d answered, %v; want an error", k, err)
	}
	a.Shutdown()
	if _, err := a.Join(ctx, []string{baddr}); err != ErrShutdown {
		t.Errorf("Join after Shutdown: got %v, want ErrShutdown", err)
	}
}

func TestKeys(t *testing.T) {
	plain := start(t, "plain", nil)
	if err := plain.InstallKey(make([]byte, 16)); err != ErrNoEncryption {
		t.Errorf("InstallKey without encryption: got %v, want ErrNoEncryption", err)
	}
	k1, k2 := []byte("0123456789abcdef"), []byte("abcdef0123456789")
	a := start(t, "a", func(c *Config) { c.SecretKey = k1 })
	if err := a.InstallKey([]byte("short")); err == nil {
		t.Error("InstallKey of a 5-byte key: got nil error")
	}
	if err := a.InstallKey(k2); err != nil {
		t.Fatal(err)
	}
	if err := a.RemoveKey(k1); err == nil {
		t.Error("RemoveKey of the primary key: got nil error")
	}
	if err := a.UseKey(k2); err != nil {
		t.Fatal(err)
	}
	if err := a.RemoveKey(k1); err != nil {
		t.Fatal(err)
	}
	if keys := a.Keys(); len(keys) != 1 || string(keys[0]) != string(k2) {
		t.Fatalf("Keys() = %q, want only k2", keys)
	}
	// The rotated node still talks to a node on the new key.
	b := start(t, "b", func(c *Config) { c.SecretKey = k2 })
	join(t, b, a)
	waitFor(t, "pair on the new key", sees([]*Node{a, b}, "a", "b"))
}

// TestLogging: membership changes reach the configured slog logger with
// the node's name.
func TestLogging(t *testing.T) {
	var buf syncBuf
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := start(t, "a", func(c *Config) { c.Logger = logger })
	b := start(t, "b", nil)
	join(t, b, a)
	waitFor(t, "a logs b's join", func() error {
		if s := buf.String(); !strings.Contains(s, "msg=\"member join\" node=a member=b") {
			return fmt.Errorf("log so far: %s", s)
		}
		return nil
	})
	if !strings.Contains(buf.String(), "msg=\"node started\" node=a") {
		t.Errorf("no start line in %s", buf.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Shutdown returns promptly, even with a stream in flight and a join
// waiting on an unreachable seed, and frees the port for a new node.
func TestShutdownReleasesPort(t *testing.T) {
	a := start(t, "a", nil)
	port := a.Addr().Port()
	// A join to a seed that takes the connection and never answers keeps
	// a stream waiting.
	mute, err := net.Listen("tcp", "127.0.0.1:0") // never accepts: the kernel's backlog does
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	joining := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := a.Join(ctx, []string{mute.Addr().String()})
		joining <- err
	}()
	waitFor(t, "join stream open", func() error {
		if a.Stats().StreamsOut == 0 {
			return errors.New("no stream yet")
		}
		return nil
	})
	done := make(chan struct{})
	go func() { a.Shutdown(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return within 5 s")
	}
	select {
	case err := <-joining:
		if err == nil {
			t.Error("Join during Shutdown: got nil error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Join did not return within 5 s of Shutdown")
	}
	b := start(t, "b", func(c *Config) { c.BindPort = int(port) })
	if b.Addr().Port() != port {
		t.Errorf("new node on %v, want the freed port %d", b.Addr(), port)
	}
}
