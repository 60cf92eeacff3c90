package swim

import (
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// probeState is the one probe in flight (memberlist probes one member at a
// time, and so does this core).
type probeState struct {
	active        bool
	indirect      bool // the direct ack timed out: helpers were asked
	ended         bool // the window closed; waiting only for the TCP probe
	seq           uint32
	target        uint32
	targetID      *identity
	targetInc     uint32
	start, end    int64
	expectedNacks int
	nacks         int
	tcp           StreamID // nonzero while the TCP fallback probe runs
}

// relay is an indirect probe run for another member.
type relay struct {
	origSeq uint32
	to      netip.AddrPort
	nack    bool
}

func (n *Node) nextSeq() uint32 {
	n.seq++
	return n.seq
}

// onProbeTick starts the next probe, or remembers the tick if one runs.
func (n *Node) onProbeTick() {
	if n.probe.active {
		n.pendingTick = true
		return
	}
	n.probeNext()
}

// probeNext walks the probe order round-robin, skipping ourselves and the
// dead; at the end of each pass it forgets the long dead and reshuffles.
func (n *Node) probeNext() {
	for checked := 0; checked < n.members.len(); {
		if n.probeIndex >= n.members.len() {
			n.resetProbeOrder()
			n.probeIndex = 0
			checked++
			continue
		}
		nameID := n.members.order[n.probeIndex]
		n.probeIndex++
		e := &n.members.entries[nameID]
		if nameID == n.self || e.deadOrLeft() {
			checked++
			continue
		}
		n.probeMember(nameID, e)
		return
	}
}

func (n *Node) resetProbeOrder() {
	gttd := int64(n.cfg.GossipToTheDeadTime)
	n.members.reap(func(e *entry) bool {
		drop := e.deadOrLeft() && e.id != n.selfID && n.now-e.changed > gttd
		if drop && e.state == StateDead {
			n.rememberDead(e.id)
		}
		return drop
	}, n.forget)
	order := n.members.order
	n.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
}

// forget releases what the table held for a removed member.
func (n *Node) forget(nameID uint32) {
	delete(n.suspicions, nameID)
	delete(n.staleTold, nameID)
	n.dir.release(nameID)
}

// ping leaves out SourceAddr and SourcePort, which memberlist fills in:
// without them the ack goes to the address the ping came from, the one
// path known to work (NAT included), and each probe is 31 bytes shorter.
// SourceNode stays: a memberlist peer with RequireNodeNames acks only
// pings that name their sender.
func (n *Node) ping(seq uint32, target string) *wire.Ping {
	return &wire.Ping{SeqNo: seq, Node: target, SourceNode: n.cfg.Name}
}

func (n *Node) probeMember(nameID uint32, e *entry) {
	n.counters.Probes++
	window := n.aware.scale(n.cfg.ProbeInterval)
	p := &n.probe
	*p = probeState{active: true, seq: n.nextSeq(), target: nameID, targetID: e.id,
		targetInc: e.inc, start: n.now, end: n.now + int64(window)}
	ping := n.ping(p.seq, e.id.name)
	if e.state == StateAlive {
		n.sendMsg(e.id.addr, ping)
	} else {
		// A suspect gets the accusation along with the ping, directly, so
		// it can refute even if gossip has not reached it.
		s := &wire.Suspect{Incarnation: e.inc, Node: e.id.name, From: n.cfg.Name}
		n.sendPacket(e.id.addr, n.compound([][]byte{ping.AppendTo(nil), s.AppendTo(nil)}), e.id.vsn[1] >= 5)
	}
	n.timers.set(n.now+int64(n.cfg.ProbeTimeout), timerProbeDirect, p.seq, 0)
}

// onProbeDirectTimeout asks helpers to probe the target, and tries TCP.
func (n *Node) onProbeDirectTimeout(seq uint32) {
	p := &n.probe
	if !p.active || p.seq != seq {
		return
	}
	p.indirect = true
	helpers := n.randomMembers(nil, n.cfg.IndirectChecks, func(id uint32, e *entry) bool {
		return id != n.self && id != p.target && e.state == StateAlive
	})
	for _, h := range helpers {
		he := &n.members.entries[h]
		req := &wire.IndirectPing{SeqNo: seq, Target: p.targetID.rawAddr, Port: p.targetID.addr.Port(),
			Node: p.targetID.name, Nack: he.id.vsn[1] >= 4, SourceAddr: n.selfID.rawAddr,
			SourcePort: n.selfID.addr.Port(), SourceNode: n.cfg.Name}
		if req.Nack {
			p.expectedNacks++
		}
		n.counters.IndirectPings++
		n.sendMsg(he.id.addr, req)
	}
	if !n.cfg.DisableTCPPings && p.targetID.vsn[1] >= 3 {
		p.tcp = n.openStream(StreamPing, p.targetID.addr, n.ping(seq, p.targetID.name), n.time(p.end))
	}
	n.timers.set(p.end, timerProbeEnd, seq, 0)
}

func (n *Node) onProbeEnd(seq uint32) {
	p := &n.probe
	if !p.active || p.seq != seq {
		return
	}
	p.ended = true
	if p.tcp == 0 {
		n.probeFailed()
	}
}

// onTCPPingDone takes the TCP fallback probe's result.
func (n *Node) onTCPPingDone(id StreamID, reply wire.Message, err error) {
	p := &n.probe
	if !p.active || p.tcp != id {
		return
	}
	p.tcp = 0
	if ack, ok := reply.(*wire.Ack); ok && err == nil && ack.SeqNo == p.seq {
		// The member answers over TCP: UDP to it is broken, it is not dead.
		n.probeSucceeded(nil)
		return
	}
	if p.ended {
		n.probeFailed()
	}
}

func (n *Node) probeSucceeded(ack *wire.Ack) {
	p := &n.probe
	if ack != nil && !p.indirect {
		// Only an ack within ProbeTimeout is reported, as memberlist's ping
		// delegate: a later or relayed one has no payload and a skewed RTT.
		m := n.snapshotOf(p.target, p.targetID)
		n.emit(Event{Kind: EventPingComplete, Member: m, RTT: time.Duration(n.now - p.start), Payload: ack.Payload})
	}
	n.aware.apply(-1)
	n.finishProbe()
}

func (n *Node) probeFailed() {
	p := &n.probe
	n.counters.ProbesFailed++
	delta := 1
	if p.expectedNacks > 0 {
		delta = max(p.expectedNacks-p.nacks, 0)
	}
	n.aware.apply(delta)
	s := wire.Suspect{Incarnation: p.targetInc, Node: p.targetID.name, From: n.cfg.Name}
	n.probe = probeState{}
	n.onSuspect(&s) // before the next probe starts, so its ping can carry the news
	n.finishProbe()
}

func (n *Node) finishProbe() {
	n.probe = probeState{}
	if n.pendingTick {
		n.pendingTick = false
		n.probeNext()
	}
}

// snapshotOf describes a member even if it has since been forgotten.
func (n *Node) snapshotOf(nameID uint32, id *identity) Member {
	if e := n.members.get(nameID); e != nil && e.id.name == id.name {
		return n.snapshot(e)
	}
	return Member{Name: id.name, Addr: id.addr, Meta: id.meta, Vsn: id.vsn}
}

// replyAddr is where to answer a message: its Source fields when set, as
// memberlist does, else the packet's sender.
func replyAddr(from netip.AddrPort, raw []byte, port uint16) netip.AddrPort {
	if len(raw) > 0 && port > 0 {
		if ip, ok := netip.AddrFromSlice(raw); ok {
			return netip.AddrPortFrom(ip, port)
		}
	}
	return from
}

func (n *Node) onPing(from netip.AddrPort, m *wire.Ping) {
	if m.Node != "" && m.Node != n.cfg.Name {
		n.drop(DropPingNotForUs)
		return
	}
	ack := &wire.Ack{SeqNo: m.SeqNo}
	if n.cfg.App != nil {
		ack.Payload = n.cfg.App.AckPayload()
	}
	n.sendMsg(replyAddr(from, m.SourceAddr, m.SourcePort), ack)
}

func (n *Node) onIndirectPing(from netip.AddrPort, m *wire.IndirectPing) {
	target, ok := netip.AddrFromSlice(m.Target)
	if !ok || len(n.relays) >= maxRelays {
		if !ok {
			n.drop(DropBadAddr)
		} else {
			n.drop(DropRelayBusy)
		}
		if m.Nack {
			// Say we could not help, as memberlist's nack timer would:
			// silence would count against the asker's health instead.
			n.sendMsg(replyAddr(from, m.SourceAddr, m.SourcePort), &wire.Nack{SeqNo: m.SeqNo})
		}
		return
	}
	port := m.Port
	if port == 0 {
		port = n.selfID.addr.Port()
	}
	seq := n.nextSeq()
	n.relays[seq] = relay{origSeq: m.SeqNo, to: replyAddr(from, m.SourceAddr, m.SourcePort), nack: m.Nack}
	n.timers.set(n.now+int64(n.cfg.ProbeTimeout), timerRelay, seq, 0)
	n.sendMsg(netip.AddrPortFrom(target, port), n.ping(seq, m.Node))
}

func (n *Node) onRelayTimeout(seq uint32) {
	r, ok := n.relays[seq]
	if !ok {
		return
	}
	delete(n.relays, seq)
	if r.nack {
		n.sendMsg(r.to, &wire.Nack{SeqNo: r.origSeq})
	}
}

func (n *Node) onAck(m *wire.Ack) {
	if p := &n.probe; p.active && p.seq == m.SeqNo {
		n.probeSucceeded(m)
		return
	}
	if r, ok := n.relays[m.SeqNo]; ok {
		delete(n.relays, m.SeqNo)
		n.sendMsg(r.to, &wire.Ack{SeqNo: r.origSeq})
		return
	}
	if n.onRecheckAck(m.SeqNo) {
		return
	}
	n.drop(DropUnknownAck)
}

func (n *Node) onNack(m *wire.Nack) {
	if p := &n.probe; p.active && p.seq == m.SeqNo && p.indirect {
		p.nacks++
		return
	}
	n.drop(DropUnknownAck)
}
