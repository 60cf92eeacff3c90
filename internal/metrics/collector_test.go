package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/swim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeStats has a distinct value in every field, so a figure exposed under
// the wrong name shows.
func fakeStats() rumor.Stats {
	return rumor.Stats{
		EventsDropped: 1, DecodeErrors: 2, LastDecodeError: errors.New("bad crc"),
		PacketsDropped: 3, PacketsTooLarge: 4, StreamsRejected: 5,
		PacketsIn: 6, PacketsOut: 7, BytesIn: 8, BytesOut: 9,
		StreamsOut: 10, PushPulls: 11, PushPullsFailed: 12,
		MessagesIn:       map[string]uint64{"ping": 13, "ack": 14},
		MessagesOut:      map[string]uint64{"ping": 15},
		MessageBytesIn:   map[string]uint64{"ping": 16, "ack": 17},
		MessageBytesOut:  map[string]uint64{"ping": 18},
		StreamMessagesIn: map[string]uint64{"push-pull": 31}, StreamMessagesOut: map[string]uint64{"push-pull": 32, "user": 35},
		StreamBytesIn: 33, StreamBytesOut: 34,
		Probes: 19, ProbesFailed: 20, IndirectProbes: 21, Suspicions: 22, Refutes: 23,
		Dropped:          map[string]uint64{"stale_incarnation": 24, "new_reason": 25},
		Members:          map[string]int{"alive": 26, "dead": 27, "zombie": 28},
		QueuedBroadcasts: 29,
		Health:           30,
	}
}

// want is the exposition of fakeStats, drop reasons aside.
const want = `
# HELP rumor_broadcast_queue_depth Membership news and metadata in the gossip queue, not yet sent as often as they will be.
# TYPE rumor_broadcast_queue_depth gauge
rumor_broadcast_queue_depth 29
# HELP rumor_bytes_received_total Bytes of datagrams received, envelope included.
# TYPE rumor_bytes_received_total counter
rumor_bytes_received_total 8
# HELP rumor_bytes_sent_total Bytes of datagrams sent, envelope included.
# TYPE rumor_bytes_sent_total counter
rumor_bytes_sent_total 9
# HELP rumor_decode_errors_total Datagrams and streams received that did not decode (garbage, a wrong key or label).
# TYPE rumor_decode_errors_total counter
rumor_decode_errors_total 2
# HELP rumor_events_dropped_total Events the application's channel had no room for.
# TYPE rumor_events_dropped_total counter
rumor_events_dropped_total 1
# HELP rumor_health_score Lifeguard's local health score: 0 is healthy; higher means this node is slow to answer and stretches its timeouts.
# TYPE rumor_health_score gauge
rumor_health_score 30
# HELP rumor_indirect_probes_total Indirect probes this node asked other members to make.
# TYPE rumor_indirect_probes_total counter
rumor_indirect_probes_total 21
# HELP rumor_members Members in this node's table, by state (dead and left members are kept for a while).
# TYPE rumor_members gauge
rumor_members{state="alive"} 26
rumor_members{state="dead"} 27
rumor_members{state="left"} 0
rumor_members{state="suspect"} 0
rumor_members{state="zombie"} 28
# HELP rumor_message_bytes_received_total Encoded bytes of messages received in datagrams, by type.
# TYPE rumor_message_bytes_received_total counter
rumor_message_bytes_received_total{type="ack"} 17
rumor_message_bytes_received_total{type="ping"} 16
# HELP rumor_message_bytes_sent_total Encoded bytes of messages sent in datagrams, by type.
# TYPE rumor_message_bytes_sent_total counter
rumor_message_bytes_sent_total{type="ping"} 18
# HELP rumor_messages_received_total Messages received in datagrams, each part of a compound on its own, by memberlist's type name.
# TYPE rumor_messages_received_total counter
rumor_messages_received_total{type="ack"} 14
rumor_messages_received_total{type="ping"} 13
# HELP rumor_messages_sent_total Messages sent in datagrams, each part of a compound on its own, by memberlist's type name.
# TYPE rumor_messages_sent_total counter
rumor_messages_sent_total{type="ping"} 15
# HELP rumor_packets_received_total Datagrams received.
# TYPE rumor_packets_received_total counter
rumor_packets_received_total 6
# HELP rumor_packets_sent_total Datagrams sent.
# TYPE rumor_packets_sent_total counter
rumor_packets_sent_total 7
# HELP rumor_probes_failed_total Probes that got no ack, directly or through others, in time.
# TYPE rumor_probes_failed_total counter
rumor_probes_failed_total 20
# HELP rumor_probes_total Members probed by this node.
# TYPE rumor_probes_total counter
rumor_probes_total 19
# HELP rumor_push_pulls_failed_total Full-state exchanges this node started that did not complete.
# TYPE rumor_push_pulls_failed_total counter
rumor_push_pulls_failed_total 12
# HELP rumor_push_pulls_total Full-state exchanges this node started.
# TYPE rumor_push_pulls_total counter
rumor_push_pulls_total 11
# HELP rumor_refutes_total Times this node refuted a suspicion or death of itself.
# TYPE rumor_refutes_total counter
rumor_refutes_total 23
# HELP rumor_socket_dropped_total Input the sockets dropped: datagrams with the queue full or too large, streams over the limit.
# TYPE rumor_socket_dropped_total counter
rumor_socket_dropped_total{reason="queue_full"} 3
rumor_socket_dropped_total{reason="streams_over_limit"} 5
rumor_socket_dropped_total{reason="too_large"} 4
# HELP rumor_stream_bytes_received_total Bytes received over TCP streams, envelope included.
# TYPE rumor_stream_bytes_received_total counter
rumor_stream_bytes_received_total 33
# HELP rumor_stream_bytes_sent_total Bytes sent over TCP streams, envelope included.
# TYPE rumor_stream_bytes_sent_total counter
rumor_stream_bytes_sent_total 34
# HELP rumor_stream_messages_received_total Messages received over TCP streams (push-pulls, TCP probes, reliable user messages), by type.
# TYPE rumor_stream_messages_received_total counter
rumor_stream_messages_received_total{type="push-pull"} 31
# HELP rumor_stream_messages_sent_total Messages sent over TCP streams, by type.
# TYPE rumor_stream_messages_sent_total counter
rumor_stream_messages_sent_total{type="push-pull"} 32
rumor_stream_messages_sent_total{type="user"} 35
# HELP rumor_streams_opened_total TCP streams this node opened: push-pulls, TCP probes, reliable sends.
# TYPE rumor_streams_opened_total counter
rumor_streams_opened_total 10
# HELP rumor_suspicions_total Suspicions of members this node started.
# TYPE rumor_suspicions_total counter
rumor_suspicions_total 22
`

// statsNames are the families read from Stats, rumor_dropped_total aside.
var statsNames = []string{
	"rumor_broadcast_queue_depth", "rumor_bytes_received_total", "rumor_bytes_sent_total",
	"rumor_decode_errors_total", "rumor_events_dropped_total", "rumor_health_score",
	"rumor_indirect_probes_total", "rumor_members", "rumor_message_bytes_received_total",
	"rumor_message_bytes_sent_total", "rumor_messages_received_total", "rumor_messages_sent_total",
	"rumor_packets_received_total", "rumor_packets_sent_total", "rumor_probes_failed_total",
	"rumor_probes_total", "rumor_push_pulls_failed_total", "rumor_push_pulls_total",
	"rumor_refutes_total", "rumor_socket_dropped_total", "rumor_streams_opened_total",
	"rumor_stream_bytes_received_total", "rumor_stream_bytes_sent_total",
	"rumor_stream_messages_received_total", "rumor_stream_messages_sent_total",
	"rumor_suspicions_total",
}

func TestCollectorExactValues(t *testing.T) {
	m := New()
	calls := 0
	m.Attach(func() rumor.Stats { calls++; return fakeStats() })
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), statsNames...); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("one gather read Stats %d times, want 1", calls)
	}

	// Every reason the core knows is there, at zero unless counted, and
	// an unknown one comes through.
	var b strings.Builder
	b.WriteString("# HELP rumor_dropped_total Protocol messages ignored, by reason.\n# TYPE rumor_dropped_total counter\n")
	reasons := map[string]string{"new_reason": "25"}
	for _, d := range swim.Drops() {
		reasons[d.String()] = "0"
	}
	reasons["stale_incarnation"] = "24"
	for r, v := range reasons {
		b.WriteString(`rumor_dropped_total{reason="` + r + `"} ` + v + "\n")
	}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(b.String()), "rumor_dropped_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(&statsCollector{m: m, d: newDescs()}, "rumor_dropped_total"); n != len(swim.Drops())+1 {
		t.Errorf("%d rumor_dropped_total series, want %d", n, len(swim.Drops())+1)
	}
}

func TestCollectorLint(t *testing.T) {
	m := New()
	m.Attach(fakeStats)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "rumor_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

func TestDetached(t *testing.T) {
	m := New()
	if n := testutil.CollectAndCount(&statsCollector{m: m, d: newDescs()}); n != 0 {
		t.Errorf("before Attach: %d metrics from Stats, want 0", n)
	}
	m.Attach(fakeStats)
	m.Attach(nil)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "rumor_probes_total" {
			t.Error("rumor_probes_total exposed after Attach(nil)")
		}
	}
}

func TestObserve(t *testing.T) {
	m := New()
	m.Observe(rumor.Sample{Kind: rumor.SampleProbeRTT, Duration: 700 * time.Microsecond, Member: "b"})
	m.Observe(rumor.Sample{Kind: rumor.SampleProbeRTT, Duration: 3 * time.Second, Member: "c"})
	m.Observe(rumor.Sample{Kind: rumor.SamplePushPull, Duration: 20 * time.Millisecond})
	m.Observe(rumor.Sample{Kind: rumor.SamplePushPull, Duration: 10 * time.Second, Err: errors.New("i/o timeout")})
	m.Observe(rumor.Sample{Kind: 0, Duration: time.Second}) // unknown kinds are ignored

	const want = `
# HELP rumor_probe_rtt_seconds Round trip of direct probes that members answered, from ping to ack.
# TYPE rumor_probe_rtt_seconds histogram
rumor_probe_rtt_seconds_bucket{le="0.0005"} 0
rumor_probe_rtt_seconds_bucket{le="0.001"} 1
rumor_probe_rtt_seconds_bucket{le="0.0025"} 1
rumor_probe_rtt_seconds_bucket{le="0.005"} 1
rumor_probe_rtt_seconds_bucket{le="0.01"} 1
rumor_probe_rtt_seconds_bucket{le="0.025"} 1
rumor_probe_rtt_seconds_bucket{le="0.05"} 1
rumor_probe_rtt_seconds_bucket{le="0.1"} 1
rumor_probe_rtt_seconds_bucket{le="0.25"} 1
rumor_probe_rtt_seconds_bucket{le="0.5"} 1
rumor_probe_rtt_seconds_bucket{le="1"} 1
rumor_probe_rtt_seconds_bucket{le="2.5"} 1
rumor_probe_rtt_seconds_bucket{le="+Inf"} 2
rumor_probe_rtt_seconds_sum 3.0007
rumor_probe_rtt_seconds_count 2
# HELP rumor_push_pull_duration_seconds Duration of successful full-state exchanges this node started, from dial to reply read; failures are counted in rumor_push_pulls_failed_total.
# TYPE rumor_push_pull_duration_seconds histogram
rumor_push_pull_duration_seconds_bucket{le="0.001"} 0
rumor_push_pull_duration_seconds_bucket{le="0.0025"} 0
rumor_push_pull_duration_seconds_bucket{le="0.005"} 0
rumor_push_pull_duration_seconds_bucket{le="0.01"} 0
rumor_push_pull_duration_seconds_bucket{le="0.025"} 1
rumor_push_pull_duration_seconds_bucket{le="0.05"} 1
rumor_push_pull_duration_seconds_bucket{le="0.1"} 1
rumor_push_pull_duration_seconds_bucket{le="0.25"} 1
rumor_push_pull_duration_seconds_bucket{le="0.5"} 1
rumor_push_pull_duration_seconds_bucket{le="1"} 1
rumor_push_pull_duration_seconds_bucket{le="2.5"} 1
rumor_push_pull_duration_seconds_bucket{le="5"} 1
rumor_push_pull_duration_seconds_bucket{le="10"} 1
rumor_push_pull_duration_seconds_bucket{le="+Inf"} 1
rumor_push_pull_duration_seconds_sum 0.02
rumor_push_pull_duration_seconds_count 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"rumor_probe_rtt_seconds", "rumor_push_pull_duration_seconds"); err != nil {
		t.Fatal(err)
	}
}
