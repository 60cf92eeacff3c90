// Package swimdriver runs a swim core on real loopback sockets for
// interoperability tests; it is a stopgap until the runtime (package rumor)
// exists and will be replaced by it.
//
// A [Driver] binds one UDP socket and one TCP listener on the same port,
// and one event-loop goroutine owns the *swim.Node: it feeds it received
// packets, accepted streams, the results of streams the node asked for, API
// calls and its deadlines (one timer reset to NextDeadline), then sends what
// Drain gives back. The driver speaks memberlist's default envelope: no
// label, no encryption, compression on (unless [WithoutCompression]), CRC
// when the core asks for it. It uses real time.
package swimdriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/internal/wire"
)

// ErrClosed is returned by calls on a driver that was shut down.
var ErrClosed = errors.New("swimdriver: driver is shut down")

// maxDatagram is the receive buffer for one datagram (memberlist's
// udpPacketBufSize).
const maxDatagram = 65536

// Option changes how Start sets a driver up.
type Option func(*Driver)

// WithoutCompression sends packets and streams uncompressed (memberlist's
// EnableCompression = false). Received input is read either way.
func WithoutCompression() Option { return func(d *Driver) { d.compress = false } }

// WithEvents has fn called with every event the core emits, in order, on
// the event loop: fn must return quickly and must not call the Driver.
func WithEvents(fn func(swim.Event)) Option { return func(d *Driver) { d.onEvent = fn } }

// Driver runs one swim node. Its methods are safe for concurrent use.
type Driver struct {
	cfg      swim.Config
	compress bool
	onEvent  func(swim.Event)

	udp *net.UDPConn
	tcp *net.TCPListener

	badInput atomic.Uint64 // packets and streams that did not decode
	lastBad  atomic.Value  // the last such error

	ctx    context.Context // canceled by Shutdown
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	packets chan inPacket
	streams chan inStream
	results chan streamResult
	calls   chan func(now time.Time)

	// Owned by the event loop.
	node      *swim.Node
	out       swim.Output
	sendBuf   []byte
	joins     map[uint64]chan swim.Event
	leaveWait []chan struct{}
}

type inPacket struct {
	from netip.AddrPort
	msgs []wire.Message
}

type inStream struct {
	from  netip.AddrPort
	msg   wire.Message
	reply chan []byte // the encoded reply, nil for none
}

type streamResult struct {
	id    swim.StreamID
	reply wire.Message
	err   error
}

// Start binds UDP and TCP on cfg.Addr, creates the node and starts its
// event loop. If cfg.Addr's port is 0, a port free for both is chosen and
// cfg.Addr takes it before the node is created.
func Start(cfg swim.Config, opts ...Option) (*Driver, error) {
	if !cfg.Addr.IsValid() {
		return nil, fmt.Errorf("swimdriver: invalid address %v", cfg.Addr)
	}
	tcp, udp, err := listen(cfg.Addr)
	if err != nil {
		return nil, err
	}
	cfg.Addr = netip.AddrPortFrom(cfg.Addr.Addr(), udp.LocalAddr().(*net.UDPAddr).AddrPort().Port())
	now := time.Now()
	node, err := swim.New(cfg, now, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
	if err != nil {
		tcp.Close()
		udp.Close()
		return nil, err
	}
	d := &Driver{
		cfg:      cfg,
		compress: true,
		udp:      udp,
		tcp:      tcp,
		packets:  make(chan inPacket, 64),
		streams:  make(chan inStream),
		results:  make(chan streamResult),
		calls:    make(chan func(time.Time)),
		node:     node,
		joins:    make(map[uint64]chan swim.Event),
	}
	for _, o := range opts {
		o(d)
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(3)
	go d.readPackets()
	go d.accept()
	go d.loop()
	return d, nil
}

// listen binds TCP then UDP on the same port, retrying with another port
// when the port was chosen by the system and UDP could not take it.
func listen(addr netip.AddrPort) (*net.TCPListener, *net.UDPConn, error) {
	ip := addr.Addr().Unmap()
	tcpNet, udpNet := "tcp4", "udp4"
	if ip.Is6() {
		tcpNet, udpNet = "tcp6", "udp6"
	}
	var lastErr error
	for range 10 {
		tcp, err := net.ListenTCP(tcpNet, net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, addr.Port())))
		if err != nil {
			return nil, nil, fmt.Errorf("swimdriver: listen tcp: %w", err)
		}
		port := tcp.Addr().(*net.TCPAddr).AddrPort().Port()
		udp, err := net.ListenUDP(udpNet, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port)))
		if err == nil {
			_ = udp.SetReadBuffer(2 << 20) // as memberlist; best effort
			return tcp, udp, nil
		}
		tcp.Close()
		lastErr = err
		if addr.Port() != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("swimdriver: listen udp: %w", lastErr)
}

// Addr is the address the node is reached at.
func (d *Driver) Addr() netip.AddrPort { return d.cfg.Addr }

// Name is the node's name.
func (d *Driver) Name() string { return d.cfg.Name }

// call runs fn on the event loop and waits for it; the loop flushes the
// node's outputs right after.
func (d *Driver) call(fn func(now time.Time)) error {
	done := make(chan struct{})
	select {
	case d.calls <- func(now time.Time) { fn(now); close(done) }:
	case <-d.ctx.Done():
		return ErrClosed
	}
	<-done // the loop runs every call it receives
	return nil
}

// Join push-pulls with every seed and returns once all have ended: how many
// answered, and why the others did not.
func (d *Driver) Join(seeds []netip.AddrPort) (int, error) {
	ch := make(chan swim.Event, 1)
	if err := d.call(func(now time.Time) { d.joins[d.node.Join(now, seeds)] = ch }); err != nil {
		return 0, err
	}
	select {
	case ev := <-ch:
		return ev.N, ev.Err
	case <-d.ctx.Done():
		return 0, ErrClosed
	}
}

// Leave announces a graceful leave and waits until the notice has been
// sent enough times, or ctx ends. The node keeps running until Shutdown.
func (d *Driver) Leave(ctx context.Context) error {
	ch := make(chan struct{})
	var err error
	if cerr := d.call(func(now time.Time) {
		if err = d.node.Leave(now); err == nil {
			d.leaveWait = append(d.leaveWait, ch)
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-d.ctx.Done():
		return ErrClosed
	}
}

// UpdateMeta sets the node's metadata and starts announcing it.
func (d *Driver) UpdateMeta(meta []byte) error {
	var err error
	if cerr := d.call(func(now time.Time) { err = d.node.UpdateMeta(now, meta) }); cerr != nil {
		return cerr
	}
	return err
}

// Members returns a snapshot of the member table, dead and left entries
// included until the node forgets them, and this node itself.
func (d *Driver) Members() []swim.Member {
	var ms []swim.Member
	_ = d.call(func(time.Time) { ms = d.node.Members(nil) })
	return ms
}

// Member returns the node's entry for name.
func (d *Driver) Member(name string) (swim.Member, bool) {
	var m swim.Member
	var ok bool
	_ = d.call(func(time.Time) { m, ok = d.node.Member(name) })
	return m, ok
}

// Self returns the node's own entry.
func (d *Driver) Self() swim.Member {
	var m swim.Member
	_ = d.call(func(time.Time) { m = d.node.Self() })
	return m
}

// Counters returns the node's counters.
func (d *Driver) Counters() swim.Counters {
	var c swim.Counters
	_ = d.call(func(time.Time) { c = d.node.Counters() })
	return c
}

// DecodeErrors counts the received packets and streams that could not be
// decoded, and returns the last such error.
func (d *Driver) DecodeErrors() (uint64, error) {
	err, _ := d.lastBad.Load().(error)
	return d.badInput.Load(), err
}

func (d *Driver) bad(err error) {
	d.badInput.Add(1)
	d.lastBad.Store(err)
}

// Shutdown stops the node without a leave (a crash, to its peers): it
// closes the sockets and every open stream, and returns once all the
// driver's goroutines have ended. It is safe to call more than once.
func (d *Driver) Shutdown() error {
	d.once.Do(func() {
		d.cancel()
		d.udp.Close()
		d.tcp.Close()
		d.wg.Wait()
	})
	return nil
}

// loop owns the node.
func (d *Driver) loop() {
	defer d.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	d.flush(timer)
	for {
		select {
		case <-d.ctx.Done():
			return
		case p := <-d.packets:
			d.node.HandlePacket(time.Now(), p.from, p.msgs)
		case s := <-d.streams:
			var b []byte
			if r := d.node.HandleStream(time.Now(), s.from, s.msg); r != nil {
				b, _ = wire.AppendStream(nil, r, wire.EncodeOptions{Compress: d.compress})
			}
			s.reply <- b // buffered
		case r := <-d.results:
			d.node.StreamDone(time.Now(), r.id, r.reply, r.err)
		case fn := <-d.calls:
			fn(time.Now())
		case <-timer.C:
			d.node.Advance(time.Now())
		}
		d.flush(timer)
	}
}

// flush sends the node's outputs and resets the timer to its next deadline.
func (d *Driver) flush(timer *time.Timer) {
	d.node.Drain(&d.out)
	for _, p := range d.out.Packets {
		b, err := wire.EncodePacket(d.sendBuf[:0], p.Payload, wire.EncodeOptions{CRC: p.CRC, Compress: d.compress})
		if err != nil {
			continue
		}
		d.sendBuf = b
		_, _ = d.udp.WriteToUDPAddrPort(b, unmap(p.To)) // best effort, as UDP
	}
	for _, s := range d.out.Streams {
		// Encode here: the message belongs to this goroutine's Output. An
		// encoding error is reported through the dialing goroutine, like
		// any other failure, so that its outputs go through the loop.
		b, err := wire.AppendStream(nil, s.Msg, wire.EncodeOptions{Compress: d.compress})
		d.wg.Add(1)
		go d.dial(s.ID, s.Kind, s.To, s.Deadline, b, err)
	}
	for _, ev := range d.out.Events {
		switch ev.Kind {
		case swim.EventJoinDone:
			if ch, ok := d.joins[ev.Op]; ok {
				delete(d.joins, ev.Op)
				ch <- ev // buffered
			}
		case swim.EventLeaveDone:
			for _, ch := range d.leaveWait {
				close(ch)
			}
			d.leaveWait = nil
		}
		if d.onEvent != nil {
			d.onEvent(ev)
		}
	}
	if t, ok := d.node.NextDeadline(); ok {
		timer.Reset(max(time.Until(t), 0))
	} else {
		timer.Stop()
	}
}

// decodeFailure tells bytes that made no sense from a stream that was cut
// short (closed, reset or timed out).
func decodeFailure(err error) bool {
	r := wire.ReasonOf(err)
	return r != wire.ReasonNone && r != wire.ErrTruncated
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// readPackets decodes datagrams and hands them to the loop.
func (d *Driver) readPackets() {
	defer d.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := d.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || d.ctx.Err() != nil {
				return
			}
			continue
		}
		// Decoded messages may alias their input: give each its own copy.
		p, err := wire.DecodePacket(bytes.Clone(buf[:n]), wire.DecodeOptions{})
		if err == nil && (len(p.PartErrors) > 0 || p.Truncated > 0) {
			err = fmt.Errorf("packet from %v: %d compound parts cut off, part errors %v", from, p.Truncated, p.PartErrors)
		}
		if err != nil {
			d.bad(err) // the good parts of a compound are still handled
		}
		if p == nil || len(p.Messages) == 0 {
			continue
		}
		select {
		case d.packets <- inPacket{from: unmap(from), msgs: p.Messages}:
		case <-d.ctx.Done():
			return
		}
	}
}

// accept serves each incoming stream on its own goroutine.
func (d *Driver) accept() {
	defer d.wg.Done()
	for {
		c, err := d.tcp.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || d.ctx.Err() != nil {
				return
			}
			// A transient failure (out of descriptors): back off a little.
			t := time.NewTimer(10 * time.Millisecond)
			select {
			case <-t.C:
			case <-d.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		d.wg.Add(1)
		go d.serve(c)
	}
}

// serve reads one message from an accepted stream, has the loop handle it,
// and writes the reply, all within TCPTimeout.
func (d *Driver) serve(c *net.TCPConn) {
	defer d.wg.Done()
	defer c.Close()
	stop := context.AfterFunc(d.ctx, func() { c.Close() })
	defer stop()
	_ = c.SetDeadline(time.Now().Add(d.cfg.TCPTimeout))
	s, err := wire.ReadStream(c, wire.DecodeOptions{})
	if err != nil {
		if d.ctx.Err() != nil {
			return
		}
		if decodeFailure(err) {
			d.bad(fmt.Errorf("stream from %v: %w", c.RemoteAddr(), err))
		}
		if !errors.Is(err, io.EOF) && wire.ReasonOf(err) != wire.ErrTruncated {
			// As memberlist: tell the peer why.
			b, _ := wire.AppendStream(nil, &wire.ErrResp{Error: err.Error()}, wire.EncodeOptions{Compress: d.compress})
			_, _ = c.Write(b)
		}
		return
	}
	reply := make(chan []byte, 1)
	select {
	case d.streams <- inStream{from: unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort()), msg: s.Message, reply: reply}:
	case <-d.ctx.Done():
		return
	}
	select {
	case b := <-reply:
		if len(b) > 0 {
			_, _ = c.Write(b)
		}
	case <-d.ctx.Done():
	}
}

// dial runs one stream the node asked for and reports how it ended.
func (d *Driver) dial(id swim.StreamID, kind swim.StreamKind, to netip.AddrPort, deadline time.Time, msg []byte, err error) {
	defer d.wg.Done()
	var reply wire.Message
	if err == nil {
		reply, err = d.exchange(kind, to, deadline, msg)
	}
	select {
	case d.results <- streamResult{id: id, reply: reply, err: err}:
	case <-d.ctx.Done():
	}
}

func (d *Driver) exchange(kind swim.StreamKind, to netip.AddrPort, deadline time.Time, msg []byte) (wire.Message, error) {
	ctx, cancel := context.WithDeadline(d.ctx, deadline)
	defer cancel()
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "tcp", unmap(to).String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	_ = c.SetDeadline(deadline)
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	if kind == swim.StreamUser {
		return nil, nil
	}
	s, err := wire.ReadStream(c, wire.DecodeOptions{StreamReply: true})
	if err != nil {
		if decodeFailure(err) && d.ctx.Err() == nil {
			d.bad(fmt.Errorf("reply from %v: %w", to, err))
		}
		return nil, err
	}
	return s.Message, nil
}
