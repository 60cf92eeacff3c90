package rumornode

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

// side says how one kind of node is set up.
type side struct {
	bind     string
	compress bool
}

func (s side) ml(c *memberlist.Config) { c.BindAddr, c.EnableCompression = s.bind, s.compress }
func (s side) rumor(c *rumor.Config)   { c.BindAddr, c.EnableCompression = s.bind, s.compress }

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
		ml, rumor side
	}{
		{"ipv6", side{"::1", true}, side{"::1", true}},
		{"memberlist-compresses", side{"127.0.0.1", true}, side{"127.0.0.1", false}},
		{"rumor-compresses", side{"127.0.0.1", false}, side{"127.0.0.1", true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m1 := startML(t, "ml-1", tc.ml.ml)
			r1 := startRumor(t, "rumor-1", tc.rumor.rumor)
			m2 := startML(t, "ml-2", tc.ml.ml)
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
		mls = append(mls, startML(t, "ml-"+strconv.Itoa(i), nil))
		rs = append(rs, startRumor(t, "rumor-"+strconv.Itoa(i), nil))
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
	convergedWithin(t, bound, mls[:14], rs[:14], 28) // both crashes detected by all
	t.Logf("crashes detected by all 28 after %v (bound %v)", time.Since(start), bound)
}
