// Package transport moves memberlist's bytes over real sockets: one UDP
// socket and one TCP listener bound to the same address and port. It makes
// no protocol decisions; the runtime decodes, decides and encodes.
//
// # Concurrency
//
// A [Net] runs two goroutines, one reading datagrams and one accepting
// connections; both end when Close returns. Its methods are safe for
// concurrent use. Received packets and accepted streams wait in bounded
// queues: when the consumer falls behind, new ones are dropped and counted
// rather than piling up.
package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Transport carries one node's traffic: datagrams both ways, and streams
// it accepts or dials. [Net] is the default, on real sockets; tests and
// unusual networks (a proxy, an in-memory fabric) bring their own.
//
// Packets and Streams deliver what arrived; a Transport must not block
// on a slow consumer (drop and count instead). Close ends both channels'
// producers and releases what the transport holds; after it, WriteTo and
// DialStream fail.
type Transport interface {
	// LocalAddr is where the transport receives: its bound address.
	LocalAddr() netip.AddrPort
	Packets() *Queue
	Streams() <-chan net.Conn
	// WriteTo sends one datagram, best effort, from LocalAddr: peers
	// answer pings to the address a ping came from.
	WriteTo(b []byte, to netip.AddrPort) error
	// DialStream opens a stream to another node's transport.
	DialStream(ctx context.Context, to netip.AddrPort) (net.Conn, error)
	Close() error
}

// StatsReporter is a Transport that counts what it dropped.
type StatsReporter interface {
	Stats() Stats
}

var _ interface {
	Transport
	StatsReporter
} = (*Net)(nil)

// Config says where to listen and how much to hold.
type Config struct {
	// Bind is the address to listen on, for UDP and TCP alike. Port 0
	// picks a port free for both.
	Bind netip.AddrPort
	// MaxStreams bounds the incoming streams open at once (memberlist
	// allows 128 push-pulls); more are closed on arrival. 0 means 128.
	MaxStreams int
	// PacketQueue bounds the datagrams waiting for the consumer
	// (memberlist's HandoffQueueDepth). 0 means 1024.
	PacketQueue int
	// MaxPacket is the largest datagram accepted; longer ones are
	// dropped and counted. 0 means 16 KiB: memberlist's packets stay
	// within its UDPBufferSize (1,400 bytes by default) plus the envelope,
	// and a full queue then holds at most 16 MiB. Reading costs no buffer
	// per transport on Unix systems (see recv_unix.go).
	MaxPacket int
}

// Packet is a received datagram.
type Packet struct {
	Data []byte         // owned by the receiver
	From netip.AddrPort // the sender, IPv4 unmapped
	At   time.Time      // when it was read from the socket
}

// Stats counts what the transport dropped.
type Stats struct {
	PacketsIn, PacketsDropped  uint64 // read; dropped because the queue was full
	PacketsTooLarge            uint64 // longer than MaxPacket
	StreamsIn, StreamsRejected uint64 // accepted; closed at once because MaxStreams were open
}

// Net is a UDP socket and a TCP listener on one port.
type Net struct {
	cfg     Config
	udp     *net.UDPConn
	tcp     *net.TCPListener
	addr    netip.AddrPort
	packets *Queue
	streams chan net.Conn
	open    atomic.Int64 // incoming streams not yet closed

	packetsIn, packetsDropped, tooLarge, streamsIn, streamsRejected atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("transport: closed")

// Listen binds cfg.Bind for UDP and TCP and starts reading.
func Listen(cfg Config) (*Net, error) {
	if !cfg.Bind.IsValid() {
		return nil, fmt.Errorf("transport: bind address %v is not valid", cfg.Bind)
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 128
	}
	if cfg.PacketQueue <= 0 {
		cfg.PacketQueue = 1024
	}
	if cfg.MaxPacket <= 0 {
		cfg.MaxPacket = 16 << 10
	}
	tcp, udp, err := listen(cfg.Bind)
	if err != nil {
		return nil, err
	}
	t := &Net{
		cfg:     cfg,
		udp:     udp,
		tcp:     tcp,
		addr:    netip.AddrPortFrom(cfg.Bind.Addr(), udp.LocalAddr().(*net.UDPAddr).AddrPort().Port()),
		packets: NewQueue(cfg.PacketQueue),
		streams: make(chan net.Conn, cfg.MaxStreams),
	}
	r, err := newReceiver(t)
	if err != nil {
		tcp.Close()
		udp.Close()
		return nil, err
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.wg.Add(2)
	go t.readPackets(r)
	go t.accept()
	return t, nil
}

// listen binds TCP, then UDP on the port TCP got, retrying when the system
// chose a port that UDP could not take.
func listen(bind netip.AddrPort) (*net.TCPListener, *net.UDPConn, error) {
	ip := bind.Addr()
	var lastErr error
	for range 10 {
		tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(bind))
		if err != nil {
			return nil, nil, fmt.Errorf("transport: %w", err) // net says "listen tcp ADDR: why"
		}
		port := tcp.Addr().(*net.TCPAddr).AddrPort().Port()
		udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port)))
		if err == nil {
			_ = udp.SetReadBuffer(2 << 20) // as memberlist; the system may cap it
			return tcp, udp, nil
		}
		tcp.Close()
		lastErr = err
		if bind.Port() != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("transport: %w", lastErr)
}

// LocalAddr is the bound address, with the port chosen if Bind had 0.
func (t *Net) LocalAddr() netip.AddrPort { return t.addr }

// Packets delivers received datagrams.
func (t *Net) Packets() *Queue { return t.packets }

// Streams delivers accepted connections. The consumer must Close each.
func (t *Net) Streams() <-chan net.Conn { return t.streams }

// WriteTo sends one datagram.
func (t *Net) WriteTo(b []byte, to netip.AddrPort) error {
	if _, err := t.udp.WriteToUDPAddrPort(b, unmap(to)); err != nil {
		return fmt.Errorf("transport: send %d bytes to %v: %w", len(b), to, err)
	}
	return nil
}

// DialStream opens a stream to addr; ctx bounds the connection attempt.
func (t *Net) DialStream(ctx context.Context, to netip.AddrPort) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", unmap(to).String())
	if err != nil {
		return nil, fmt.Errorf("transport: dial %v: %w", to, err)
	}
	return c, nil
}

// Stats returns the counts so far.
func (t *Net) Stats() Stats {
	return Stats{PacketsIn: t.packetsIn.Load(), PacketsDropped: t.packetsDropped.Load(),
		PacketsTooLarge: t.tooLarge.Load(), StreamsIn: t.streamsIn.Load(), StreamsRejected: t.streamsRejected.Load()}
}

// Close stops reading and accepting, closes the sockets and waits for the
// transport's goroutines. Streams already handed out stay the consumer's.
func (t *Net) Close() error {
	t.once.Do(func() {
		t.cancel()
		t.udp.Close()
		t.tcp.Close()
		t.wg.Wait()
	drain:
		for {
			select {
			case c := <-t.streams:
				c.Close()
			default:
				break drain
			}
		}
	})
	return nil
}

func unmap(ap netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) }

func (t *Net) readPackets(r receiver) {
	defer t.wg.Done()
	for {
		data, size, from, err := r.recv(t.cfg.MaxPacket)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || t.ctx.Err() != nil {
				return
			}
			continue // e.g. ICMP port unreachable surfacing on some systems
		}
		at := time.Now()
		t.packetsIn.Add(1)
		if size > t.cfg.MaxPacket {
			t.tooLarge.Add(1)
			continue
		}
		if !t.packets.Push(&Packet{Data: data, From: from, At: at}) {
			t.packetsDropped.Add(1)
		}
	}
}

func (t *Net) accept() {
	defer t.wg.Done()
	for {
		c, err := t.tcp.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || t.ctx.Err() != nil {
				return
			}
			// Out of descriptors, say: back off briefly instead of spinning.
			timer := time.NewTimer(10 * time.Millisecond)
			select {
			case <-timer.C:
			case <-t.ctx.Done():
				timer.Stop()
				return
			}
			continue
		}
		t.streamsIn.Add(1)
		if t.open.Add(1) > int64(t.cfg.MaxStreams) {
			t.open.Add(-1)
			t.streamsRejected.Add(1)
			c.Close()
			continue
		}
		sc := &stream{TCPConn: c, release: func() { t.open.Add(-1) }}
		select {
		case t.streams <- sc:
		default: // cannot happen: the queue holds MaxStreams and so many are open at most
			sc.Close()
			t.streamsRejected.Add(1)
		}
	}
}

// stream is an accepted connection that frees its slot when closed.
type stream struct {
	*net.TCPConn
	once    sync.Once
	release func()
}

func (s *stream) Close() error {
	err := s.TCPConn.Close()
	s.once.Do(s.release)
	return err
}
