package swim

import "container/heap"

// timerKind says what a deadline is for.
type timerKind uint8

const (
	timerProbe         timerKind = iota + 1 // start the next probe
	timerProbeDirect                        // direct ack not in: ask helpers (ref = seq)
	timerProbeEnd                           // probe window over (ref = seq)
	timerRelay                              // helper: target did not answer in time (ref = seq)
	timerGossip                             // gossip round
	timerPushPullStart                      // the push-pull stagger is over: start the period
	timerPushPull                           // periodic push-pull
	timerSuspicion                          // suspicion may expire (ref = name ID, gen)
	timerReconnect                          // maybe push-pull with a dead member
	timerJoinSync                           // push-pull again with the seed that let us join
)

// timer is one deadline. Timers are never removed from the heap: a handler
// checks that what it was set for still holds (the probe or suspicion with
// that sequence or generation), which keeps cancellation O(1).
type timer struct {
	at   int64
	seq  uint64 // insertion order: equal deadlines fire in the order set
	ref  uint32
	gen  uint32
	kind timerKind
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// timers is the node's deadline queue.
type timers struct {
	h     timerHeap
	seq   uint64
	bound int // compact when the heap grows past this
}

// compact drops the timers live rejects once the heap has doubled since
// the last compaction: a flood of alive and suspect messages leaves a
// stale suspicion deadline per message, which would otherwise stay until
// it expires.
func (t *timers) compact(live func(timer) bool) {
	if len(t.h) <= max(t.bound, 1024) {
		return
	}
	kept := t.h[:0]
	for _, tm := range t.h {
		if live(tm) {
			kept = append(kept, tm)
		}
	}
	clear(t.h[len(kept):])
	t.h = kept
	heap.Init(&t.h)
	t.bound = 2 * len(t.h)
}

func (t *timers) set(at int64, kind timerKind, ref, gen uint32) {
	t.seq++
	heap.Push(&t.h, timer{at: at, seq: t.seq, ref: ref, gen: gen, kind: kind})
}

// next returns the earliest deadline of a timer live accepts, dropping
// the stale ones before it: a probe answered in time must not wake the
// driver at its timeout.
func (t *timers) next(live func(timer) bool) (int64, bool) {
	for len(t.h) > 0 && !live(t.h[0]) {
		heap.Pop(&t.h)
	}
	if len(t.h) == 0 {
		return 0, false
	}
	return t.h[0].at, true
}

// pop removes and returns the earliest timer due at or before now.
func (t *timers) pop(now int64) (timer, bool) {
	if len(t.h) == 0 || t.h[0].at > now {
		return timer{}, false
	}
	return heap.Pop(&t.h).(timer), true
}
