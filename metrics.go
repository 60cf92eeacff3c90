package rumor

import (
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/internal/wire"
)

// SampleKind says what a Sample measured.
type SampleKind uint8

const (
	// SampleProbeRTT: a member answered a direct probe; Duration is from
	// the ping to the ack.
	SampleProbeRTT SampleKind = iota + 1
	// SamplePushPull: a full-state exchange this node started ended;
	// Duration is from dialing to the reply read, Err why it failed.
	SamplePushPull
)

func (k SampleKind) String() string {
	switch k {
	case SampleProbeRTT:
		return "probe_rtt"
	case SamplePushPull:
		return "push_pull"
	}
	return "unknown"
}

// Sample is one measurement, handed to Config.OnSample as it is taken:
// the distributions a metrics exporter makes histograms of. Totals and
// gauges are in [Node.Stats].
type Sample struct {
	Kind     SampleKind
	Duration time.Duration
	Member   string         // SampleProbeRTT: the member probed
	Peer     netip.AddrPort // SamplePushPull: the other node
	Err      error          // SamplePushPull: why it failed; nil if it did not
}

// traffic counts datagrams and the messages in them, by type. The event
// loop owns it.
type traffic struct {
	packets, bytes [2]uint64           // datagrams and their bytes on the wire
	msgs, msgBytes [2][numTypes]uint64 // messages and their encoded bytes, by type
}

const (
	in, out  = 0, 1
	numTypes = int(wire.ErrMsg) + 1
)

func (t *traffic) count(dir int, mt wire.MsgType, size int) {
	if int(mt) < numTypes {
		t.msgs[dir][mt]++
		t.msgBytes[dir][mt] += uint64(size)
	}
}

// received counts a datagram, and its messages if it decoded (p not nil).
func (t *traffic) received(size int, p *wire.Packet) {
	t.packets[in]++
	t.bytes[in] += uint64(size)
	if p == nil {
		return
	}
	for i, m := range p.Messages {
		t.count(in, m.Type(), p.Sizes[i])
	}
}

// sent counts a datagram sent: its payload as the core built it, its
// size on the wire.
func (t *traffic) sent(payload []byte, size int) {
	t.packets[out]++
	t.bytes[out] += uint64(size)
	wire.WalkPayload(payload, func(mt wire.MsgType, n int) { t.count(out, mt, n) })
}

// byType turns one direction's per-type counts into a map of the types
// seen, keyed by memberlist's names ("ping", "alive", "user", ...).
func byType(counts *[numTypes]uint64) map[string]uint64 {
	m := map[string]uint64{}
	for mt, c := range counts {
		if c > 0 {
			m[wire.MsgType(mt).String()] = c
		}
	}
	return m
}

// fillStats copies the loop-owned figures into s; it runs on the loop.
func (n *Node) fillStats(s *Stats) {
	c := n.core.Counters()
	s.Probes, s.ProbesFailed, s.IndirectProbes = c.Probes, c.ProbesFailed, c.IndirectPings
	s.Suspicions, s.Refutes = c.Suspicions, c.Refutes
	s.StreamsOut, s.PushPulls, s.PushPullsFailed = c.StreamsOut, n.pushPulls, n.pushPullsFailed
	for _, d := range swim.Drops() {
		if k := c.Dropped[d]; k > 0 {
			s.Dropped[d.String()] = k
		}
	}
	t := &n.traffic
	s.PacketsIn, s.PacketsOut, s.BytesIn, s.BytesOut = t.packets[in], t.packets[out], t.bytes[in], t.bytes[out]
	s.MessagesIn, s.MessagesOut = byType(&t.msgs[in]), byType(&t.msgs[out])
	s.MessageBytesIn, s.MessageBytesOut = byType(&t.msgBytes[in]), byType(&t.msgBytes[out])
	st := &n.streamTraffic
	s.StreamMessagesIn, s.StreamMessagesOut = st.byType(in), st.byType(out)
	s.StreamBytesIn, s.StreamBytesOut = st.bytes[in].Load(), st.bytes[out].Load()
	counts := n.core.CountStates()
	s.Members = map[string]int{}
	for st, k := range counts {
		s.Members[swim.State(st).String()] = k
	}
	s.QueuedBroadcasts = n.core.QueuedBroadcasts()
	s.Health = n.core.Health()
}

// sample hands a measurement to Config.OnSample, if set.
func (n *Node) sample(s Sample) {
	if n.cfg.OnSample != nil {
		n.cfg.OnSample(s)
	}
}
