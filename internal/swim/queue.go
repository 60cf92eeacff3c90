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
	key       string // a newer broadcast with the same key replaces this one; "" is unique
	msg       []byte
	id        uint64 // queue order: newer is larger
	transmits int
	done      doneKind
}

// before is the queue order within a transmit count: larger messages
// first (they are the hardest to fit), then newer ones.
func (b *broadcast) before(o *broadcast) bool {
	if len(b.msg) != len(o.msg) {
		return len(b.msg) > len(o.msg)
	}
	return b.id > o.id
}

// queue is the broadcast queue, with memberlist's TransmitLimitedQueue
// order: fewest transmissions first; then the largest message that fits;
// then the newest. tiers[t] holds the broadcasts sent t times, sorted.
type queue struct {
	tiers  [][]*broadcast
	byKey  map[string]*broadcast
	count  int
	nextID uint64
}

func (q *queue) len() int { return q.count }

// push queues msg under key and returns the broadcast it replaced, if any.
// An empty key makes a unique broadcast, which nothing replaces
// (memberlist's UniqueBroadcast).
func (q *queue) push(key string, msg []byte, done doneKind) *broadcast {
	if q.byKey == nil {
		q.byKey = make(map[string]*broadcast)
	}
	var old *broadcast
	if key != "" {
		if old = q.byKey[key]; old != nil {
			q.remove(old)
		}
	}
	q.nextID++
	b := &broadcast{key: key, msg: msg, id: q.nextID, done: done}
	q.insert(b)
	return old
}

func (q *queue) insert(b *broadcast) {
	if b.key != "" {
		q.byKey[b.key] = b
	}
	q.count++
	for b.transmits >= len(q.tiers) {
		q.tiers = append(q.tiers, nil)
	}
	tier := q.tiers[b.transmits]
	i := sort.Search(len(tier), func(i int) bool { return b.before(tier[i]) })
	tier = append(tier, nil)
	copy(tier[i+1:], tier[i:])
	tier[i] = b
	q.tiers[b.transmits] = tier
}

func (q *queue) remove(b *broadcast) {
	tier := q.tiers[b.transmits]
	i := sort.Search(len(tier), func(i int) bool { return !tier[i].before(b) })
	copy(tier[i:], tier[i+1:])
	tier[len(tier)-1] = nil
	q.tiers[b.transmits] = tier[:len(tier)-1]
	q.count--
	if b.key != "" {
		delete(q.byKey, b.key)
	}
}

// take appends to dst the broadcasts to piggyback in limit bytes, each
// costing overhead plus its length, counts a transmission for each, and
// retires (removes and passes to retired) those sent transmitLimit times.
func (q *queue) take(dst [][]byte, overhead, limit, transmitLimit int, retired func(*broadcast)) [][]byte {
	used := 0
	var again []*broadcast
	for t := 0; t < len(q.tiers); {
		free := limit - used - overhead
		if free <= 0 {
			break
		}
		tier := q.tiers[t]
		i := sort.Search(len(tier), func(i int) bool { return len(tier[i].msg) <= free })
		if i == len(tier) {
			t++
			continue
		}
		b := tier[i]
		used += overhead + len(b.msg)
		dst = append(dst, b.msg)
		q.remove(b)
		if b.transmits+1 >= transmitLimit {
			retired(b)
			continue
		}
		b.transmits++
		again = append(again, b)
	}
	for _, b := range again {
		q.insert(b)
	}
	return dst
}
