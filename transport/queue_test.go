package transport

import (
	"sync"
	"testing"
	"time"
)

func TestQueueBoundAndOrder(t *testing.T) {
	q := NewQueue(3)
	for i := range 5 {
		ok := q.Push(&Packet{Data: []byte{byte(i)}})
		if want := i < 3; ok != want {
			t.Errorf("Push #%d: got %v, want %v", i, ok, want)
		}
	}
	select {
	case <-q.Ready():
	default:
		t.Fatal("Ready not signalled with packets waiting")
	}
	got := q.Take(nil)
	if len(got) != 3 || got[0].Data[0] != 0 || got[2].Data[0] != 2 {
		t.Fatalf("Take: got %d packets, want the first 3 in order", len(got))
	}
	if q.Len() != 0 || len(q.Take(nil)) != 0 {
		t.Error("queue not empty after Take")
	}
	select {
	case <-q.Ready():
		t.Error("Ready signalled on an empty queue")
	default:
	}
}

// A reader that waits on Ready and takes everything sees every packet a
// concurrent writer pushed, exactly once, in order.
func TestQueueConcurrent(t *testing.T) {
	const total = 10_000
	q := NewQueue(total)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range total {
			q.Push(&Packet{Data: []byte{byte(i >> 8), byte(i)}})
		}
	})
	next := 0
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for next < total {
		select {
		case <-q.Ready():
		case <-deadline.C:
			t.Fatalf("got %d of %d packets within 10 s", next, total)
		}
		for _, p := range q.Take(nil) {
			if got := int(p.Data[0])<<8 | int(p.Data[1]); got != next&0xffff {
				t.Fatalf("packet %d: got %d", next, got)
			}
			next++
		}
	}
	wg.Wait()
}

// A zero Queue works, with the default bound.
func TestQueueZeroValue(t *testing.T) {
	var q Queue
	if !q.Push(&Packet{Data: []byte{1}}) {
		t.Fatal("zero Queue refused a packet")
	}
	select {
	case <-q.Ready():
	default:
		t.Fatal("zero Queue did not signal Ready")
	}
	for range DefaultQueueLimit {
		q.Push(&Packet{})
	}
	if got := q.Len(); got != DefaultQueueLimit {
		t.Errorf("zero Queue holds %d, want its bound %d", got, DefaultQueueLimit)
	}
}
