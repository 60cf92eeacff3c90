package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rumorproject/rumor"
)

// node starts a rumor node on loopback, wired to metrics as the agent
// wires it, and returns the node and a server scraping its handler.
func node(t *testing.T, name string) (*rumor.Node, *httptest.Server) {
	t.Helper()
	m := New()
	cfg := rumor.DefaultLocalConfig()
	cfg.Name, cfg.BindAddr, cfg.BindPort = name, "127.0.0.1", 0
	cfg.OnSample = m.Observe
	n, err := rumor.Create(cfg)
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	t.Cleanup(func() { n.Shutdown() })
	m.Attach(n.Stats)
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return n, srv
}

// scrape fetches and parses one exposition in the text format.
func scrape(srv *httptest.Server) (map[string]*dto.MetricFamily, error) {
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse scrape: %w", err)
	}
	return mfs, nil
}

// value returns the value of the family's series with the given label
// (name, value; none for an unlabelled family), and whether there is one.
func value(mfs map[string]*dto.MetricFamily, family string, label ...string) (float64, bool) {
	mf := mfs[family]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if len(label) == 2 && !hasLabel(m, label[0], label[1]) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func hasLabel(m *dto.Metric, name, val string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == val {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	const limit = 15 * time.Second
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: not within %v: %v", what, limit, err)
		}
	}
}

// families lists every family the node's metrics expose once it has
// talked to another node, with its type.
var families = map[string]dto.MetricType{
	"rumor_members":                        dto.MetricType_GAUGE,
	"rumor_probes_total":                   dto.MetricType_COUNTER,
	"rumor_probes_failed_total":            dto.MetricType_COUNTER,
	"rumor_indirect_probes_total":          dto.MetricType_COUNTER,
	"rumor_suspicions_total":               dto.MetricType_COUNTER,
	"rumor_refutes_total":                  dto.MetricType_COUNTER,
	"rumor_packets_received_total":         dto.MetricType_COUNTER,
	"rumor_packets_sent_total":             dto.MetricType_COUNTER,
	"rumor_bytes_received_total":           dto.MetricType_COUNTER,
	"rumor_bytes_sent_total":               dto.MetricType_COUNTER,
	"rumor_messages_received_total":        dto.MetricType_COUNTER,
	"rumor_messages_sent_total":            dto.MetricType_COUNTER,
	"rumor_message_bytes_received_total":   dto.MetricType_COUNTER,
	"rumor_message_bytes_sent_total":       dto.MetricType_COUNTER,
	"rumor_dropped_total":                  dto.MetricType_COUNTER,
	"rumor_socket_dropped_total":           dto.MetricType_COUNTER,
	"rumor_decode_errors_total":            dto.MetricType_COUNTER,
	"rumor_events_dropped_total":           dto.MetricType_COUNTER,
	"rumor_broadcast_queue_depth":          dto.MetricType_GAUGE,
	"rumor_push_pulls_total":               dto.MetricType_COUNTER,
	"rumor_push_pulls_failed_total":        dto.MetricType_COUNTER,
	"rumor_health_score":                   dto.MetricType_GAUGE,
	"rumor_streams_opened_total":           dto.MetricType_COUNTER,
	"rumor_stream_messages_received_total": dto.MetricType_COUNTER,
	"rumor_stream_messages_sent_total":     dto.MetricType_COUNTER,
	"rumor_stream_bytes_received_total":    dto.MetricType_COUNTER,
	"rumor_stream_bytes_sent_total":        dto.MetricType_COUNTER,
	"rumor_probe_rtt_seconds":              dto.MetricType_HISTOGRAM,
	"rumor_push_pull_duration_seconds":     dto.MetricType_HISTOGRAM,
	"go_goroutines":                        dto.MetricType_GAUGE,
}

func init() {
	if runtime.GOOS == "linux" { // where the process collector reads procfs
		families["process_start_time_seconds"] = dto.MetricType_GAUGE
	}
}

// check returns why a scrape of a node in a two-node cluster is not yet
// what it should be once the node has probed and been probed; joiner is
// whether the node started the join (and so a push-pull).
func check(mfs map[string]*dto.MetricFamily, joiner bool) error {
	for name, typ := range families {
		mf := mfs[name]
		if mf == nil {
			return fmt.Errorf("no family %s", name)
		}
		if mf.GetType() != typ {
			return fmt.Errorf("%s is a %v, want %v", name, mf.GetType(), typ)
		}
	}
	type want struct {
		family string
		label  []string
		ok     func(float64) bool
		what   string
	}
	positive := func(v float64) bool { return v > 0 }
	wants := []want{
		{"rumor_members", []string{"state", "alive"}, func(v float64) bool { return v == 2 }, "== 2"},
		{"rumor_members", []string{"state", "suspect"}, func(v float64) bool { return v == 0 }, "== 0"},
		{"rumor_members", []string{"state", "dead"}, func(v float64) bool { return v == 0 }, "== 0"},
		{"rumor_probes_total", nil, positive, "> 0"},
		{"rumor_probe_rtt_seconds", nil, positive, "count > 0"},
		{"rumor_packets_received_total", nil, positive, "> 0"},
		{"rumor_packets_sent_total", nil, positive, "> 0"},
		{"rumor_bytes_received_total", nil, positive, "> 0"},
		{"rumor_messages_received_total", []string{"type", "ping"}, positive, "> 0"},
		{"rumor_messages_sent_total", []string{"type", "ack"}, positive, "> 0"},
		{"rumor_message_bytes_sent_total", []string{"type", "ping"}, positive, "> 0"},
		{"rumor_decode_errors_total", nil, func(v float64) bool { return v == 0 }, "== 0"},
		{"rumor_socket_dropped_total", []string{"reason", "queue_full"}, func(v float64) bool { return v == 0 }, "== 0"},
	}
	if joiner {
		wants = append(wants,
			want{"rumor_push_pulls_total", nil, positive, "> 0"},
			want{"rumor_push_pull_duration_seconds", nil, positive, "count > 0"},
			want{"rumor_streams_opened_total", nil, positive, "> 0"},
			want{"rumor_stream_messages_sent_total", []string{"type", "push-pull"}, positive, "> 0"},
			want{"rumor_stream_bytes_received_total", nil, positive, "> 0"})
	}
	for _, w := range wants {
		v, ok := value(mfs, w.family, w.label...)
		if !ok || !w.ok(v) {
			return fmt.Errorf("%s%v = %v (present %v), want %s", w.family, w.label, v, ok, w.what)
		}
	}
	// The node's bytes are at least its messages' bytes: the envelope
	// only adds.
	var msgBytes float64
	for _, m := range mfs["rumor_message_bytes_sent_total"].GetMetric() {
		msgBytes += m.GetCounter().GetValue()
	}
	if sent, _ := value(mfs, "rumor_bytes_sent_total"); sent < msgBytes {
		return fmt.Errorf("rumor_bytes_sent_total = %v < %v bytes of messages sent", sent, msgBytes)
	}
	return nil
}

func TestTwoNodes(t *testing.T) {
	a, srvA := node(t, "a")
	b, srvB := node(t, "b")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if k, err := b.Join(ctx, []string{a.Addr().String()}); err != nil || k != 1 {
		t.Fatalf("b joins a: %d answered, %v", k, err)
	}
	waitFor(t, "both nodes list 2 members", func() error {
		for _, n := range []*rumor.Node{a, b} {
			if k := n.NumMembers(); k != 2 {
				return fmt.Errorf("%s lists %d members", n.LocalNode().Name, k)
			}
		}
		return nil
	})
	for _, tc := range []struct {
		name   string
		srv    *httptest.Server
		joiner bool
	}{{"a", srvA, false}, {"b", srvB, true}} {
		var last map[string]*dto.MetricFamily
		waitFor(t, tc.name+"'s metrics", func() error {
			mfs, err := scrape(tc.srv)
			if err != nil {
				return err
			}
			last = mfs
			return check(mfs, tc.joiner)
		})
		// Counters never go back between scrapes.
		next, err := scrape(tc.srv)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"rumor_probes_total", "rumor_packets_sent_total", "rumor_bytes_received_total"} {
			before, _ := value(last, name)
			if after, _ := value(next, name); after < before {
				t.Errorf("%s: %s went from %v to %v", tc.name, name, before, after)
			}
		}
	}
}
