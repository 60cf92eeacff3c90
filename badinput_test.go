package rumor

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// cluster3 starts three converged nodes.
func cluster3(t *testing.T, edit func(*Config)) (a, b, c *Node) {
	t.Helper()
	a, b, c = start(t, "a", edit), start(t, "b", edit), start(t, "c", edit)
	join(t, b, a)
	join(t, c, a)
	waitFor(t, "three nodes converge", sees([]*Node{a, b, c}, "a", "b", "c"))
	return a, b, c
}

// TestGarbageAtTheSocket: garbage, truncated, oversized and wrongly
// encrypted datagrams and streams are counted and dropped; the node keeps
// its members.
func TestGarbageAtTheSocket(t *testing.T) {
	key := []byte("0123456789abcdef")
	a, _, _ := cluster3(t, func(c *Config) { c.SecretKey = key })
	udp, err := net.Dial("udp", a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	other, _ := wire.NewKeyring([]byte("fedcba9876543210"))
	ping := (&wire.Ping{SeqNo: 1, Node: "a"}).AppendTo(nil)
	wrongKey, _ := wire.EncodePacket(nil, ping, wire.EncodeOptions{Keyring: other})
	junk := make([]byte, 300)
	_, _ = rand.Read(junk)
	for _, p := range [][]byte{junk, {1}, ping /* plaintext to an encrypted node */, wrongKey, wrongKey[:20], make([]byte, 70000)[:65000]} {
		_, _ = udp.Write(p)
	}
	waitFor(t, "bad datagrams counted", func() error {
		if s := a.Stats(); s.DecodeErrors < 5 {
			return fmt.Errorf("%d decode errors", s.DecodeErrors)
		}
		return nil
	})
	for _, s := range [][]byte{junk, {byte(wire.PushPullMsg), 0x85}, {byte(wire.EncryptMsg), 0xff, 0xff, 0xff, 0xff}} {
		conn, err := net.Dial("tcp", a.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(s)
		_ = conn.(*net.TCPConn).CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, _ = conn.Read(make([]byte, 512)) // an error response or the close
		conn.Close()
	}
	if n := a.NumMembers(); n != 3 {
		t.Errorf("after the garbage, a lists %d members, want 3", n)
	}
}

// TestSlowlorisAndStreamLimit: streams that send nothing time out, and
// more than the limit are refused at once, while real push-pulls still go
// through.
func TestSlowlorisAndStreamLimit(t *testing.T) {
	a, b, _ := cluster3(t, nil)
	var idle []net.Conn
	for range 140 { // the limit is 128
		conn, err := net.Dial("tcp", a.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, conn)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	waitFor(t, "streams over the limit refused", func() error {
		if s := a.Stats(); s.StreamsRejected < 12 {
			return fmt.Errorf("%d streams rejected", s.StreamsRejected)
		}
		return nil
	})
	// The idle streams time out (TCPTimeout, 1 s here) and free their
	// slots: a join through a then works.
	d := start(t, "d", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if k, err := d.Join(ctx, []string{a.Addr().String()}); err == nil && k == 1 {
			break
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatal("no join through a within 10 s of the slowloris streams")
		}
	}
	waitFor(t, "d is in", sees([]*Node{a, b, d}, "a", "b", "c", "d"))
}

// TestJunkFlood: 10,000 junk datagrams a second for two seconds at one
// node: it keeps its members, keeps probing, and nobody is declared dead.
func TestJunkFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods for two seconds")
	}
	events := make(chan Event, 1024)
	a, _, _ := cluster3(t, func(c *Config) { c.Events = events })
	udp, err := net.Dial("udp", a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	junk := make([]byte, 200)
	_, _ = rand.Read(junk)
	before := a.Stats().Probes
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	end := time.Now().Add(2 * time.Second)
	sent := 0
	for time.Now().Before(end) {
		<-tick.C
		for range 10 { // 10 per millisecond
			junk[0] = byte(sent) // not a valid message type for most values
			_, _ = udp.Write(junk)
			sent++
		}
	}
	after := a.Stats()
	if got := after.Probes - before; got < 1 {
		t.Errorf("probes during 2 s of flood: got %d, want at least 1 (one a second)", got)
	}
	if after.DecodeErrors == 0 && after.PacketsDropped == 0 {
		t.Errorf("flood of %d junk datagrams left no trace: %+v", sent, after)
	}
	if n := a.NumMembers(); n != 3 {
		t.Errorf("a lists %d members after the flood, want 3", n)
	}
	for len(events) > 0 {
		if ev := <-events; ev.Kind == EventFailed || ev.Kind == EventSuspect {
			t.Errorf("during the flood: %v %s", ev.Kind, ev.Member.Name)
		}
	}
	t.Logf("sent %d junk datagrams: %d decode errors, %d dropped by the full queue", sent, after.DecodeErrors, after.PacketsDropped)
}
