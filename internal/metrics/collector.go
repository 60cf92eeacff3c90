package metrics

import (
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/swim"
)

// memberStates are always exposed, at zero when no member is in them, so
// that queries and alerts on a state see a series rather than nothing.
var memberStates = []string{"alive", "suspect", "dead", "left"}

// descs describes every metric read from rumor.Stats.
type descs struct {
	members, queueDepth, health *prometheus.Desc

	probes, probesFailed, indirectProbes, suspicions, refutes *prometheus.Desc

	packetsIn, packetsOut, bytesIn, bytesOut                 *prometheus.Desc
	messagesIn, messagesOut, messageBytesIn, messageBytesOut *prometheus.Desc
	streamMessagesIn, streamMessagesOut                      *prometheus.Desc
	streamBytesIn, streamBytesOut                            *prometheus.Desc
	dropped, socketDropped, decodeErrors, eventsDropped      *prometheus.Desc
	pushPulls, pushPullsFailed, streamsOpened                *prometheus.Desc
}

func newDescs() *descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	}
	return &descs{
		members:    d("members", "Members in this node's table, by state (dead and left members are kept for a while).", "state"),
		queueDepth: d("broadcast_queue_depth", "Membership news and metadata in the gossip queue, not yet sent as often as they will be."),
		health:     d("health_score", "Lifeguard's local health score: 0 is healthy; higher means this node is slow to answer and stretches its timeouts."),

		probes:         d("probes_total", "Members probed by this node."),
		probesFailed:   d("probes_failed_total", "Probes that got no ack, directly or through others, in time."),
		indirectProbes: d("indirect_probes_total", "Indirect probes this node asked other members to make."),
		suspicions:     d("suspicions_total", "Suspicions of members this node started."),
		refutes:        d("refutes_total", "Times this node refuted a suspicion or death of itself."),

		packetsIn:       d("packets_received_total", "Datagrams received."),
		packetsOut:      d("packets_sent_total", "Datagrams sent."),
		bytesIn:         d("bytes_received_total", "Bytes of datagrams received, envelope included."),
		bytesOut:        d("bytes_sent_total", "Bytes of datagrams sent, envelope included."),
		messagesIn:      d("messages_received_total", "Messages received in datagrams, each part of a compound on its own, by memberlist's type name.", "type"),
		messagesOut:     d("messages_sent_total", "Messages sent in datagrams, each part of a compound on its own, by memberlist's type name.", "type"),
		messageBytesIn:  d("message_bytes_received_total", "Encoded bytes of messages received in datagrams, by type.", "type"),
		messageBytesOut: d("message_bytes_sent_total", "Encoded bytes of messages sent in datagrams, by type.", "type"),

		streamMessagesIn:  d("stream_messages_received_total", "Messages received over TCP streams (push-pulls, TCP probes, reliable user messages), by type.", "type"),
		streamMessagesOut: d("stream_messages_sent_total", "Messages sent over TCP streams, by type.", "type"),
		streamBytesIn:     d("stream_bytes_received_total", "Bytes received over TCP streams, envelope included."),
		streamBytesOut:    d("stream_bytes_sent_total", "Bytes sent over TCP streams, envelope included."),

		dropped:       d("dropped_total", "Protocol messages ignored, by reason.", "reason"),
		socketDropped: d("socket_dropped_total", "Input the sockets dropped: datagrams with the queue full or too large, streams over the limit.", "reason"),
		decodeErrors:  d("decode_errors_total", "Datagrams and streams received that did not decode (garbage, a wrong key or label)."),
		eventsDropped: d("events_dropped_total", "Events the application's channel had no room for."),

		pushPulls:       d("push_pulls_total", "Full-state exchanges this node started."),
		pushPullsFailed: d("push_pulls_failed_total", "Full-state exchanges this node started that did not complete."),
		streamsOpened:   d("streams_opened_total", "TCP streams this node opened: push-pulls, TCP probes, reliable sends."),
	}
}

func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.members, d.queueDepth, d.health,
		d.probes, d.probesFailed, d.indirectProbes, d.suspicions, d.refutes,
		d.packetsIn, d.packetsOut, d.bytesIn, d.bytesOut,
		d.messagesIn, d.messagesOut, d.messageBytesIn, d.messageBytesOut,
		d.streamMessagesIn, d.streamMessagesOut, d.streamBytesIn, d.streamBytesOut,
		d.dropped, d.socketDropped, d.decodeErrors, d.eventsDropped,
		d.pushPulls, d.pushPullsFailed, d.streamsOpened,
	}
}

// statsCollector reads the attached Stats function once per scrape and
// exposes its figures as constant metrics: the node keeps the totals, so
// there is nothing to keep here between scrapes.
type statsCollector struct {
	m *Metrics
	d *descs
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all() {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.m.stats.Load()
	if f == nil {
		return
	}
	collectStats(ch, c.d, (*f)())
}

func collectStats(ch chan<- prometheus.Metric, d *descs, s rumor.Stats) {
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(desc *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(v), labels...)
	}
	byLabel := func(desc *prometheus.Desc, m map[string]uint64) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			counter(desc, m[k], k)
		}
	}

	for _, st := range memberStates {
		gauge(d.members, s.Members[st], st)
	}
	for _, st := range slices.Sorted(maps.Keys(s.Members)) {
		if !slices.Contains(memberStates, st) { // a state added later
			gauge(d.members, s.Members[st], st)
		}
	}
	gauge(d.queueDepth, s.QueuedBroadcasts)
	gauge(d.health, s.Health)

	counter(d.probes, s.Probes)
	counter(d.probesFailed, s.ProbesFailed)
	counter(d.indirectProbes, s.IndirectProbes)
	counter(d.suspicions, s.Suspicions)
	counter(d.refutes, s.Refutes)

	counter(d.packetsIn, s.PacketsIn)
	counter(d.packetsOut, s.PacketsOut)
	counter(d.bytesIn, s.BytesIn)
	counter(d.bytesOut, s.BytesOut)
	// Message types appear as they are first seen: most of memberlist's
	// types never travel alone in a datagram, and zero series for them
	// would be noise.
	byLabel(d.messagesIn, s.MessagesIn)
	byLabel(d.messagesOut, s.MessagesOut)
	byLabel(d.messageBytesIn, s.MessageBytesIn)
	byLabel(d.messageBytesOut, s.MessageBytesOut)
	byLabel(d.streamMessagesIn, s.StreamMessagesIn)
	byLabel(d.streamMessagesOut, s.StreamMessagesOut)
	counter(d.streamBytesIn, s.StreamBytesIn)
	counter(d.streamBytesOut, s.StreamBytesOut)

	// Every drop reason the core knows is exposed from the start, so a
	// rate() sees the first drop of a kind; reasons the core may add
	// later still come through.
	for _, r := range swim.Drops() {
		counter(d.dropped, s.Dropped[r.String()], r.String())
	}
	for _, r := range slices.Sorted(maps.Keys(s.Dropped)) {
		if !knownDrop(r) {
			counter(d.dropped, s.Dropped[r], r)
		}
	}
	counter(d.socketDropped, s.PacketsDropped, "queue_full")
	counter(d.socketDropped, s.PacketsTooLarge, "too_large")
	counter(d.socketDropped, s.StreamsRejected, "streams_over_limit")
	counter(d.decodeErrors, s.DecodeErrors)
	counter(d.eventsDropped, s.EventsDropped)

	counter(d.pushPulls, s.PushPulls)
	counter(d.pushPullsFailed, s.PushPullsFailed)
	counter(d.streamsOpened, s.StreamsOut)
}

func knownDrop(reason string) bool {
	for _, r := range swim.Drops() {
		if r.String() == reason {
			return true
		}
	}
	return false
}
