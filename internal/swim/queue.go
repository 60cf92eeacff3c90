package swim

import (
	"math"
	"sort"
)

// retransmitLimit is how many times a broadcast is sent in a cluster of n:
// RetransmitMult × ⌈log10(n+1)⌉, as memberlist.
func retransmitLimit(mult, n int) int {
	return mult * int(math.Ceil(math.Log10(float64(n+1))))
}

// doneKind says whom to tell when a broadcast retires.
type doneKind uint8

const (
	doneNone doneKind = iota
	doneLeave
	doneUpdate
)

// broadcast is one queued message about a member.
type broadcast struct {
	key        string // a newer broadcast with the same key replaces this one; "" is unique
	msg        []byte
	id         uint64 // queue order: newer is larger
	transmits  int
	done       doneKind
	prev, next *broadcast // neighbours in its bucket: prev is newer
}

// bucket holds the broadcasts of one tier and one length, newest first.
type bucket struct{ head, tail *broadcast }

// tier holds the broadcasts sent the same number of times.
type tier struct {
	lens    []int // the lengths present, longest first
	buckets map[int]*bucket
}

// queue is the broadcast queue, with memberlist's TransmitLimitedQueue
// order: fewest transmissions first; then the largest message that fits;
// then the newest. Every operation is O(log L) in the number of distinct
// message lengths (plus O(L) to add or drop a length), never O(queue): a
// push-pull listing a million new members must not stall the node.
type queue struct {
	tiers  []tier
	byKey  map[string]*broadcast
	count  int
	nextID uint64
}

func (q *queue) len() int { return q.count }

// push queues msg under key and returns the broadcast it replaced, if any.
// An empty key makes a unique broadcast, which nothing replaces
// (memberlist's UniqueBroadcast).
func (q *queue) push(key string, msg []byte, done doneKind) *broadcast {
	var old *broadcast
	if key != "" && q.byKey != nil {
		if old = q.byKey[key]; old != nil {
			q.remove(old)
		}
	}
	q.nextID++
	q.insert(&broadcast{key: key, msg: msg, id: q.nextID, done: done})
	return old
}

func (q *queue) insert(b *broadcast) {
	if b.key != "" {
		if q.byKey == nil {
			q.byKey = make(map[string]*broadcast)
		}
		q.byKey[b.key] = b
	}
	q.count++
	for b.transmits >= len(q.tiers) {
		q.tiers = append(q.tiers, tier{buckets: make(map[int]*bucket)})
	}
	t := &q.tiers[b.transmits]
	n := len(b.msg)
	bk := t.buckets[n]
	if bk == nil {
		bk = &bucket{}
		t.buckets[n] = bk
		i := sort.Search(len(t.lens), func(i int) bool { return t.lens[i] < n })
		t.lens = append(t.lens, 0)
		copy(t.lens[i+1:], t.lens[i:])
		t.lens[i] = n
	}
	bk.insert(b)
}

// insert keeps the bucket newest first. A new broadcast goes to the front;
// one coming back from take is older than those taken before it in the
// same pass, so it goes near the back.
func (bk *bucket) insert(b *broadcast) {
	if bk.head == nil || b.id > bk.head.id {
		b.prev, b.next = nil, bk.head
		if bk.head != nil {
			bk.head.prev = b
		} else {
			bk.tail = b
		}
		bk.head = b
		return
	}
	at := bk.tail // the last broadcast newer than b
	for at.id < b.id {
		at = at.prev
	}
	b.prev, b.next = at, at.next
	if at.next != nil {
		at.next.prev = b
	} else {
		bk.tail = b
	}
	at.next = b
}

func (q *queue) remove(b *broadcast) {
	t := &q.tiers[b.transmits]
	n := len(b.msg)
	bk := t.buckets[n]
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		bk.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		bk.tail = b.prev
	}
	b.prev, b.next = nil, nil
	if bk.head == nil {
		delete(t.buckets, n)
		i := sort.Search(len(t.lens), func(i int) bool { return t.lens[i] <= n })
		t.lens = append(t.lens[:i], t.lens[i+1:]...)
	}
	q.count--
	if b.key != "" {
		delete(q.byKey, b.key)
	}
}

// take appends to dst the broadcasts to piggyback in limit bytes, each
// costing overhead plus its length, counts a transmission for each, and
// retires (removes and passes to retired) those sent transmitLimit times.
func (q *queue) take(dst [][]byte, overhead, limit, transmitLimit int, retired func(*broadcast)) [][]byte {
	return q.takeN(dst, overhead, limit, math.MaxInt, transmitLimit, retired)
}

// takeN is take with at most parts broadcasts.
func (q *queue) takeN(dst [][]byte, overhead, limit, parts, transmitLimit int, retired func(*broadcast)) [][]byte {
	used, taken := 0, 0
	var again []*broadcast
	for tr := 0; tr < len(q.tiers) && taken < parts; {
		free := limit - used - overhead
		if free <= 0 {
			break
		}
		t := &q.tiers[tr]
		i := sort.Search(len(t.lens), func(i int) bool { return t.lens[i] <= free })
		if i == len(t.lens) {
			tr++
			continue
		}
		b := t.buckets[t.lens[i]].head
		used += overhead + len(b.msg)
		taken++
		dst = append(dst, b.msg)
		q.remove(b)
		if b.transmits+1 >= transmitLimit {
			retired(b)
			continue
		}
		b.transmits++
		again = append(again, b)
	}
	// Oldest first: each then lands at the front of its bucket in O(1).
	for i := len(again) - 1; i >= 0; i-- {
		q.insert(again[i])
	}
	if q.count == 0 {
		// Empty again: let the tiers' maps go, sized for the last burst (a
		// join's full view), rather than hold them while idle.
		*q = queue{nextID: q.nextID}
	}
	return dst
}
