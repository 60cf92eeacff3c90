package rumornode

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

// TestWrongKeyOrLabelRejected: in a cluster of one memberlist and one rumor
// node, encrypted and labelled, a node of either kind with the wrong key
// or the wrong label cannot join through a seed of either kind, and the
// cluster never lists it.
func TestWrongKeyOrLabelRejected(t *testing.T) {
	key, label := []byte("0123456789abcdef"), "prod"
	m1 := startML(t, "ml-1", func(c *memberlist.Config) { c.SecretKey, c.Label = key, label })
	r1 := startRumor(t, "rumor-1", func(c *rumor.Config) { c.SecretKey, c.Label = key, label })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if k, err := r1.Join(ctx, []string{mlAddr(m1)}); err != nil || k != 1 {
		t.Fatalf("rumor joins memberlist: %d, %v", k, err)
	}
	converged(t, []*memberlist.Memberlist{m1}, []*rumor.Node{r1}, 2)
	errorsBefore := r1.Stats().DecodeErrors

	seeds := []string{mlAddr(m1), r1.Addr().String()}
	for _, tc := range []struct {
		name  string
		key   []byte
		label string
	}{
		{"wrong key", []byte("fedcba9876543210"), label},
		{"wrong label", key, "staging"},
		{"no key", nil, label}, // in the clear, refused by GossipVerifyIncoming
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, seed := range seeds {
				ri := startRumor(t, "rumor-intruder", func(c *rumor.Config) { c.SecretKey, c.Label = tc.key, tc.label })
				if k, err := ri.Join(ctx, []string{seed}); err == nil || k != 0 {
					t.Errorf("rumor intruder joins %s: %d contacted, error %v; want 0 and an error", seed, k, err)
				}
				mi := startML(t, "ml-intruder", func(c *memberlist.Config) { c.SecretKey, c.Label = tc.key, tc.label })
				if k, err := mi.Join([]string{seed}); err == nil || k != 0 {
					t.Errorf("memberlist intruder joins %s: %d contacted, error %v; want 0 and an error", seed, k, err)
				}
				// Whatever the intruders sent by UDP meanwhile changed nothing.
				for _, n := range m1.Members() {
					if n.Name != "ml-1" && n.Name != "rumor-1" {
						t.Errorf("memberlist lists %s", n.Name)
					}
				}
				for _, m := range r1.Members() {
					if m.Name != "ml-1" && m.Name != "rumor-1" {
						t.Errorf("rumor lists %s", m.Name)
					}
				}
				if ri.NumMembers() != 1 || mi.NumMembers() != 1 {
					t.Errorf("intruders list %d and %d members, want only themselves", ri.NumMembers(), mi.NumMembers())
				}
				_ = ri.Shutdown()
				_ = mi.Shutdown()
			}
		})
	}
	if got := r1.Stats().DecodeErrors; got <= errorsBefore {
		t.Errorf("rumor counted %d decode errors during the attempts, want some", got-errorsBefore)
	}
	converged(t, []*memberlist.Memberlist{m1}, []*rumor.Node{r1}, 2)
}
