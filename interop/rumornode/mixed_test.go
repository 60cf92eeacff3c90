// Package rumornode runs rumor nodes (package rumor) and real memberlist
// v0.7.0 nodes in one cluster on loopback.
package rumornode

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

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
			m1 := startML(t, "ml-1", func(c *memberlist.Config) { c.SecretKey, c.Label = tc.key, tc.label })
			r1 := startRumor(t, "rumor-1", func(c *rumor.Config) { c.SecretKey, c.Label = tc.key, tc.label })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if k, err := r1.Join(ctx, []string{mlAddr(m1)}); err != nil || k != 1 {
				t.Fatalf("rumor joins memberlist: %d, %v", k, err)
			}
			m2 := startML(t, "ml-2", func(c *memberlist.Config) { c.SecretKey, c.Label = tc.key, tc.label })
			if k, err := m2.Join([]string{r1.Addr().String()}); err != nil || k != 1 {
				t.Fatalf("memberlist joins rumor: %d, %v", k, err)
			}
			r2 := startRumor(t, "rumor-2", func(c *rumor.Config) { c.SecretKey, c.Label = tc.key, tc.label })
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
