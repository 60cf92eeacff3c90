package swim

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// A new node queues its own alive, as memberlist's setAlive does
// (memberlist.go, aliveNode with bootstrap set), so once it has joined it
// announces itself by gossip to members its seed did not tell in time.
// Without this, a node joining through one seed of a cluster using
// memberlist's local retransmit limit (2 sends per broadcast under 10
// members) often stays unknown to some members until their next push-pull.
func TestNewNodeAnnouncesItself(t *testing.T) {
	h := newHarness(t)
	h.n.Join(h.now, []netip.AddrPort{h.addr("a")})
	out := h.drain()
	if len(out.Streams) != 1 {
		t.Fatalf("Join opened %d streams, want 1", len(out.Streams))
	}
	reply := &wire.PushPull{}
	for _, name := range []string{"a", "b", "c"} {
		a := h.alive(name, 1)
		reply.Nodes = append(reply.Nodes, wire.PushNodeState{Name: name, Addr: a.Addr, Port: a.Port,
			Incarnation: 1, State: wire.StateAlive, Vsn: testVsn})
	}
	h.n.StreamDone(h.now, out.Streams[0].ID, reply, nil)

	told := map[netip.AddrPort]bool{}
	for end := h.now.Add(time.Second); ; {
		d, ok := h.n.NextDeadline()
		if !ok || d.After(end) {
			break
		}
		h.advanceTo(d)
		for _, s := range messages(t, h.drain()) {
			if a, ok := s.msg.(*wire.Alive); ok && a.Node == "self" {
				told[s.to] = true
			}
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		if !told[h.addr(name)] {
			t.Errorf("within a second of joining, self did not announce itself to %s", name)
		}
	}
}

// A preloaded node joined long ago: it has nothing of its own to announce.
func TestPreloadDropsOwnAnnouncement(t *testing.T) {
	h := newHarness(t)
	if h.n.queue.len() != 1 {
		t.Fatalf("a new node queues %d broadcasts, want its own alive", h.n.queue.len())
	}
	h.n.Preload(h.now, []Member{{Name: "a", Addr: h.addr("a"), Incarnation: 1, State: StateAlive}})
	if h.n.queue.len() != 0 {
		t.Fatalf("after Preload %d broadcasts are queued, want none", h.n.queue.len())
	}
}
