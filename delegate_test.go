package rumor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a Delegate that keeps what it hears and hands out queued
// broadcasts once each.
type recorder struct {
	mu      sync.Mutex
	got     []string
	pending [][]byte
}

func (r *recorder) NotifyMsg(msg []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, string(msg))
}

func (r *recorder) GetBroadcasts(overhead, limit int) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.pending
	r.pending = nil
	return out
}

func (r *recorder) LocalState(bool) []byte        { return nil }
func (r *recorder) MergeRemoteState([]byte, bool) {}
func (r *recorder) broadcast(msg string) {
	r.mu.Lock()
	r.pending = append(r.pending, []byte(msg))
	r.mu.Unlock()
}
func (r *recorder) has(msg string) func() error {
	return func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if !slices.Contains(r.got, msg) {
			return fmt.Errorf("received %q, not %q", r.got, msg)
		}
		return nil
	}
}

func TestEventsMessagesAndMeta(t *testing.T) {
	events := make(chan Event, 64)
	ra, rb := &recorder{}, &recorder{}
	a := start(t, "a", func(c *Config) { c.Events, c.Delegate = events, ra })
	b := start(t, "b", func(c *Config) { c.Delegate, c.Meta = rb, []byte("v1") })
	join(t, b, a)
	waitFor(t, "pair converges", sees([]*Node{a, b}, "a", "b"))

	next := func(kind EventKind, name string) Event {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.Kind == kind && ev.Member.Name == name {
					return ev
				}
			case <-timeout:
				t.Fatalf("no %v event for %s within 10 s", kind, name)
			}
		}
	}
	if ev := next(EventJoin, "b"); string(ev.Member.Meta) != "v1" || ev.Member.Addr != b.Addr() {
		t.Errorf("join event: got %+v, want b at %v with meta v1", ev.Member, b.Addr())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	self := a.LocalNode()
	if err := b.SendBestEffort(self, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "best-effort message", ra.has("hello"))
	if err := b.SendReliable(ctx, self, []byte("world")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reliable message", ra.has("world"))
	rb.broadcast("to everyone")
	waitFor(t, "user broadcast", ra.has("to everyone"))

	if err := b.UpdateNode(ctx, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if ev := next(EventUpdate, "b"); string(ev.Member.Meta) != "v2" {
		t.Errorf("update event: got meta %q, want v2", ev.Member.Meta)
	}
	if err := b.UpdateNode(ctx, make([]byte, 513)); err == nil {
		t.Error("UpdateNode with 513 bytes: got nil error")
	}
	if s := a.Stats(); s.EventsDropped != 0 {
		t.Errorf("events dropped: got %d, want 0", s.EventsDropped)
	}
}

// Node.Broadcast is a user broadcast without a Delegate's queue: the other
// member's Delegate receives it, the sender's does not. (It makes a bounded
// number of sends to random members, as memberlist's user broadcasts: with
// more than one other member, reaching each is likely, not certain, so
// this test has one.)
func TestBroadcast(t *testing.T) {
	recs := []*recorder{{}, {}}
	var nodes []*Node
	for i, r := range recs {
		nodes = append(nodes, start(t, fmt.Sprintf("n%d", i), func(c *Config) { c.Delegate = r }))
	}
	join(t, nodes[1], nodes[0])
	waitFor(t, "pair converges", sees(nodes, "n0", "n1"))
	if err := nodes[1].Broadcast([]byte("news")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n0 receives", recs[0].has("news"))
	if recs[1].has("news")() == nil {
		t.Error("the sender received its own broadcast")
	}
	if err := nodes[0].Broadcast(nil); err == nil {
		t.Error("empty broadcast: got nil error")
	}
	if err := nodes[0].Broadcast(make([]byte, nodes[0].cfg.UDPBufferSize)); err == nil {
		t.Error("broadcast larger than a packet: got nil error")
	}
}
