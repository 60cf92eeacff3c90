package sim

import (
	"errors"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/internal/wire"
)

var (
	errTimeout = errors.New("i/o timeout")
	errRefused = errors.New("connection refused")
)

func (s *Sim) handle(e *event) {
	if e.kind == evAction {
		e.action()
		return
	}
	n := s.nodes[e.node]
	if !n.up {
		if e.kind == evStream && !e.stream.done {
			// The host answers for a dead process: the dialer is refused.
			s.finishStream(e.stream, nil, errRefused, s.linkDelay(e.node, e.stream.dialer))
		}
		if e.kind == evPacket {
			s.stats.Dropped++
		}
		return
	}
	if e.kind == evWake && e.gen != n.wakeGen {
		return // superseded
	}
	if e.kind == evStreamDone && (e.stream.done || e.stream.dialGen != n.gen) {
		return
	}
	if n.paused {
		if e.kind == evWake {
			n.hasWake = false
		} else {
			n.inbox = append(n.inbox, e)
		}
		return
	}
	if n.slow > 0 && !e.deferred {
		// An overloaded node gets to each input late.
		e.deferred = true
		e.at = s.now + s.rng.Int64N(int64(n.slow))
		s.push(e)
		return
	}
	s.process(n, e)
	s.after(n)
}

// process feeds one event to a running node's core.
func (s *Sim) process(n *simNode, e *event) {
	now := s.time()
	switch e.kind {
	case evWake:
		n.hasWake = false
		n.core.Advance(now)
	case evPacket:
		msgs := e.msgs
		if e.data != nil {
			p, err := wire.DecodePacket(e.data, s.decodeOptions(false))
			if err != nil {
				s.violate("node %s could not decode a packet from %v: %v", n.name, e.from, err)
				return
			}
			msgs = p.Messages
		}
		n.core.HandlePacket(now, e.from, msgs)
	case evStream:
		f := e.stream
		req, ok := s.streamMessage(n, e.msgs[0], false)
		if !ok {
			return
		}
		reply := n.core.HandleStream(now, s.nodes[f.dialer].addr, req)
		delay := s.streamDelay(n.idx, f.dialer)
		if reply == nil && f.kind != swim.StreamUser {
			return // no answer: the dialer times out
		}
		s.finishStream(f, reply, nil, delay)
	case evStreamDone:
		e.stream.done = true
		reply := e.reply
		if reply != nil {
			var ok bool
			if reply, ok = s.streamMessage(n, reply, true); !ok {
				return
			}
		}
		n.core.StreamDone(now, e.stream.id, reply, e.err)
	}
}

// finishStream sends the acceptor's answer back to the dialer.
func (s *Sim) finishStream(f *flight, reply wire.Message, err error, delay int64) {
	s.push(&event{at: s.now + delay, kind: evStreamDone, node: f.dialer, stream: f, reply: reply, err: err})
}

// streamMessage runs a stream message through the codec unless skipped.
func (s *Sim) streamMessage(n *simNode, m wire.Message, reply bool) (wire.Message, bool) {
	if s.cfg.SkipEnvelope {
		return m, true
	}
	b, err := wire.AppendStream(nil, m, s.encodeOptions(false))
	if err != nil {
		s.violate("encode stream %v: %v", m.Type(), err)
		return nil, false
	}
	s.stats.StreamBytes += uint64(len(b))
	st, err := wire.DecodeStream(b, s.decodeOptions(reply))
	if err != nil {
		s.violate("node %s could not decode a stream: %v", n.name, err)
		return nil, false
	}
	return st.Message, true
}

func (s *Sim) encodeOptions(crc bool) wire.EncodeOptions {
	return wire.EncodeOptions{Label: s.cfg.Label, Keyring: s.cfg.Keyring, EncryptVersion: wire.EncryptVersion1,
		Compress: s.cfg.Compress, CRC: crc, Rand: &s.nonce}
}

func (s *Sim) decodeOptions(reply bool) wire.DecodeOptions {
	return wire.DecodeOptions{Label: s.cfg.Label, Keyring: s.cfg.Keyring, StreamReply: reply}
}

// after collects what a node's core produced and schedules its next wake.
func (s *Sim) after(n *simNode) {
	n.core.Drain(&s.out)
	for i := range s.out.Events {
		s.observe(n, &s.out.Events[i])
	}
	for i := range s.out.Packets {
		s.sendPacket(n, &s.out.Packets[i])
	}
	for i := range s.out.Streams {
		s.openStream(n, &s.out.Streams[i])
	}
	s.checkSelf(n)
	if at, ok := n.core.NextDeadline(); ok {
		t := int64(at.Sub(s.epoch))
		if !n.hasWake || t < n.wakeAt {
			n.wakeGen++
			n.wakeAt, n.hasWake = t, true
			s.push(&event{at: max(t, s.now), kind: evWake, node: n.idx, gen: n.wakeGen})
		}
	}
}

func (s *Sim) sendPacket(from *simNode, p *swim.Packet) {
	s.stats.Packets++
	to, ok := s.byAddr[p.To]
	var data []byte
	var msgs []wire.Message
	if s.cfg.SkipEnvelope {
		s.stats.PacketBytes += uint64(len(p.Payload))
	} else {
		var err error
		data, err = wire.EncodePacket(nil, p.Payload, s.encodeOptions(p.CRC))
		if err != nil {
			s.violate("node %s built an unencodable packet: %v", from.name, err)
			return
		}
		s.stats.PacketBytes += uint64(len(data))
	}
	s.hashPacket(from.idx, p.To, len(p.Payload))
	if !ok || !s.connected(from.idx, to) || s.lost(from.idx, to) {
		s.stats.Dropped++
		return
	}
	if data == nil {
		pkt, err := wire.DecodePacket(p.Payload, wire.DecodeOptions{})
		if err != nil {
			s.violate("node %s built an undecodable packet: %v", from.name, err)
			return
		}
		msgs = pkt.Messages
	}
	copies := 1
	if s.cfg.Duplicate > 0 && s.rng.Float64() < s.cfg.Duplicate {
		copies = 2
	}
	for range copies {
		s.push(&event{at: s.now + s.linkDelay(from.idx, to), kind: evPacket, node: to,
			from: from.addr, data: data, msgs: msgs})
	}
}

func (s *Sim) openStream(from *simNode, st *swim.Stream) {
	s.stats.Streams++
	to, ok := s.byAddr[st.To]
	f := &flight{id: st.ID, kind: st.Kind, dialer: from.idx, dialGen: from.gen,
		deadline: int64(st.Deadline.Sub(s.epoch))}
	s.hashPacket(from.idx, st.To, -int(st.Kind))
	s.push(&event{at: max(f.deadline, s.now), kind: evStreamDone, node: from.idx, stream: f, err: errTimeout})
	if !ok || !s.connected(from.idx, to) {
		return // the connection attempt hangs until the deadline
	}
	s.push(&event{at: s.now + s.streamDelay(from.idx, to), kind: evStream, node: to, stream: f,
		msgs: []wire.Message{st.Msg}})
}

func (s *Sim) connected(a, b int) bool { return s.side[a] == s.side[b] }

func (s *Sim) lost(a, b int) bool {
	p := s.cfg.Loss
	if l, ok := s.linkLoss[[2]int{a, b}]; ok {
		p = l
	}
	return p > 0 && s.rng.Float64() < p
}

// streamDelay is a stream leg's delay: TCP retransmits what the link
// loses, after a 1 s timeout that doubles (Linux's initial RTO).
func (s *Sim) streamDelay(a, b int) int64 {
	d := s.linkDelay(a, b)
	rto := int64(time.Second)
	for try := 0; try < 3 && s.lost(a, b); try++ {
		d += rto
		rto *= 2
	}
	return d
}

func (s *Sim) linkDelay(a, b int) int64 {
	if l, ok := s.linkLatency[[2]int{a, b}]; ok {
		return l.sample(s.rng)
	}
	return s.cfg.Latency.sample(s.rng)
}

// nonceSource feeds encryption deterministic nonces.
type nonceSource struct{ r interface{ Uint64() uint64 } }

func (ns *nonceSource) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(ns.r.Uint64())
	}
	return len(b), nil
}
