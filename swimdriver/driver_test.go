package swimdriver

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
)

// eventually polls cond until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("after %v: %v", timeout, err)
		}
	}
}

func start(t *testing.T, name string) *Driver {
	t.Helper()
	cfg := swim.Local()
	cfg.Name = name
	cfg.Addr = netip.MustParseAddrPort("127.0.0.1:0")
	d, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Addr().Port() == 0 {
		t.Fatalf("%s: port still 0 after Start", name)
	}
	return d
}

func sees(d *Driver, name string, want swim.State) error {
	m, ok := d.Member(name)
	if !ok {
		return fmt.Errorf("%s does not know %s", d.Name(), name)
	}
	if m.State != want {
		return fmt.Errorf("%s holds %s %v, want %v", d.Name(), name, m.State, want)
	}
	return nil
}

func TestTwoNodesJoinAndLeave(t *testing.T) {
	before := runtime.NumGoroutine()

	a, b := start(t, "a"), start(t, "b")
	n, err := b.Join([]netip.AddrPort{a.Addr()})
	if err != nil || n != 1 {
		t.Fatalf("join: %d seeds answered, err %v", n, err)
	}
	eventually(t, 5*time.Second, func() error {
		if err := sees(a, "b", swim.StateAlive); err != nil {
			return err
		}
		return sees(b, "a", swim.StateAlive)
	})
	if got := len(a.Members()); got != 2 {
		t.Fatalf("a lists %d members, want 2", got)
	}
	// Probes go over UDP: wait for a's first acked probe of b.
	eventually(t, 5*time.Second, func() error {
		if c := a.Counters(); c.Probes == 0 || c.ProbesFailed != 0 {
			return fmt.Errorf("a: %d probes, %d failed", c.Probes, c.ProbesFailed)
		}
		return nil
	})

	// The leave notice travels by gossip (UDP).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Leave(ctx); err != nil {
		t.Fatalf("leave: %v", err)
	}
	eventually(t, 5*time.Second, func() error { return sees(a, "b", swim.StateLeft) })

	a.Shutdown()
	b.Shutdown()
	b.Shutdown() // idempotent
	if _, err := a.Join([]netip.AddrPort{b.Addr()}); err != ErrClosed {
		t.Fatalf("Join after Shutdown: %v, want ErrClosed", err)
	}
	eventually(t, 5*time.Second, func() error {
		if now := runtime.NumGoroutine(); now > before {
			return fmt.Errorf("%d goroutines, %d before the test", now, before)
		}
		return nil
	})
}

func TestUpdateMetaPropagates(t *testing.T) {
	a, b := start(t, "a"), start(t, "b")
	defer a.Shutdown()
	defer b.Shutdown()
	if _, err := a.Join([]netip.AddrPort{b.Addr()}); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateMeta([]byte("v2")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		m, _ := b.Member("a")
		if string(m.Meta) != "v2" {
			return fmt.Errorf("b holds a's meta %q", m.Meta)
		}
		return nil
	})
}

func TestJoinUnreachableSeed(t *testing.T) {
	a := start(t, "a")
	b := start(t, "b")
	dead := b.Addr()
	b.Shutdown()
	defer a.Shutdown()
	n, err := a.Join([]netip.AddrPort{dead})
	if n != 0 || err == nil {
		t.Fatalf("join of a closed port: %d answered, err %v", n, err)
	}
}
