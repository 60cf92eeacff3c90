package rumor

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"

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
