// Package metrics exports one rumor node's figures to Prometheus.
//
// The node's totals and gauges ([rumor.Stats]) are read once per scrape by
// a custom collector, so every counter is the node's own running total and
// nothing is copied between scrapes. The distributions ([rumor.Sample]:
// probe round trips, push-pull durations) are observed as they are taken,
// into histograms.
//
// Use:
//
//	m := metrics.New()
//	cfg.OnSample = m.Observe // before rumor.Create
//	node, err := rumor.Create(cfg)
//	...
//	m.Attach(node.Stats)
//	mux.Handle("GET /metrics", m.Handler())
package metrics

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rumorproject/rumor"
)

// Namespace prefixes every metric of the node.
const Namespace = "rumor"

// Histogram buckets, in seconds. A probe's round trip is well under a
// millisecond on a LAN and reaches the probe timeout (500 ms in the LAN
// profile, 3 s in the WAN one) when a member is slow; a push-pull is a TCP
// dial and the whole member table each way, bounded by TCPTimeout (10 s in
// the LAN profile). Slower ones land in +Inf.
var (
	probeRTTBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	pushPullBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// Metrics holds one node's metrics and the registry that serves them. Its
// methods are safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	probeRTT prometheus.Histogram
	pushPull prometheus.Histogram
	stats    atomic.Pointer[func() rumor.Stats]
}

// New returns metrics registered in a registry of their own, with the Go
// runtime's and the process's collectors beside them. Until Attach is
// called, only the histograms and those collectors are exposed.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		probeRTT: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "probe_rtt_seconds",
			Help:      "Round trip of direct probes that members answered, from ping to ack.",
			Buckets:   probeRTTBuckets,
		}),
		pushPull: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "push_pull_duration_seconds",
			Help:      "Duration of successful full-state exchanges this node started, from dial to reply read; failures are counted in rumor_push_pulls_failed_total.",
			Buckets:   pushPullBuckets,
		}),
	}
	m.reg.MustRegister(
		m.probeRTT,
		m.pushPull,
		&statsCollector{m: m, d: newDescs()},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Observe records a sample; it is meant for rumor.Config.OnSample. It
// runs on the node's event loop, so it only updates a histogram (lock
// free). Failed push-pulls are left out of the histogram: their duration
// is mostly the timeout, which says nothing about the cluster's latency,
// and Stats already counts them.
func (m *Metrics) Observe(s rumor.Sample) {
	switch s.Kind {
	case rumor.SampleProbeRTT:
		m.probeRTT.Observe(s.Duration.Seconds())
	case rumor.SamplePushPull:
		if s.Err == nil {
			m.pushPull.Observe(s.Duration.Seconds())
		}
	}
}

// Attach sets the function read at each scrape, typically a Node's Stats
// method; nil detaches it, and the node's totals are then not exposed.
func (m *Metrics) Attach(stats func() rumor.Stats) {
	if stats == nil {
		m.stats.Store(nil)
		return
	}
	m.stats.Store(&stats)
}

// Registry returns the registry the metrics live in, for the agent to
// register collectors of its own beside them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus's exposition formats, with
// promhttp's own scrape counters. A collector's error does not fail the
// scrape: what could be gathered is served.
func (m *Metrics) Handler() http.Handler {
	// Both register their own counters in m.reg, and reuse them when
	// Handler is called again.
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // promhttp_metric_handler_errors_total
	}))
}
