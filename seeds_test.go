package rumor

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestResolveSeeds(t *testing.T) {
	tests := []struct {
		seed string
		want string // addresses, or "error"
	}{
		{"127.0.0.1:7000", "[127.0.0.1:7000]"},
		{"n1/127.0.0.1:7000", "[127.0.0.1:7000]"},
		{"127.0.0.1", "[127.0.0.1:7946]"},
		{"[::1]:7000", "[[::1]:7000]"},
		{"[::1]", "[[::1]:7946]"},
		{"::1", "[[::1]:7946]"},
		{"::ffff:127.0.0.1", "[127.0.0.1:7946]"},
		{"127.0.0.1:0", "error"},
		{"127.0.0.1:99999", "error"},
		{":7000", "error"},
		{"", "error"},
		{"no-such-host.invalid:7000", "error"},
	}
	// Bounded even where no DNS server answers (no-such-host.invalid).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, tc := range tests {
		addrs, err := ResolveSeeds(ctx, []string{tc.seed}, DefaultPort)
		got := fmt.Sprint(addrs)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("ResolveSeeds(%q) = %s (%v), want %s", tc.seed, got, err, tc.want)
		}
	}
	// localhost resolves through the system's resolver (/etc/hosts).
	addrs, errs := resolveSeeds(context.Background(), []string{"localhost:7000"}, DefaultPort)
	if len(errs) > 0 || len(addrs) == 0 {
		t.Fatalf("localhost: %v, %v; want its loopback addresses", addrs, errs)
	}
	for _, a := range addrs {
		if !a.Addr().IsLoopback() || a.Port() != 7000 {
			t.Errorf("localhost resolved to %v, want loopback addresses at 7000", a)
		}
	}
}

// A node joins through a seed given by host name.
func TestJoinByName(t *testing.T) {
	a := start(t, "a", nil)
	b := start(t, "b", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// localhost may also resolve to ::1, where a does not listen: that
	// one fails, the join still succeeds.
	k, err := b.Join(ctx, []string{fmt.Sprintf("localhost:%d", a.Addr().Port())})
	if k < 1 {
		t.Fatalf("join via localhost: %d answered, %v", k, err)
	}
	waitFor(t, "pair converges", sees([]*Node{a, b}, "a", "b"))
}
