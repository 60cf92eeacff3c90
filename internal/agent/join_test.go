package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuf is a log destination the test reads.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestJoinSeeds(t *testing.T) {
	defer func(d time.Duration) { firstRetry = d }(firstRetry)
	firstRetry = time.Millisecond
	ctx := context.Background()

	// The first node, told to join itself, starts the cluster.
	var log1 logBuf
	a := startAgent(t, "a", func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&log1, nil)) })
	a.cfg.Seeds = []string{a.addr()}
	if err := a.JoinSeeds(ctx); err != nil {
		t.Fatalf("joining itself: %v", err)
	}
	if !strings.Contains(log1.String(), "starting a new cluster") {
		t.Errorf("log says %q; want it to start a new cluster", log1.String())
	}

	// A seed list with itself and the first node joins the first.
	b := startAgent(t, "b", nil)
	b.cfg.Seeds = []string{b.addr(), a.addr()}
	if err := b.JoinSeeds(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Member("b"); !ok {
		t.Error("a does not know b after b joined")
	}

	// An unreachable seed: logged, retried five times, then given up.
	var log3 logBuf
	c := startAgent(t, "c", func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&log3, nil)) })
	c.cfg.Seeds = []string{"127.0.0.1:1"}
	err := c.JoinSeeds(ctx)
	if err == nil || strings.Count(log3.String(), "join failed; retrying") != 4 || !strings.Contains(log3.String(), "giving up") {
		t.Errorf("unreachable seed: %v; log:\n%s", err, log3.String())
	}

	// With RetryJoin it keeps trying until the context ends.
	c.cfg.RetryJoin = true
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := c.JoinSeeds(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("retry-join: %v, want the context's end", err)
	}
}

func TestResolveDNS(t *testing.T) {
	defer func(s, i any) {
		lookupSRV = s.(func(context.Context, string, string, string) (string, []*net.SRV, error))
		lookupIP = i.(func(context.Context, string) ([]netip.Addr, error))
	}(lookupSRV, lookupIP)
	lookupSRV = func(_ context.Context, _, _, name string) (string, []*net.SRV, error) {
		if name == "_gossip._tcp.rumor.svc" {
			return "", []*net.SRV{{Target: "pod-0.rumor.svc.", Port: 7000}, {Target: "pod-1.rumor.svc.", Port: 7001}}, nil
		}
		return "", nil, errors.New("no SRV")
	}
	lookupIP = func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "pod-0.rumor.svc.":
			return []netip.Addr{netip.MustParseAddr("10.0.0.1")}, nil
		case "pod-1.rumor.svc.":
			return []netip.Addr{netip.MustParseAddr("10.0.0.2")}, nil
		case "rumor.svc":
			return []netip.Addr{netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("fd00::4")}, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	for _, tc := range []struct{ name, want string }{
		{"_gossip._tcp.rumor.svc", "[10.0.0.1:7000 10.0.0.2:7001]"},
		{"rumor.svc", "[10.0.0.3:7946 [fd00::4]:7946]"},
		{"nothing.svc", "error"},
	} {
		got, err := resolveDNS(context.Background(), tc.name, 7946)
		s := fmt.Sprint(got)
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("resolveDNS(%s) = %s (%v), want %s", tc.name, s, err, tc.want)
		}
	}
}
