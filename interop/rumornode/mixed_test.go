// Package rumornode runs rumor nodes (package rumor) and real memberlist
// v0.7.0 nodes in one cluster on loopback.
package rumornode

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

func startML(t *testing.T, name string, key []byte, label string) *memberlist.Memberlist {
	t.Helper()
	c := memberlist.DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort = name, "127.0.0.1", 0
	c.SecretKey, c.Label = key, label
	c.LogOutput = io.Discard
	m, err := memberlist.Create(c)
	if err != nil {
		t.Fatalf("memberlist.Create(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func startRumor(t *testing.T, name string, key []byte, label string) *rumor.Node {
	t.Helper()
	c := rumor.DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort = name, "127.0.0.1", 0
	c.SecretKey, c.Label = key, label
	n, err := rumor.Create(c)
	if err != nil {
		t.Fatalf("rumor.Create(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = n.Shutdown() })
	return n
}

func mlAddr(m *memberlist.Memberlist) string {
	n := m.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// converged polls until every node of both kinds lists exactly want.
func converged(t *testing.T, mls []*memberlist.Memberlist, rs []*rumor.Node, want int) {
	t.Helper()
	convergedWithin(t, 15*time.Second, mls, rs, want)
}

func convergedWithin(t *testing.T, limit time.Duration, mls []*memberlist.Memberlist, rs []*rumor.Node, want int) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := func() error {
			for _, m := range mls {
				if got := m.NumMembers(); got != want {
					var names []string
					for _, n := range m.Members() {
						names = append(names, n.Name)
					}
					return fmt.Errorf("memberlist %s lists %d members: %v", m.LocalNode().Name, got, names)
				}
			}
			for _, r := range rs {
				if got := r.NumMembers(); got != want {
					return fmt.Errorf("rumor %s lists %d members", r.LocalNode().Name, got)
				}
			}
			return nil
		}()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("not converged to %d members within %v: %v", want, limit, err)
		}
	}
}

// TestMixedCluster: rumor joins a memberlist seed and memberlist joins a
// rumor seed, plain and with encryption and a label; then a rumor node
// leaves and a memberlist node crashes, and both kinds notice.
func TestMixedCluster(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   []byte
		label string
	}{
		{"plain", nil, ""},
		{"encrypted+label", []byte("0123456789abcdef0123456789abcdef"), "prod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m1 := startML(t, "ml-1", tc.key, tc.label)
			r1 := startRumor(t, "rumor-1", tc.key, tc.label)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if k, err := r1.Join(ctx, []string{mlAddr(m1)}); err != nil || k != 1 {
				t.Fatalf("rumor joins memberlist: %d, %v", k, err)
			}
			m2 := startML(t, "ml-2", tc.key, tc.label)
			if k, err := m2.Join([]string{r1.Addr().String()}); err != nil || k != 1 {
				t.Fatalf("memberlist joins rumor: %d, %v", k, err)
			}
			r2 := startRumor(t, "rumor-2", tc.key, tc.label)
			if k, err := r2.Join(ctx, []string{mlAddr(m1), mlAddr(m2), r1.Addr().String()}); err != nil || k != 3 {
				t.Fatalf("rumor joins all: %d, %v", k, err)
			}
			mls, rs := []*memberlist.Memberlist{m1, m2}, []*rumor.Node{r1, r2}
			converged(t, mls, rs, 4)

			if err := r2.Leave(ctx); err != nil {
				t.Fatalf("rumor leaves: %v", err)
			}
			_ = r2.Shutdown()
			converged(t, mls, rs[:1], 3)

			_ = m2.Shutdown() // a crash
			converged(t, mls[:1], rs[:1], 2)
		})
	}
}
