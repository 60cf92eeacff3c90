package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer the test can read while run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitMatch polls until out matches re, and returns the match.
func waitMatch(t *testing.T, out *syncBuffer, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := rx.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("output never matched %q; got:\n%s", re, out.String())
		}
	}
}

type running struct {
	cancel context.CancelFunc
	out    *syncBuffer
	errw   *syncBuffer
	code   chan int
}

func launch(args ...string) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, out: &syncBuffer{}, errw: &syncBuffer{}, code: make(chan int, 1)}
	go func() { r.code <- run(ctx, args, r.out, r.errw) }()
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.code:
		if code != 0 {
			t.Errorf("exit code %d after SIGINT, want 0; stderr: %s", code, r.errw.String())
		}
	case <-time.After(10 * time.Second):
		t.Error("did not exit within 10 s of SIGINT")
	}
}

func TestClassic(t *testing.T) {
	n1 := launch("--bind-addr", "127.0.0.1", "--bind-port", "0", "--name", "n1")
	defer n1.cancel()
	addr := waitMatch(t, n1.out, `Member: n1 (127\.0\.0\.1:\d+)`)[1]
	if !strings.HasPrefix(n1.out.String(), "total 0\n") {
		t.Errorf("n1 output starts %q, want total 0", n1.out.String())
	}

	n2 := launch("--bind-addr", "127.0.0.1", "--bind-port", "0", "--name", "n2", "--clusterAddress", addr, "--message", "hello")
	waitMatch(t, n2.out, `(?s)^total 1\n(Member: n[12] 127\.0\.0\.1:\d+\n){2}`)
	waitMatch(t, n1.out, `join n2 127\.0\.0\.1:\d+`)
	waitMatch(t, n1.out, `message: hello`)
	waitMatch(t, n2.out, `message: hello`) // every member, itself included
	n2.stop(t)
	waitMatch(t, n1.out, `leave n2`)

	bad := launch("--bind-addr", "127.0.0.1", "--bind-port", "0", "--name", "n3", "--clusterAddress", "127.0.0.1:1")
	select {
	case code := <-bad.code:
		if code != 1 || !strings.Contains(bad.errw.String(), "join failed") {
			t.Errorf("failed join: exit %d, stderr %q; want 1 and the reason", code, bad.errw.String())
		}
	case <-time.After(15 * time.Second):
		t.Error("a failed join did not exit within 15 s")
	}
	n1.stop(t)
}

func TestClassicBadFlags(t *testing.T) {
	var out, errw syncBuffer
	if code := run(context.Background(), []string{"--profile", "moon"}, &out, &errw); code != 2 {
		t.Errorf("--profile moon: exit %d, want 2", code)
	}
}
