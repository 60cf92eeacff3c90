package rumor

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// OnSample receives probe round trips and push-pull durations; Stats
// counts traffic by message type and the table by state.
func TestMetrics(t *testing.T) {
	var mu sync.Mutex
	samples := map[SampleKind][]Sample{}
	a := start(t, "a", nil)
	b := start(t, "b", func(c *Config) {
		c.OnSample = func(s Sample) {
			mu.Lock()
			samples[s.Kind] = append(samples[s.Kind], s)
			mu.Unlock()
		}
	})
	join(t, b, a)
	waitFor(t, "b probes a", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(samples[SampleProbeRTT]) == 0 {
			return errors.New("no probe round trip yet")
		}
		return nil
	})
	mu.Lock()
	rtt, pp := samples[SampleProbeRTT][0], samples[SamplePushPull]
	mu.Unlock()
	if rtt.Member != "a" || rtt.Duration <= 0 || rtt.Duration > b.cfg.ProbeTimeout {
		t.Errorf("probe sample: %+v, want member a, 0 < RTT <= %v", rtt, b.cfg.ProbeTimeout)
	}
	if len(pp) == 0 || pp[0].Peer != a.Addr() || pp[0].Err != nil || pp[0].Duration <= 0 {
		t.Errorf("push-pull samples after joining %v: %+v, want the join's", a.Addr(), pp)
	}

	s := b.Stats()
	if s.PacketsOut == 0 || s.PacketsIn == 0 || s.MessagesOut["ping"] == 0 || s.MessagesIn["ack"] == 0 {
		t.Errorf("traffic: %d packets out, %d in, messages out %v, in %v; want pings out and acks in",
			s.PacketsOut, s.PacketsIn, s.MessagesOut, s.MessagesIn)
	}
	var msgBytes uint64
	for _, n := range s.MessageBytesOut {
		msgBytes += n
	}
	if msgBytes == 0 || msgBytes > s.BytesOut {
		t.Errorf("message bytes out %d, datagram bytes out %d: want 0 < messages <= datagrams", msgBytes, s.BytesOut)
	}
	// The join's push-pull, on both sides of the stream.
	as := a.Stats()
	if s.StreamMessagesOut["push-pull"] == 0 || s.StreamMessagesIn["push-pull"] == 0 || s.StreamBytesOut == 0 || s.StreamBytesIn == 0 {
		t.Errorf("b's streams: out %v, in %v, %d bytes out, %d in; want the join's push-pull both ways",
			s.StreamMessagesOut, s.StreamMessagesIn, s.StreamBytesOut, s.StreamBytesIn)
	}
	if as.StreamMessagesIn["push-pull"] == 0 || as.StreamMessagesOut["push-pull"] == 0 || as.StreamBytesIn == 0 {
		t.Errorf("a's streams: in %v, out %v, %d bytes in; want the join it served", as.StreamMessagesIn, as.StreamMessagesOut, as.StreamBytesIn)
	}
	if s.PushPulls == 0 || s.PushPullsFailed != 0 {
		t.Errorf("push-pulls: %d started, %d failed; want the join's, none failed", s.PushPulls, s.PushPullsFailed)
	}
	if got := fmt.Sprint(s.Members); got != "map[alive:2 dead:0 left:0 suspect:0]" {
		t.Errorf("members by state: %s, want 2 alive", got)
	}
	if s.Health != 0 || s.QueuedBroadcasts < 0 {
		t.Errorf("health %d, queue %d", s.Health, s.QueuedBroadcasts)
	}
}
