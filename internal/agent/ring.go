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
	mu     sync.Mutex
	buf    []api.Event   // circular; buf[id % len(buf)] holds event id
	first  uint64        // the first ID given out
	lastID uint64        // the latest ID given out; first-1 before any
	wake   chan struct{} // closed and replaced at each add
}

func newRing(size int, start time.Time) *ring {
	first := uint64(max(start.UnixMicro(), 1))
	return &ring{buf: make([]api.Event, size), first: first, lastID: first - 1, wake: make(chan struct{})}
}

// add numbers ev, keeps it and wakes the waiting readers.
func (r *ring) add(ev api.Event) api.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastID++
	ev.ID = r.lastID
	r.buf[ev.ID%uint64(len(r.buf))] = ev
	close(r.wake)
	r.wake = make(chan struct{})
	return ev
}

// since returns up to max retained events with an ID above after, oldest
// first; lost tells that some events above after are gone; wake is closed
// by the next add.
func (r *ring) since(after uint64, max int) (evs []api.Event, lost bool, wake <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	oldest := r.first
	if r.lastID >= r.first+uint64(len(r.buf)) {
		oldest = r.lastID - uint64(len(r.buf)) + 1
	}
	first := after + 1
	if first < oldest {
		// Events this agent no longer holds, or from before its start:
		// only a resuming client (after > 0) has missed something.
		lost, first = after > 0, oldest
	}
	for id := first; id <= r.lastID && len(evs) < max; id++ {
		evs = append(evs, r.buf[id%uint64(len(r.buf))])
	}
	return evs, lost, r.wake
}
