package rumornode

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

// TestKeyRotation rotates the key of a mixed, encrypted cluster mid-run
// (install the new key everywhere, switch the primary everywhere, remove
// the old one) and checks that no member is lost; afterwards only the new
// key gets in.
func TestKeyRotation(t *testing.T) {
	oldKey := []byte("0123456789abcdef")
	newKey := []byte("fedcba9876543210fedcba9876543210")

	ring, err := memberlist.NewKeyring(nil, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	ml := startML(t, "ml-1", func(c *memberlist.Config) { c.Keyring = ring })

	events := make(chan rumor.Event, 256)
	r := startRumor(t, "rumor-1", func(c *rumor.Config) { c.SecretKey, c.Events = oldKey, events })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if k, err := r.Join(ctx, []string{mlAddr(ml)}); err != nil || k != 1 {
		t.Fatalf("join: %d, %v", k, err)
	}
	converged(t, []*memberlist.Memberlist{ml}, []*rumor.Node{r}, 2)

	steps := []struct {
		name  string
		ml    func() error
		rumor func() error
	}{
		{"install", func() error { return ring.AddKey(newKey) }, func() error { return r.InstallKey(newKey) }},
		{"use", func() error { return ring.UseKey(newKey) }, func() error { return r.UseKey(newKey) }},
		{"remove", func() error { return ring.RemoveKey(oldKey) }, func() error { return r.RemoveKey(oldKey) }},
	}
	for _, s := range steps {
		if err := s.ml(); err != nil {
			t.Fatalf("memberlist %s: %v", s.name, err)
		}
		// Some probe rounds with the two sides out of step.
		timer := time.NewTimer(1500 * time.Millisecond)
		<-timer.C
		if err := s.rumor(); err != nil {
			t.Fatalf("rumor %s: %v", s.name, err)
		}
		converged(t, []*memberlist.Memberlist{ml}, []*rumor.Node{r}, 2)
	}
	if keys := r.Keys(); len(keys) != 1 || string(keys[0]) != string(newKey) {
		t.Fatalf("rumor keys after rotation: %q, want only the new key", keys)
	}
	// Run on the new key for a while: still two members, nobody suspected.
	timer := time.NewTimer(3 * time.Second)
	<-timer.C
	converged(t, []*memberlist.Memberlist{ml}, []*rumor.Node{r}, 2)
	for len(events) > 0 {
		if ev := <-events; ev.Kind == rumor.EventFailed || ev.Kind == rumor.EventLeave {
			t.Errorf("during the rotation rumor saw %v %s", ev.Kind, ev.Member.Name)
		}
	}

	// Only the new key gets in now.
	late := startRumor(t, "late-old", func(c *rumor.Config) { c.SecretKey = oldKey })
	if k, err := late.Join(ctx, []string{mlAddr(ml)}); err == nil || k != 0 {
		t.Errorf("a node with the removed key joined: %d, %v", k, err)
	}
	fresh := startRumor(t, "late-new", func(c *rumor.Config) { c.SecretKey = newKey })
	if k, err := fresh.Join(ctx, []string{mlAddr(ml), r.Addr().String()}); err != nil || k != 2 {
		t.Errorf("a node with the new key: %d answered, %v; want 2", k, err)
	}
}
