package transport

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

func listenT(t *testing.T, cfg Config) *Net {
	t.Helper()
	if !cfg.Bind.IsValid() {
		cfg.Bind = loopback
	}
	n, err := Listen(cfg)
	if err != nil {
		t.Fatalf("Listen(%v): %v", cfg.Bind, err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// eventually polls cond every few milliseconds for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: not true within 5 s", what)
		}
	}
}

func recvPacket(t *testing.T, n *Net) *Packet {
	t.Helper()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		if ps := n.Packets().Take(nil); len(ps) > 0 {
			if len(ps) > 1 {
				t.Fatalf("%d packets queued, want one", len(ps))
			}
			return ps[0]
		}
		select {
		case <-n.Packets().Ready():
		case <-timeout.C:
			t.Fatal("no packet within 5 s")
		}
	}
}

func TestPacketsBothWays(t *testing.T) {
	a, b := listenT(t, Config{}), listenT(t, Config{})
	if a.LocalAddr().Port() == 0 {
		t.Fatalf("LocalAddr: got port 0, want the chosen port")
	}
	before := time.Now()
	if err := a.WriteTo([]byte("ping"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	p := recvPacket(t, b)
	if string(p.Data) != "ping" || p.From != a.LocalAddr() || p.At.Before(before) {
		t.Fatalf("got %q from %v at %v, want \"ping\" from %v after %v", p.Data, p.From, p.At, a.LocalAddr(), before)
	}
	if err := b.WriteTo([]byte("ack"), p.From); err != nil {
		t.Fatal(err)
	}
	if p := recvPacket(t, a); string(p.Data) != "ack" {
		t.Fatalf("got %q, want ack", p.Data)
	}
}

func TestStreamExchange(t *testing.T) {
	a, b := listenT(t, Config{}), listenT(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := a.DialStream(ctx, b.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("push")); err != nil {
		t.Fatal(err)
	}
	var s net.Conn
	select {
	case s = <-b.Streams():
	case <-ctx.Done():
		t.Fatal("no stream accepted within 5 s")
	}
	defer s.Close()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "push" {
		t.Fatalf("read %q, %v; want push", buf, err)
	}
	if _, err := s.Write([]byte("pull")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pull" {
		t.Fatalf("read %q, %v; want pull", buf, err)
	}
}

// TestMaxStreams: beyond MaxStreams open, a new stream is closed on
// arrival; closing one frees its slot.
func TestMaxStreams(t *testing.T) {
	a, b := listenT(t, Config{}), listenT(t, Config{MaxStreams: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var accepted []net.Conn
	for i := range 3 {
		c, err := a.DialStream(ctx, b.LocalAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i < 2 {
			accepted = append(accepted, <-b.Streams())
			continue
		}
		// The third is closed by the server: a read sees EOF.
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("third stream read: got %v, want EOF (closed for lack of a slot)", err)
		}
	}
	if got := b.Stats().StreamsRejected; got != 1 {
		t.Fatalf("StreamsRejected: got %d, want 1", got)
	}
	accepted[0].Close()
	accepted[1].Close()
	c, err := a.DialStream(ctx, b.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case s := <-b.Streams():
		s.Close()
	case <-ctx.Done():
		t.Fatal("a freed slot did not take a new stream")
	}
}

// TestBoundedQueues: a consumer that does not read loses datagrams, counted,
// instead of holding them all; oversized datagrams are dropped, counted.
func TestBoundedQueues(t *testing.T) {
	a, b := listenT(t, Config{}), listenT(t, Config{PacketQueue: 2, MaxPacket: 100})
	for range 20 {
		if err := a.WriteTo(bytes.Repeat([]byte{1}, 10), b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.WriteTo(bytes.Repeat([]byte{2}, 200), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "drops counted", func() bool {
		s := b.Stats()
		return s.PacketsDropped > 0 && s.PacketsTooLarge == 1
	})
	if got := b.Packets().Len(); got != 2 {
		t.Fatalf("queued packets: got %d, want the queue's 2", got)
	}
}

// TestCloseReleasesPort: after Close the same port can be bound again.
func TestCloseReleasesPort(t *testing.T) {
	a, err := Listen(Config{Bind: loopback})
	if err != nil {
		t.Fatal(err)
	}
	addr := a.LocalAddr()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := Listen(Config{Bind: addr})
	if err != nil {
		t.Fatalf("Listen(%v) after Close: %v", addr, err)
	}
	b.Close()
	b.Close() // twice is fine
}

func TestIPv6Loopback(t *testing.T) {
	a, err := Listen(Config{Bind: netip.MustParseAddrPort("[::1]:0")})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer a.Close()
	b := listenT(t, Config{Bind: netip.MustParseAddrPort("[::1]:0")})
	if err := a.WriteTo([]byte("v6"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if p := recvPacket(t, b); string(p.Data) != "v6" || p.From != a.LocalAddr() {
		t.Fatalf("got %q from %v, want v6 from %v", p.Data, p.From, a.LocalAddr())
	}
}

func TestListenErrors(t *testing.T) {
	if _, err := Listen(Config{}); err == nil {
		t.Fatal("Listen with no address: got nil error")
	}
	a := listenT(t, Config{})
	if _, err := Listen(Config{Bind: a.LocalAddr()}); err == nil {
		t.Fatalf("Listen on a port in use (%v): got nil error", a.LocalAddr())
	}
}
