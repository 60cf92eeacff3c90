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

type nodeOpts struct {
	bind     string
	compress bool
}

func startMLWith(t *testing.T, name string, o nodeOpts) *memberlist.Memberlist {
	t.Helper()
	c := memberlist.DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort, c.LogOutput, c.EnableCompression = name, o.bind, 0, io.Discard, o.compress
	m, err := memberlist.Create(c)
	if err != nil {
		t.Fatalf("memberlist.Create(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func startRumorWith(t *testing.T, name string, o nodeOpts) *rumor.Node {
	t.Helper()
	c := rumor.DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort, c.EnableCompression = name, o.bind, 0, o.compress
	n, err := rumor.Create(c)
	if err != nil {
		t.Fatalf("rumor.Create(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = n.Shutdown() })
	return n
}

// TestIPv6AndCompressionMix: a cluster on IPv6 loopback, and one where
// each kind has compression on while the other has it off.
func TestIPv6AndCompressionMix(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	for _, tc := range []struct {
		name      string
		ml, rumor nodeOpts
	}{
		{"ipv6", nodeOpts{"::1", true}, nodeOpts{"::1", true}},
		{"memberlist-compresses", nodeOpts{"127.0.0.1", true}, nodeOpts{"127.0.0.1", false}},
		{"rumor-compresses", nodeOpts{"127.0.0.1", false}, nodeOpts{"127.0.0.1", true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m1 := startMLWith(t, "ml-1", tc.ml)
			r1 := startRumorWith(t, "rumor-1", tc.rumor)
			m2 := startMLWith(t, "ml-2", tc.ml)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if k, err := r1.Join(ctx, []string{mlAddr(m1)}); err != nil || k != 1 {
				t.Fatalf("rumor joins memberlist: %d, %v", k, err)
			}
			if k, err := m2.Join([]string{r1.Addr().String()}); err != nil || k != 1 {
				t.Fatalf("memberlist joins rumor: %d, %v", k, err)
			}
			converged(t, []*memberlist.Memberlist{m1, m2}, []*rumor.Node{r1}, 3)
			if st := r1.Stats(); st.DecodeErrors != 0 {
				t.Errorf("rumor could not decode %d inputs: %v", st.DecodeErrors, st.LastDecodeError)
			}
		})
	}
}

// TestThirtyNodes: 15 memberlist and 15 rumor nodes converge, and a crash
// of each kind is detected by all within memberlist's own bound for the
// local profile at this size: suspicion max = 6 × 3 × log10(30) s ≈ 26.6 s,
// plus a probe round.
func TestThirtyNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("30 real nodes take up to a minute")
	}
	var mls []*memberlist.Memberlist
	var rs []*rumor.Node
	for i := range 15 {
		mls = append(mls, startMLWith(t, "ml-"+strconv.Itoa(i), nodeOpts{"127.0.0.1", true}))
		rs = append(rs, startRumorWith(t, "rumor-"+strconv.Itoa(i), nodeOpts{"127.0.0.1", true}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// rumor-0 joins ml-0; every other node joins through both.
	if _, err := rs[0].Join(ctx, []string{mlAddr(mls[0])}); err != nil {
		t.Fatal(err)
	}
	seeds := []string{mlAddr(mls[0]), rs[0].Addr().String()}
	for i := 1; i < 15; i++ {
		if _, err := mls[i].Join(seeds); err != nil {
			t.Fatalf("ml-%d joins: %v", i, err)
		}
		if _, err := rs[i].Join(ctx, seeds); err != nil {
			t.Fatalf("rumor-%d joins: %v", i, err)
		}
	}
	// Fourteen nodes of each kind join within a moment: memberlist's local
	// profile sends each alive only 4 times at this size, so some of its
	// nodes learn of some joiners only at their first push-pull, which
	// comes 15–30 s after start (a stagger, then one 15 s interval). That
	// is memberlist's own bound, and the one this test holds the mixed
	// cluster to.
	start := time.Now()
	convergedWithin(t, 40*time.Second, mls, rs, 30)
	t.Logf("30 nodes converged %v after the last join", time.Since(start))

	bound := 30 * time.Second
	_ = mls[14].Shutdown()
	_ = rs[14].Shutdown()
	start = time.Now()
	within(t, bound, "both crashes detected by all", func() error {
		for _, m := range mls[:14] {
			if got := m.NumMembers(); got != 28 {
				return fmt.Errorf("memberlist %s lists %d", m.LocalNode().Name, got)
			}
		}
		for _, r := range rs[:14] {
			if got := r.NumMembers(); got != 28 {
				return fmt.Errorf("rumor %s lists %d", r.LocalNode().Name, got)
			}
		}
		return nil
	})
	t.Logf("crashes detected by all 28 after %v (bound %v)", time.Since(start), bound)
}

func within(t *testing.T, limit time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
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
