package agent

import (
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/api"
)

func TestRing(t *testing.T) {
	start := time.Unix(1000, 0)
	base := uint64(start.UnixMicro())
	r := newRing(4, 1<<20, start)
	evs, lost, wake := r.since(0, 10)
	if len(evs) != 0 || lost {
		t.Fatalf("empty ring: %v, lost %v", evs, lost)
	}
	for i := range 6 {
		if ev := r.add(api.Event{Type: "join", From: string(rune('a' + i))}); ev.ID != base+uint64(i) {
			t.Fatalf("event %d numbered %d, want %d", i, ev.ID, base+uint64(i))
		}
	}
	select {
	case <-wake:
	default:
		t.Fatal("add did not wake the reader")
	}
	// A new client (after 0) gets what is held, and has lost nothing.
	evs, lost, _ = r.since(0, 10)
	if lost || len(evs) != 4 || evs[0].ID != base+2 || evs[3].ID != base+5 || evs[0].From != "c" {
		t.Fatalf("since(0) after 6 adds in 4 slots: %+v lost %v; want the last 4", evs, lost)
	}
	// A client that saw the first event has lost the second.
	if evs, lost, _ = r.since(base, 10); !lost || len(evs) != 4 {
		t.Fatalf("since(first) = %d events, lost %v; want 4 and lost", len(evs), lost)
	}
	evs, lost, _ = r.since(base+3, 1)
	if lost || len(evs) != 1 || evs[0].ID != base+4 {
		t.Fatalf("since(base+3, max 1) = %+v lost %v; want event base+4", evs, lost)
	}
	// After a restart, IDs keep growing: a client resuming with an ID of
	// the earlier run is told it lost events and gets the new ones.
	r2 := newRing(4, 1<<20, start.Add(time.Second))
	r2.add(api.Event{Type: "join"})
	if evs, lost, _ = r2.since(base+5, 10); !lost || len(evs) != 1 || evs[0].ID <= base+5 {
		t.Fatalf("resuming across a restart: %+v lost %v; want the new event and lost", evs, lost)
	}
	// An ID above any this agent gave out (another agent's): a gap, and
	// what this one holds.
	if evs, lost, _ = r.since(base+1000, 10); !lost || len(evs) != 4 {
		t.Fatalf("since a foreign ID: %d events, lost %v; want all 4 held and lost", len(evs), lost)
	}
}

func TestRingByteBudget(t *testing.T) {
	r := newRing(100, 10, time.Unix(1, 0))
	for range 5 {
		r.add(api.Event{Type: "message", Payload: []byte("abcd")})
	}
	evs, lost, _ := r.since(0, 100)
	if len(evs) != 2 || lost || r.bytes != 8 {
		t.Fatalf("5 payloads of 4 bytes in a 10-byte budget: %d held (%d bytes), lost %v; want the last 2", len(evs), r.bytes, lost)
	}
	// One event over the whole budget is still held, alone.
	r.add(api.Event{Type: "message", Payload: make([]byte, 50)})
	if evs, _, _ = r.since(0, 100); len(evs) != 1 || len(evs[0].Payload) != 50 {
		t.Fatalf("an event over the budget: %d held", len(evs))
	}
}

// TestEventsSinceBatchBytes: a batch of large payloads stops after about
// eventBatchBytes, and the reader gets the rest by asking again.
func TestEventsSinceBatchBytes(t *testing.T) {
	a := &Agent{events: newRing(100, 16<<20, time.Unix(1, 0))}
	for range 10 {
		a.events.add(api.Event{Type: api.EventMessage, Payload: make([]byte, 100<<10)})
	}
	var after uint64
	batches, total := 0, 0
	for total < 10 && batches < 20 {
		evs, _, _ := a.EventsSince(after, 256)
		if len(evs) == 0 || len(evs)*(100<<10) > eventBatchBytes+100<<10 {
			t.Fatalf("batch %d: %d events of 100 KiB", batches, len(evs))
		}
		after, total, batches = evs[len(evs)-1].ID, total+len(evs), batches+1
	}
	if total != 10 || batches < 4 {
		t.Errorf("read %d events in %d batches; want 10 in at least 4", total, batches)
	}
}
