package main

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// recTransport is handed to memberlist as Config.Transport. It forwards to
// a real NetTransport and records:
//   - every UDP datagram as it arrives (before memberlist sees it, so a
//     label header is still present), optionally dropping it instead;
//   - everything each side of a TCP connection writes: the dialing side via
//     the conns returned from DialTimeout/DialAddressTimeout, the accepting
//     side via the conns delivered on StreamCh.
//
// memberlist wraps this transport in its own label wrapper when a label is
// configured; that wrapper writes the stream label header into our conn, so
// it is recorded too.
type recTransport struct {
	n        *node
	inner    *memberlist.NetTransport
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	closing  chan struct{} // closed when Shutdown starts: stop forwarding
	drained  chan struct{} // closed after the inner transport stopped
	pumps    sync.WaitGroup
	once     sync.Once
}

var _ memberlist.NodeAwareTransport = (*recTransport)(nil)

// newNetTransport binds a NetTransport on ip with a kernel-chosen port,
// retrying when the matching UDP port happens to be taken.
func newNetTransport(ip string) (*memberlist.NetTransport, error) {
	var lastErr error
	for range 10 {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{ip},
			BindPort:  0,
			Logger:    discardLogger,
		})
		if err == nil {
			return nt, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func newRecTransport(n *node, inner *memberlist.NetTransport) *recTransport {
	t := &recTransport{
		n:        n,
		inner:    inner,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		closing:  make(chan struct{}),
		drained:  make(chan struct{}),
	}
	t.pumps.Add(2)
	go t.pumpPackets()
	go t.pumpStreams()
	return t
}

func (t *recTransport) pumpPackets() {
	defer t.pumps.Done()
	for {
		select {
		case p := <-t.inner.PacketCh():
			if !t.n.rec.packetArrived(t.n, p) {
				continue // dropped by the scenario's rule
			}
			select {
			case t.packetCh <- p:
			case <-t.closing:
			}
		case <-t.drained:
			return
		}
	}
}

func (t *recTransport) pumpStreams() {
	defer t.pumps.Done()
	for {
		select {
		case c := <-t.inner.StreamCh():
			rc := newRecConn(c, t.n, "acceptor", "")
			select {
			case t.streamCh <- rc:
			case <-t.closing:
				_ = c.Close()
			}
		case <-t.drained:
			return
		}
	}
}

func (t *recTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	addr, p, err := t.inner.FinalAdvertiseAddr(ip, port)
	if err != nil {
		return nil, 0, err
	}
	if t.n.opts.addr16 {
		// Advertise the 16-byte (IPv4-mapped) form, which is what a
		// NetTransport bound to 0.0.0.0 advertises after auto-detecting
		// a private address.
		addr = addr.To16()
	}
	return addr, p, nil
}

func (t *recTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.inner.WriteTo(b, addr)
}

func (t *recTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.inner.WriteToAddress(b, a)
}

func (t *recTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

func (t *recTransport) StreamCh() <-chan net.Conn { return t.streamCh }

func (t *recTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *recTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := t.inner.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	peer := a.Name
	if peer == "" {
		peer = t.n.rec.nameOf(a.Addr)
	}
	t.n.rec.noteDialer(c.LocalAddr().String(), t.n.name)
	return newRecConn(c, t.n, "dialer", peer), nil
}

func (t *recTransport) Shutdown() error {
	var err error
	t.once.Do(func() {
		close(t.closing)
		err = t.inner.Shutdown()
		close(t.drained)
		t.pumps.Wait()
	})
	return err
}

// recConn records what its owner writes and submits it on Close.
type recConn struct {
	net.Conn
	owner *node
	side  string // "dialer" or "acceptor"
	peer  string // node name of the other side, "" if not known yet
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
}

func newRecConn(c net.Conn, owner *node, side, peer string) *recConn {
	return &recConn{Conn: c, owner: owner, side: side, peer: peer}
}

func (c *recConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.mu.Lock()
	c.buf.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

func (c *recConn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		data := append([]byte(nil), c.buf.Bytes()...)
		c.mu.Unlock()
		if len(data) == 0 {
			return
		}
		peer := c.peer
		if peer == "" {
			peer = c.owner.rec.dialerOf(c.Conn.RemoteAddr().String())
		}
		c.owner.rec.streamWritten(c.owner, c.side, peer, data)
	})
	return c.Conn.Close()
}

func hostPort(ip net.IP, port int) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

func normAddr(s string) string {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return s
	}
	if ip := net.ParseIP(h); ip != nil {
		h = ip.String()
	}
	return net.JoinHostPort(h, p)
}

func udpKey(a net.Addr) string {
	if u, ok := a.(*net.UDPAddr); ok {
		return hostPort(u.IP, u.Port)
	}
	return normAddr(fmt.Sprint(a))
}
