package rumornode

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

// startML starts a memberlist node on 127.0.0.1 with the local profile,
// after edit, and shuts it down when the test ends.
func startML(t *testing.T, name string, edit func(*memberlist.Config)) *memberlist.Memberlist {
	t.Helper()
	c := memberlist.DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort, c.LogOutput = name, "127.0.0.1", 0, io.Discard
	if edit != nil {
		edit(c)
	}
	m, err := memberlist.Create(c)
	if err != nil {
		t.Fatalf("memberlist.Create(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// startRumor is startML for a rumor node.
func startRumor(t *testing.T, name string, edit func(*rumor.Config)) *rumor.Node {
	t.Helper()
	c := rumor.DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort = name, "127.0.0.1", 0
	if edit != nil {
		edit(c)
	}
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

// within polls cond until it holds, failing the test after limit.
func within(t *testing.T, limit time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
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

// converged polls until every node of both kinds lists exactly want.
func converged(t *testing.T, mls []*memberlist.Memberlist, rs []*rumor.Node, want int) {
	t.Helper()
	convergedWithin(t, 15*time.Second, mls, rs, want)
}

func convergedWithin(t *testing.T, limit time.Duration, mls []*memberlist.Memberlist, rs []*rumor.Node, want int) {
	t.Helper()
	within(t, limit, fmt.Sprintf("converged to %d members", want), func() error {
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
	})
}
