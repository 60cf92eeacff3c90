package agent

import (
	"sync"
	"time"

	"github.com/rumorproject/rumor/internal/api"
)

// ring keeps the latest events for the event stream: a client that
// reconnects with the last ID it saw gets what it missed, as long as the
// ring still holds it. IDs start from the agent's start time in
// microseconds, so they keep increasing across restarts: a client that
// resumes after one is told it lost events instead of waiting for the new
// IDs to catch up with its old one.
type ring struct {
	mu       sync.Mutex
	buf      []api.Event   // circular; buf[id % len(buf)] holds event id
	first    uint64        // the first ID given out
	oldest   uint64        // the oldest ID still held
	lastID   uint64        // the latest ID given out; first-1 before any
	bytes    int           // payload bytes held
	maxBytes int           // evict the oldest events beyond this many
	wake     chan struct{} // closed and replaced at each add
}

func newRing(size, maxBytes int, start time.Time) *ring {
	first := uint64(max(start.UnixMicro(), 1))
	return &ring{buf: make([]api.Event, size), first: first, oldest: first, lastID: first - 1, maxBytes: maxBytes, wake: make(chan struct{})}
}

// add numbers ev, keeps it, evicting the oldest events beyond the ring's
// size or byte budget, and wakes the waiting readers.
func (r *ring) add(ev api.Event) api.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastID++
	ev.ID = r.lastID
	if r.lastID-r.oldest >= uint64(len(r.buf)) {
		r.evictOldest()
	}
	r.buf[ev.ID%uint64(len(r.buf))] = ev
	r.bytes += len(ev.Payload)
	for r.bytes > r.maxBytes && r.oldest < r.lastID {
		r.evictOldest()
	}
	close(r.wake)
	r.wake = make(chan struct{})
	return ev
}

func (r *ring) evictOldest() {
	slot := &r.buf[r.oldest%uint64(len(r.buf))]
	r.bytes -= len(slot.Payload)
	*slot = api.Event{}
	r.oldest++
}

// since returns up to max retained events with an ID above after, oldest
// first; lost tells that some events above after are gone; wake is closed
// by the next add.
func (r *ring) since(after uint64, max int) (evs []api.Event, lost bool, wake <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := after + 1
	switch {
	case after > r.lastID:
		// An ID this agent never gave out: from another agent behind the
		// same address, or from before a restart with a clock set back.
		lost, first = true, r.oldest
	case first < r.oldest:
		// Events no longer held, or from before this agent's start: only
		// a resuming client (after > 0) has missed something.
		lost, first = after > 0, r.oldest
	}
	for id := first; id <= r.lastID && len(evs) < max; id++ {
		evs = append(evs, r.buf[id%uint64(len(r.buf))])
	}
	return evs, lost, r.wake
}
