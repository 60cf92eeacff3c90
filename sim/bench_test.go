package sim

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkCrash runs the crash scenario (a converged cluster, one node
// crashes 5 s in) for 60 virtual seconds. It reports wall seconds per run,
// simulator events per wall second and heap per simulated node; measure
// peak RSS with /usr/bin/time (see docs/benchmarks/sim.md).
//
//	go test ./sim -run '^$' -bench Crash -benchtime 1x
func BenchmarkCrash(b *testing.B) {
	for _, nodes := range []int{100, 1000, 10000} {
		for _, fast := range []bool{false, true} {
			b.Run(fmt.Sprintf("nodes=%d/skip_envelope=%v", nodes, fast), func(b *testing.B) {
				if nodes >= 10000 && testing.Short() {
					b.Skip("10,000 nodes take about 20 s and 5 GiB")
				}
				var events uint64
				var heap uint64
				for b.Loop() {
					r, s, err := runScenario(Scenario{Name: "crash", Nodes: nodes, Seed: 1, SkipEnvelope: fast,
						Duration: time.Minute})
					if err != nil {
						b.Fatal(err)
					}
					if r.DetectAllS == nil {
						b.Fatalf("crash not detected by all: %+v", r)
					}
					events += s.Stats().Events
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					heap = max(heap, ms.HeapAlloc)
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "wall_s/op")
				b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(heap)/float64(nodes)/1024, "KiB/node")
			})
		}
	}
}
