package rumor

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
	"github.com/rumorproject/rumor/transport"
)

// countingTransport wraps the default transport and counts what the node
// sends through it, as a user's own Transport would see it.
type countingTransport struct {
	transport.Transport
	writes atomic.Uint64
	closed atomic.Bool
}

func (c *countingTransport) WriteTo(b []byte, to netip.AddrPort) error {
	c.writes.Add(1)
	return c.Transport.WriteTo(b, to)
}

func (c *countingTransport) Close() error {
	c.closed.Store(true)
	return c.Transport.Close()
}

// A node runs over a Transport it is given: it joins through it, sends
// through it, and closes it at Shutdown.
func TestCustomTransport(t *testing.T) {
	tr, err := transport.Listen(transport.Config{Bind: netip.MustParseAddrPort("127.0.0.1:0")})
	if err != nil {
		t.Fatal(err)
	}
	ct := &countingTransport{Transport: tr}
	a := start(t, "a", func(c *Config) { c.Transport = ct; c.BindAddr = "192.0.2.1" }) // ignored
	if got := a.Addr(); got != tr.LocalAddr() {
		t.Errorf("advertised %v, want the transport's %v", got, tr.LocalAddr())
	}
	b := start(t, "b", nil)
	join(t, b, a)
	waitFor(t, "both see both", sees([]*Node{a, b}, "a", "b"))
	waitFor(t, "a probes through its transport", func() error {
		if ct.writes.Load() == 0 {
			return errors.New("nothing sent")
		}
		return nil
	})
	a.Shutdown()
	if !ct.closed.Load() {
		t.Error("Shutdown left the transport open")
	}
}

// recordingTransport keeps the first byte of every datagram sent.
type recordingTransport struct {
	transport.Transport
	mu    sync.Mutex
	first []byte
}

func (r *recordingTransport) WriteTo(b []byte, to netip.AddrPort) error {
	r.mu.Lock()
	r.first = append(r.first, b[0])
	r.mu.Unlock()
	return r.Transport.WriteTo(b, to)
}

func (r *recordingTransport) crcFrames() (crc, all int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.first {
		if wire.MsgType(b) == wire.HasCRCMsg {
			crc++
		}
	}
	return crc, len(r.first)
}

// Gossip packets carry a CRC frame, as memberlist's, unless DisableCRC.
func TestDisableCRC(t *testing.T) {
	record := func(disable bool) *recordingTransport {
		tr, err := transport.Listen(transport.Config{Bind: netip.MustParseAddrPort("127.0.0.1:0")})
		if err != nil {
			t.Fatal(err)
		}
		rt := &recordingTransport{Transport: tr}
		// Rare probes: acks and pings, which carry no CRC frame, must not
		// take the broadcasts' sends before a gossip round does.
		a := start(t, "a", func(c *Config) { c.Transport, c.DisableCRC, c.ProbeInterval = rt, disable, time.Minute })
		got := &recorder{}
		b := start(t, "b", func(c *Config) { c.Delegate, c.ProbeInterval = got, time.Minute })
		join(t, a, b)
		// A user broadcast goes out in gossip packets only.
		if err := a.Broadcast([]byte("x")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b gets a's gossip", got.has("x"))
		a.Shutdown()
		b.Shutdown()
		return rt
	}
	if crc, all := record(false).crcFrames(); crc == 0 {
		t.Errorf("default: %d of %d packets with a CRC frame, want the gossip ones", crc, all)
	}
	if crc, all := record(true).crcFrames(); crc != 0 {
		t.Errorf("DisableCRC: %d of %d packets with a CRC frame, want none", crc, all)
	}
}
