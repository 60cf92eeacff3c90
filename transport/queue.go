package transport

import "sync"

// Queue holds received packets until the node takes them, up to a bound.
// A channel would do, but it allocates its whole capacity up front: 8 KiB
// per node for memberlist's 1,024 slots, most of an idle node's memory.
// Queue grows with what it holds and signals its reader through Ready.
// Its methods are safe for concurrent use.
type Queue struct {
	mu    sync.Mutex
	items []*Packet
	max   int
	ready chan struct{} // holds a token while items is not empty
}

// DefaultQueueLimit is the bound of a Queue made without NewQueue:
// memberlist's HandoffQueueDepth.
const DefaultQueueLimit = 1024

// NewQueue returns a queue that holds at most limit packets (at least 1).
// A zero Queue is ready to use, with DefaultQueueLimit.
func NewQueue(limit int) *Queue {
	return &Queue{max: max(limit, 1), ready: make(chan struct{}, 1)}
}

// init makes a zero Queue usable; q.mu is held.
func (q *Queue) init() {
	if q.ready == nil {
		q.ready = make(chan struct{}, 1)
		if q.max <= 0 {
			q.max = DefaultQueueLimit
		}
	}
}

// Push adds p, or reports false if the queue is full: p is then dropped,
// never waited for.
func (q *Queue) Push(p *Packet) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	if len(q.items) >= q.max {
		return false
	}
	q.items = append(q.items, p)
	if len(q.items) == 1 {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// Ready receives when packets may be waiting: take them with Take.
func (q *Queue) Ready() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	return q.ready
}

// Take appends every queued packet to dst, oldest first, and empties the
// queue.
func (q *Queue) Take(dst []*Packet) []*Packet {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	dst = append(dst, q.items...)
	clear(q.items)
	if cap(q.items) > 64 {
		q.items = nil // a burst passed: do not keep its room
	} else {
		q.items = q.items[:0]
	}
	select { // the token, if Push left one, is spent by this Take
	case <-q.ready:
	default:
	}
	return dst
}

// Len is how many packets wait.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
