// Package runtimebench compares an idle cluster of rumor nodes with one of
// memberlist nodes, same configuration, on loopback: CPU, bytes on the
// wire and memory per node.
//
//	cd interop && go test ./runtimebench -run '^$' -bench Idle -benchtime 1x
//
// Each side runs in a process of its own (the test binary, started again),
// one after the other, so that neither's garbage, goroutines or traffic
// counts against the other: RSS and CPU are the process's own.
// RUNTIMEBENCH_CPUPROFILE=DIR writes each side's CPU profile of the idle
// window to DIR/IMPL.cpu.
package runtimebench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	nodes  = 50
	settle = 30 * time.Second  // after the joins, before measuring
	window = 120 * time.Second // idle time measured: two push-pull periods at 50 nodes

	childEnv   = "RUNTIMEBENCH_CHILD"
	profileEnv = "RUNTIMEBENCH_CPUPROFILE"
	resultTag  = "RUNTIMEBENCH_RESULT "
)

// result is what a child reports, per node.
type result struct {
	CPUPercent  float64 `json:"cpu_percent"` // of one core
	BytesPerSec float64 `json:"bytes_per_sec"`
	RSSKiB      float64 `json:"rss_kib"`  // resident memory added by the nodes
	HeapKiB     float64 `json:"heap_kib"` // live heap added by the nodes, after a GC
	Members     int     `json:"members"`  // as the first node counts them
}

// cluster is one implementation's idle cluster, started and stopped.
type cluster interface {
	// start creates nodes nodes on 127.0.0.1 and joins them through the
	// first; members counts the first node's members.
	start() error
	members() int
	stop()
}

var impls = map[string]func() cluster{
	"memberlist": func() cluster { return &memberlistCluster{} },
	"rumor":      func() cluster { return &rumorCluster{} },
}

func BenchmarkIdle(b *testing.B) {
	for _, impl := range []string{"memberlist", "rumor"} {
		b.Run("impl="+impl, func(b *testing.B) {
			for b.Loop() {
				r, err := runChild(impl)
				if err != nil {
					b.Fatal(err)
				}
				if r.Members != nodes {
					b.Errorf("%s cluster: %d members, want %d", impl, r.Members, nodes)
				}
				b.ReportMetric(r.CPUPercent, "cpu%/node")
				b.ReportMetric(r.BytesPerSec, "bytes/s/node")
				b.ReportMetric(r.RSSKiB, "KiB-rss/node")
				b.ReportMetric(r.HeapKiB, "KiB-heap/node")
			}
		})
	}
}

// runChild runs TestIdleChild for impl in a new process and reads its result.
func runChild(impl string) (result, error) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestIdleChild$", "-test.count", "1")
	cmd.Env = append(os.Environ(), childEnv+"="+impl)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("%s child: %w\n%s%s", impl, err, out, stderr.Bytes())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), resultTag); ok {
			var r result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return result{}, fmt.Errorf("%s child result %q: %w", impl, line, err)
			}
			return r, nil
		}
	}
	return result{}, fmt.Errorf("%s child printed no result:\n%s%s", impl, out, stderr.Bytes())
}

// TestIdleChild is the child's side of BenchmarkIdle; it does nothing in a
// normal test run.
func TestIdleChild(t *testing.T) {
	impl := os.Getenv(childEnv)
	if impl == "" {
		t.Skip("runs only as BenchmarkIdle's child process")
	}
	newCluster, ok := impls[impl]
	if !ok {
		t.Fatalf("%s=%q: no such implementation", childEnv, impl)
	}
	rss0, heap0 := rssKiB(t), heapKiB()
	c := newCluster()
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	time.Sleep(settle) // a benchmark's idle period, not a wait for a condition
	stopProfile := profile(t, impl)
	lo0 := loBytes(t)
	cpu0 := cpuTime()
	time.Sleep(window) // the idle window being measured
	cpu := cpuTime() - cpu0
	lo1 := loBytes(t)
	stopProfile()
	r := result{
		CPUPercent:  float64(cpu) / float64(window) / nodes * 100,
		BytesPerSec: float64(lo1-lo0) / window.Seconds() / nodes,
		RSSKiB:      (rssKiB(t) - rss0) / nodes,
		HeapKiB:     (heapKiB() - heap0) / nodes,
		Members:     c.members(),
	}
	line, _ := json.Marshal(r)
	fmt.Printf("%s%s\n", resultTag, line)
}

// profile starts a CPU profile if RUNTIMEBENCH_CPUPROFILE names a directory.
func profile(t *testing.T, impl string) (stop func()) {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, impl+".cpu"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// loBytes reads the bytes sent on the loopback interface so far.
func loBytes(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) > 9 && f[0] == "lo:" {
			v, err := strconv.ParseUint(f[9], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Skip("no lo in /proc/net/dev")
	return 0
}

// rssKiB is the process's resident memory, after a GC has returned what
// it can.
func rssKiB(t *testing.T) float64 {
	runtime.GC()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Skip("no VmRSS in /proc/self/status")
	return 0
}

func heapKiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / 1024
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
