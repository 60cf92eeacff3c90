package rumor

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/internal/wire"
	"github.com/rumorproject/rumor/transport"
)

// minCompressed is the smallest packet payload worth compressing.
const minCompressed = 192

// ErrShutdown is returned by calls on a node that was shut down.
var ErrShutdown = errors.New("rumor: node is shut down")

// Node is a running cluster member. Its methods are safe for concurrent
// use: one goroutine (the event loop) owns the protocol state, and the
// methods hand it requests or read snapshots it publishes.
type Node struct {
	cfg       Config
	advertise netip.AddrPort
	tr        transport.Transport
	// keyring is replaced whole, never changed in place: stream goroutines
	// read it while key rotation goes on (see keys.go).
	keyring atomic.Pointer[wire.Keyring]
	keyMu   sync.Mutex // serializes key changes

	members atomic.Pointer[[]Member] // alive and suspect members, republished on change
	self    atomic.Pointer[Member]
	health  atomic.Int64
	dropped atomic.Uint64 // events the Events channel had no room for
	log     *slog.Logger

	streamTraffic streamTraffic
	decodeErrs    atomic.Uint64
	lastDecodeErr atomic.Value // error

	ctx    context.Context // canceled by Shutdown
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	inStreams chan inStream
	results   chan streamResult
	calls     chan func(now time.Time)

	// Owned by the event loop.
	core                       *swim.Node
	out                        swim.Output
	sendBuf                    []byte
	joins                      map[uint64]chan swim.Event
	leaveWait                  []chan struct{}
	updateWait                 []chan struct{}
	sends                      map[swim.StreamID]chan error // reliable sends awaiting their stream
	traffic                    traffic
	pushPulls, pushPullsFailed uint64
}

type inStream struct {
	from  netip.AddrPort
	msg   wire.Message
	reply chan wire.Message
}

type streamResult struct {
	stream swim.Stream
	reply  wire.Message
	err    error
	took   time.Duration
}

// Create starts a node: it binds its sockets and begins probing, alone
// until Join.
func Create(cfg *Config) (*Node, error) {
	if cfg == nil {
		return nil, errors.New("rumor: Create: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := *cfg
	bind, adv, _ := c.addresses()
	// Peers send at most their UDPBufferSize plus the envelope; allow for
	// peers configured larger than we are.
	tr := c.Transport
	if tr == nil {
		nt, err := transport.Listen(transport.Config{Bind: bind, PacketQueue: c.HandoffQueueDepth,
			MaxPacket: max(16<<10, 4*c.UDPBufferSize)})
		if err != nil {
			return nil, fmt.Errorf("rumor: create %s: %w", c.Name, err)
		}
		tr = nt
	}
	n := &Node{cfg: c, tr: tr, inStreams: make(chan inStream), results: make(chan streamResult),
		calls: make(chan func(time.Time)), joins: make(map[uint64]chan swim.Event),
		sends: make(map[swim.StreamID]chan error)}
	n.log = c.Logger
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.log = n.log.With("node", c.Name)
	var err error
	fail := func(err error) (*Node, error) {
		tr.Close()
		return nil, fmt.Errorf("rumor: create %s: %w", c.Name, err)
	}
	if n.advertise, err = advertised(c, adv, tr.LocalAddr()); err != nil {
		return fail(err)
	}
	if len(c.SecretKey) > 0 {
		k, err := wire.NewKeyring(c.SecretKey)
		if err != nil {
			return fail(err)
		}
		n.keyring.Store(k)
	}
	var seed [16]byte
	_, _ = crand.Read(seed[:])
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	if n.core, err = swim.New(c.swim(n.advertise), time.Now(), rng); err != nil {
		return fail(err)
	}
	n.publish()
	n.log.Info("node started", "addr", n.advertise, "bind", tr.LocalAddr())
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(1)
	go n.loop()
	return n, nil
}

// advertised is the address other nodes are told: the configured one, or
// the bound one with the port chosen; for a wildcard bind, this host's
// private address, as memberlist picks it (16 bytes on the wire, as
// memberlist sends it).
func advertised(c Config, adv, bound netip.AddrPort) (netip.AddrPort, error) {
	if c.AdvertiseAddr != "" {
		if c.AdvertisePort == 0 {
			adv = netip.AddrPortFrom(adv.Addr(), bound.Port())
		}
		return adv, nil
	}
	ip := bound.Addr()
	if ip.IsUnspecified() {
		private, err := privateIP()
		if err != nil {
			return adv, err
		}
		ip = netip.AddrFrom16(private.As16())
	}
	return netip.AddrPortFrom(ip, bound.Port()), nil
}

// cgnat is RFC 6598's shared address space, private to memberlist too.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// privateIP is the first private IPv4 address (RFC 1918, RFC 6598) of this
// host, else its first unique local IPv6 address (RFC 4193), as
// memberlist's address discovery would choose on most hosts.
func privateIP() (netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("find a private address to advertise: %w", err)
	}
	var v6 netip.Addr
	for _, a := range addrs {
		p, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(p.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		switch {
		case ip.Is4() && (ip.IsPrivate() || cgnat.Contains(ip)):
			return ip, nil
		case ip.Is6() && ip.IsPrivate() && !v6.IsValid():
			v6 = ip
		}
	}
	if v6.IsValid() {
		return v6, nil
	}
	return netip.Addr{}, errors.New("no private address to advertise: set AdvertiseAddr")
}

// decodeFailed counts input that did not decode.
func (n *Node) decodeFailed(err error) {
	n.decodeErrs.Add(1)
	n.lastDecodeErr.Store(err)
	n.log.Debug("input did not decode", "err", err)
}

// logEvent reports a membership change.
func (n *Node) logEvent(e Event) {
	switch e.Kind {
	case EventConflict:
		n.log.Warn("name conflict", "member", e.Member.Name, "addr", e.Member.Addr, "other_addr", e.Other.Addr)
	case EventSuspect, EventFailed:
		n.log.Info("member "+e.Kind.String(), "member", e.Member.Name, "incarnation", e.Member.Incarnation, "from", e.From)
	default:
		n.log.Info("member "+e.Kind.String(), "member", e.Member.Name, "addr", e.Member.Addr, "incarnation", e.Member.Incarnation)
	}
}

// Addr is the address other nodes reach this node at.
func (n *Node) Addr() netip.AddrPort { return n.advertise }

// LocalNode is this node's own entry.
func (n *Node) LocalNode() Member { return *n.self.Load() }

// Members lists the members alive or suspect, this node included.
func (n *Node) Members() []Member { return slices.Clone(*n.members.Load()) }

// NumMembers counts the members alive or suspect, this node included.
func (n *Node) NumMembers() int { return len(*n.members.Load()) }

// HealthScore is Lifeguard's local health: 0 is healthy; each point
// stretches this node's probe timeouts.
func (n *Node) HealthScore() int { return int(n.health.Load()) }

// call runs fn on the event loop and waits until it has.
func (n *Node) call(fn func(now time.Time)) error {
	done := make(chan struct{})
	select {
	case n.calls <- func(now time.Time) { fn(now); close(done) }:
	case <-n.ctx.Done():
		return ErrShutdown
	}
	<-done
	return nil
}

// Join contacts each seed with a joining push-pull and returns how many
// answered; the error joins the reasons of those that did not. Joining
// succeeds if one answered. As in memberlist, a seed is "host:port",
// "host" (BindPort, or 7946), or "name/host:port"; a host name stands for
// every address it resolves to.
func (n *Node) Join(ctx context.Context, seeds []string) (int, error) {
	addrs, errs := resolveSeeds(ctx, seeds, uint16(cmp.Or(n.cfg.BindPort, DefaultPort)))
	if len(addrs) == 0 {
		return 0, errors.Join(append(errs, errors.New("rumor: join: no usable seed"))...)
	}
	ch := make(chan swim.Event, 1)
	if err := n.call(func(now time.Time) { n.joins[n.core.Join(now, addrs)] = ch }); err != nil {
		return 0, err
	}
	select {
	case ev := <-ch:
		if ev.Err != nil {
			errs = append(errs, ev.Err)
		}
		if ev.N == 0 {
			return 0, fmt.Errorf("rumor: join: no seed answered: %w", errors.Join(errs...))
		}
		return ev.N, errors.Join(errs...)
	case <-ctx.Done():
		return 0, fmt.Errorf("rumor: join: %w", ctx.Err())
	case <-n.ctx.Done():
		return 0, ErrShutdown
	}
}

// Leave announces a graceful leave and waits until it has been gossiped
// enough, or ctx ends. The node keeps answering until Shutdown.
func (n *Node) Leave(ctx context.Context) error {
	ch := make(chan struct{})
	var err error
	if cerr := n.call(func(now time.Time) {
		if err = n.core.Leave(now); err == nil {
			n.leaveWait = append(n.leaveWait, ch)
		}
	}); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("rumor: leave: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rumor: leave: %w", ctx.Err())
	case <-n.ctx.Done():
		return ErrShutdown
	}
}

// Shutdown stops the node at once: to its peers it looks like a crash
// unless Leave came first. It closes the sockets and returns once every
// goroutine of the node has ended. Calling it again does nothing.
func (n *Node) Shutdown() error {
	n.once.Do(func() {
		n.cancel()
		n.tr.Close()
		n.wg.Wait()
	})
	return nil
}

// publish republishes the snapshots read by other goroutines.
func (n *Node) publish() {
	var ms []Member
	for _, m := range n.core.Members(nil) {
		if m.State == swim.StateAlive || m.State == swim.StateSuspect {
			ms = append(ms, memberOf(m))
		}
	}
	n.members.Store(&ms)
	self := memberOf(n.core.Self())
	n.self.Store(&self)
	n.health.Store(int64(n.core.Health()))
}

// loop owns the protocol core.
func (n *Node) loop() {
	defer n.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	packets, streams := n.tr.Packets(), n.tr.Streams()
	var batch []*transport.Packet
	n.flush(timer)
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-packets.Ready():
			// All that waits, then one flush: under load the node answers
			// in fewer, fuller packets.
			batch = packets.Take(batch[:0])
			for i, p := range batch {
				n.handlePacket(p)
				batch[i] = nil
			}
			if cap(batch) > 64 {
				batch = nil // a burst passed: do not keep its room
			}
		case c := <-streams:
			// Each on its own goroutine: reading it may take TCPTimeout.
			// The transport bounds how many are open.
			n.wg.Add(1)
			go n.serve(c)
			continue // nothing for the core yet
		case s := <-n.inStreams:
			s.reply <- n.core.HandleStream(time.Now(), s.from, s.msg) // buffered
		case r := <-n.results:
			n.streamDone(r)
		case fn := <-n.calls:
			fn(time.Now())
		case <-timer.C:
			n.core.Advance(time.Now())
		}
		n.flush(timer)
	}
}

func (n *Node) handlePacket(p *transport.Packet) {
	pkt, err := wire.DecodePacket(p.Data, n.dec())
	n.traffic.received(len(p.Data), pkt)
	if err == nil && (len(pkt.PartErrors) > 0 || pkt.Truncated > 0) {
		err = fmt.Errorf("%d compound parts cut off, part errors %v", pkt.Truncated, pkt.PartErrors)
	}
	if err != nil {
		n.decodeFailed(fmt.Errorf("packet from %v: %w", p.From, err)) // the good parts of a compound still count
	}
	if pkt == nil || len(pkt.Messages) == 0 {
		return
	}
	// The time the datagram was read, not now: an ack that arrived in time
	// must not fail a probe because the loop was busy.
	n.core.HandlePacket(p.At, p.From, pkt.Messages)
}

// streamDone settles a stream this node dialed.
func (n *Node) streamDone(r streamResult) {
	id := r.stream.ID
	if ch, ok := n.sends[id]; ok {
		delete(n.sends, id)
		ch <- r.err // buffered
	}
	if r.stream.Kind == swim.StreamPushPull {
		n.pushPulls++
		if r.err != nil {
			n.pushPullsFailed++
		}
		n.sample(Sample{Kind: SamplePushPull, Duration: r.took, Peer: r.stream.To, Err: r.err})
	}
	n.core.StreamDone(time.Now(), id, r.reply, r.err)
}

// flush sends what the core produced, settles completions, republishes
// snapshots if membership changed, and resets the timer.
func (n *Node) flush(timer *time.Timer) {
	n.core.Drain(&n.out)
	for _, p := range n.out.Packets {
		opts := n.enc()
		opts.CRC = p.CRC && !n.cfg.DisableCRC
		// LZW plus its wrapper makes small messages longer (a ping, an
		// ack, a lone alive all grow): skip the attempt, as the result
		// would be dropped anyway.
		opts.Compress = opts.Compress && len(p.Payload) >= minCompressed
		b, err := wire.EncodePacket(n.sendBuf[:0], p.Payload, opts)
		if err != nil {
			continue
		}
		n.sendBuf = b
		if n.tr.WriteTo(b, p.To) == nil { // best effort, as UDP
			n.traffic.sent(p.Payload, len(b))
		}
	}
	for _, s := range n.out.Streams {
		// Only the dialer writes the label header.
		b, err := wire.AppendLabelHeader(nil, n.cfg.Label)
		if err == nil {
			b, err = wire.AppendStream(b, s.Msg, n.enc())
		}
		n.wg.Add(1)
		go n.dial(s, b, err)
	}
	// Publish the new membership before anything is told of the change:
	// whoever wakes on an event or a finished Join reads Members() next.
	changed := false
	for _, ev := range n.out.Events {
		switch ev.Kind {
		case swim.EventJoin, swim.EventLeave, swim.EventFailed, swim.EventUpdate, swim.EventSuspect,
			swim.EventRecover, swim.EventRefute:
			changed = true
		}
	}
	if changed || int64(n.core.Health()) != n.health.Load() {
		n.publish()
	}
	now := time.Now()
	for _, ev := range n.out.Events {
		if e, ok := eventOf(ev, now); ok {
			n.logEvent(e)
			if n.cfg.Events != nil {
				select {
				case n.cfg.Events <- e:
				default:
					n.dropped.Add(1)
				}
			}
		}
		switch ev.Kind {
		case swim.EventPingComplete:
			n.sample(Sample{Kind: SampleProbeRTT, Duration: ev.RTT, Member: ev.Member.Name})
		case swim.EventMessage:
			if n.cfg.Delegate != nil {
				n.cfg.Delegate.NotifyMsg(ev.Payload)
			}
		case swim.EventUpdateDone:
			for _, ch := range n.updateWait {
				close(ch)
			}
			n.updateWait = nil
		case swim.EventJoinDone:
			if ch, ok := n.joins[ev.Op]; ok {
				delete(n.joins, ev.Op)
				ch <- ev // buffered
			}
		case swim.EventLeaveDone:
			for _, ch := range n.leaveWait {
				close(ch)
			}
			n.leaveWait = nil
		}
	}
	if t, ok := n.core.NextDeadline(); ok {
		timer.Reset(max(time.Until(t), 0))
	}
}

// serve reads one message, has the loop handle it, and writes the reply,
// all within TCPTimeout.
func (n *Node) serve(c net.Conn) {
	defer n.wg.Done()
	defer c.Close()
	stop := context.AfterFunc(n.ctx, func() { c.Close() })
	defer stop()
	_ = c.SetDeadline(time.Now().Add(n.cfg.TCPTimeout))
	c = countingConn{c, &n.streamTraffic}
	s, err := wire.ReadStream(c, n.dec())
	if err != nil {
		if !errors.Is(err, io.EOF) && wire.ReasonOf(err) != wire.ErrTruncated && n.ctx.Err() == nil {
			n.decodeFailed(fmt.Errorf("stream from %v: %w", c.RemoteAddr(), err))
			// As memberlist: tell the peer why (a wrong key or label, say).
			b, _ := wire.AppendStream(nil, &wire.ErrResp{Error: err.Error()}, n.enc())
			_, _ = c.Write(b)
		}
		return
	}
	n.streamTraffic.message(in, s.Message)
	from, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	reply := make(chan wire.Message, 1)
	select {
	case n.inStreams <- inStream{from: from, msg: s.Message, reply: reply}:
	case <-n.ctx.Done():
		return
	}
	var r wire.Message
	select {
	case r = <-reply:
	case <-n.ctx.Done():
		return
	}
	if r != nil {
		// A reply carries no label header; the label still authenticates
		// its encryption (AppendStream uses it as additional data).
		if b, err := wire.AppendStream(nil, r, n.enc()); err == nil {
			if _, err := c.Write(b); err == nil {
				n.streamTraffic.message(out, r)
			}
		}
	}
}

// dial runs one stream the core asked for and reports how it ended.
func (n *Node) dial(s swim.Stream, msg []byte, err error) {
	defer n.wg.Done()
	var reply wire.Message
	start := time.Now()
	if err == nil {
		reply, err = n.exchange(s, msg)
	}
	select {
	case n.results <- streamResult{stream: s, reply: reply, err: err, took: time.Since(start)}:
	case <-n.ctx.Done():
	}
}

func (n *Node) exchange(s swim.Stream, msg []byte) (wire.Message, error) {
	ctx, cancel := context.WithDeadline(n.ctx, s.Deadline)
	defer cancel()
	c, err := n.tr.DialStream(ctx, s.To)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	_ = c.SetDeadline(s.Deadline)
	c = countingConn{c, &n.streamTraffic}
	if _, err := c.Write(msg); err != nil {
		return nil, fmt.Errorf("send %v stream to %v: %w", s.Kind, s.To, err)
	}
	n.streamTraffic.message(out, s.Msg)
	if s.Kind == swim.StreamUser {
		return nil, nil
	}
	dec := n.dec()
	dec.StreamReply = true
	st, err := wire.ReadStream(c, dec)
	if err != nil {
		if r := wire.ReasonOf(err); r != wire.ReasonNone && r != wire.ErrTruncated && n.ctx.Err() == nil {
			n.decodeFailed(fmt.Errorf("%v reply from %v: %w", s.Kind, s.To, err))
		}
		return nil, fmt.Errorf("read %v reply from %v: %w", s.Kind, s.To, err)
	}
	n.streamTraffic.message(in, st.Message)
	return st.Message, nil
}
