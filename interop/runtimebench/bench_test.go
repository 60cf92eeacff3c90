// Package runtimebench compares an idle cluster of rumor nodes with one of
// memberlist nodes, same configuration, on loopback: CPU, bytes on the
// wire and memory per node.
//
//	cd interop && go test ./runtimebench -run '^$' -bench Idle -benchtime 1x
package runtimebench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

const (
	nodes  = 50
	settle = 10 * time.Second // after the joins, before measuring
	window = 30 * time.Second // idle time measured
)

// loBytes reads the bytes sent on the loopback interface so far.
func loBytes() (uint64, error) {
	b, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) > 9 && f[0] == "lo:" {
			return strconv.ParseUint(f[9], 10, 64)
		}
	}
	return 0, fmt.Errorf("no lo in /proc/net/dev")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// measure runs an idle window and reports per-node figures.
func measure(b *testing.B, heapBefore uint64) {
	b.Helper()
	time.Sleep(settle) // a benchmark's idle period, not a wait for a condition
	lo0, err := loBytes()
	if err != nil {
		b.Skip(err)
	}
	cpu0 := cpuTime()
	time.Sleep(window) // the idle window being measured
	cpu := cpuTime() - cpu0
	lo1, _ := loBytes()
	heap := heapInUse()
	b.ReportMetric(float64(cpu)/float64(window)/nodes*100, "cpu%/node")
	b.ReportMetric(float64(lo1-lo0)/window.Seconds()/nodes, "bytes/s/node")
	b.ReportMetric(float64(heap-min(heap, heapBefore))/nodes/1024, "KiB-heap/node")
}

func BenchmarkIdle(b *testing.B) {
	b.Run("impl=memberlist", func(b *testing.B) {
		for b.Loop() {
			heap0 := heapInUse()
			var ms []*memberlist.Memberlist
			for i := range nodes {
				c := memberlist.DefaultLANConfig()
				c.Name, c.BindAddr, c.BindPort, c.LogOutput = "ml-"+strconv.Itoa(i), "127.0.0.1", 0, io.Discard
				m, err := memberlist.Create(c)
				if err != nil {
					b.Fatal(err)
				}
				ms = append(ms, m)
				if i > 0 {
					n := ms[0].LocalNode()
					if _, err := m.Join([]string{fmt.Sprintf("%s:%d", n.Addr, n.Port)}); err != nil {
						b.Fatal(err)
					}
				}
			}
			measure(b, heap0)
			if got := ms[0].NumMembers(); got != nodes {
				b.Errorf("memberlist cluster: %d members, want %d", got, nodes)
			}
			for _, m := range ms {
				_ = m.Shutdown()
			}
		}
	})
	b.Run("impl=rumor", func(b *testing.B) {
		for b.Loop() {
			heap0 := heapInUse()
			var rs []*rumor.Node
			for i := range nodes {
				c := rumor.DefaultLANConfig()
				c.Name, c.BindAddr, c.BindPort = "rumor-"+strconv.Itoa(i), "127.0.0.1", 0
				r, err := rumor.Create(c)
				if err != nil {
					b.Fatal(err)
				}
				rs = append(rs, r)
				if i > 0 {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_, err := r.Join(ctx, []string{rs[0].Addr().String()})
					cancel()
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			measure(b, heap0)
			if got := rs[0].NumMembers(); got != nodes {
				b.Errorf("rumor cluster: %d members, want %d", got, nodes)
			}
			for _, r := range rs {
				_ = r.Shutdown()
			}
		}
	})
}
