package swim

import (
	"testing"
	"time"
)

// An idle, healthy node wakes its driver only to probe: no gossip rounds
// with nothing to say, no timeouts of probes already answered. That is
// most of an idle cluster's CPU.
func TestIdleNodeWakesOnlyToProbe(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PushPullInterval = 0 })
	h.joinN(5)
	var wakeups int
	end := epoch.Add(10 * time.Second)
	for i := 0; i < 10_000; i++ {
		d, ok := h.n.NextDeadline()
		if !ok || d.After(end) {
			break
		}
		wakeups++
		h.advanceTo(d)
		h.respond(nil)
	}
	// 10 probe ticks, plus the gossip rounds that sent the self-alive the
	// node queued at start (quiet emptied it, so at most the first tick).
	if wakeups > 12 {
		t.Errorf("idle node woke %d times in 10 s of 1 s probes, want at most 12", wakeups)
	}
	if got := h.n.Counters().Probes; got < 9 {
		t.Errorf("idle node probed %d times in 10 s, want about 10", got)
	}
}

// A broadcast queued while the gossip timer sleeps wakes it on its old
// phase, within one GossipInterval.
func TestGossipRearmsOnBroadcast(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PushPullInterval = 0 })
	h.joinN(5)
	h.runUntil(epoch.Add(3*time.Second+50*time.Millisecond), nil, nil)
	if !h.n.gossipIdle {
		t.Fatal("gossip timer still running with an empty queue")
	}
	phase := time.Duration(h.n.gossipAt) % h.n.cfg.GossipInterval
	h.recv(h.alive("m9", 1)) // news to spread
	d, ok := h.n.NextDeadline()
	if !ok || d.Sub(h.now) > h.n.cfg.GossipInterval {
		t.Fatalf("next deadline %v after a broadcast, want within %v", d.Sub(h.now), h.n.cfg.GossipInterval)
	}
	if got := d.Sub(epoch) % h.n.cfg.GossipInterval; got != phase {
		t.Errorf("gossip rearmed at phase %v, want %v", got, phase)
	}
	h.advanceTo(d)
	if o := h.drain(); len(o.Packets) == 0 {
		t.Error("rearmed gossip round sent nothing")
	}
}
