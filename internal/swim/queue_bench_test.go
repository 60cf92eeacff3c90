package swim

import (
	"fmt"
	"testing"
)

// BenchmarkQueueFlood queues the alive messages a push-pull of n new
// members causes, then takes one packet's worth: it must grow with n log n,
// not n² (the queue once shifted a sorted slice per push).
func BenchmarkQueueFlood(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			msgs := make([][]byte, n)
			for i := range msgs {
				msgs[i] = fmt.Appendf(nil, "alive-%08d", i) // all the same length
			}
			for b.Loop() {
				var q queue
				for i, m := range msgs {
					q.push(string(m[6:]), m, doneNone)
					if i%100 == 0 {
						q.take(nil, 2, 1400, 12, func(*broadcast) {})
					}
				}
			}
		})
	}
}
