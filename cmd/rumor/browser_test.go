package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/dashboard/browsertest"
)

// TestDashboardSeesCrash: the dashboard of a real agent shows the three
// members alive, then the one killed with SIGKILL turn dead.
func TestDashboardSeesCrash(t *testing.T) {
	ctx := browsertest.New(t)
	n1 := startAgentProc(t, "n1")
	startAgentProc(t, "n2", "--join", n1.gossip)
	n3 := startAgentProc(t, "n3", "--join", n1.gossip, "--tag", "role=doomed")
	if err := browsertest.Open(ctx, "http://"+n1.api.Addr()+"/"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitRows(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"n1", "n2", "n3"} {
		if err := browsertest.WaitState(ctx, name, "alive"); err != nil {
			t.Fatal(err)
		}
	}
	if err := n3.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitState(ctx, "n3", "dead"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitEvent(ctx, "dead", "n3"); err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, ctx, "dashboard-crash.png")
}

// TestDemo: `rumor demo` starts its agents, prints the dashboard, whose
// views of every node agree, and stops cleanly on SIGINT.
func TestDemo(t *testing.T) {
	bin := rumorBinary(t)
	ctx := browsertest.New(t)
	cmd := exec.Command(bin, "demo", "--nodes", "4", "--http-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errw bytes.Buffer
	cmd.Stderr = &errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	printed := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	var url string
	waitUntil(t, "the demo prints its dashboard", func() error {
		if m := regexp.MustCompile(`dashboard\s+(http://\S+)`).FindStringSubmatch(printed()); m != nil {
			url = m[1]
			return nil
		}
		return fmt.Errorf("no dashboard line in %q", printed())
	})
	if err := browsertest.Open(ctx, url); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitRows(ctx, 4); err != nil {
		t.Fatal(err)
	}
	banner, err := browsertest.WaitAgreement(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("views banner: %s", banner)
	browsertest.SaveScreenshot(t, ctx, "demo.png")

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo exited with %v after SIGINT; stderr: %s", err, errw.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo did not exit within 20 s of SIGINT")
	}
	if !regexp.MustCompile(`every agent leaves`).MatchString(printed()) {
		t.Errorf("demo output: %s", printed())
	}
}
