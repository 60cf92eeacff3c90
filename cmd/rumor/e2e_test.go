package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/client"
)

// The end-to-end tests run the real binary, built once per test run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func rumorBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs agent processes; skipped with -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rumor-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "rumor")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// agentProc is a `rumor agent` process and what it logged.
type agentProc struct {
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    bytes.Buffer
	done   chan struct{}
	gossip string // its gossip address, from the start line
	api    *client.Client
}

var startLine = regexp.MustCompile(`msg="agent started" name=\S+ gossip=(\S+) http=http://(\S+)`)

// startAgentProc runs `rumor agent` with loopback defaults plus args and
// waits for its start line.
func startAgentProc(t *testing.T, name string, args ...string) *agentProc {
	t.Helper()
	return startAgentCmd(t, name, append([]string{"agent", "--name", name, "--bind-addr", "127.0.0.1", "--bind-port", "0",
		"--http-addr", "127.0.0.1:0", "--profile", "local"}, args...))
}

// startAgentCmd runs rumor with exactly args and waits for the start line.
func startAgentCmd(t *testing.T, name string, args []string) *agentProc {
	t.Helper()
	p := &agentProc{name: name, cmd: exec.Command(rumorBinary(t), args...), done: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	waitUntil(t, name+" starts", func() error {
		if m := startLine.FindStringSubmatch(p.logged()); m != nil {
			p.gossip, p.api = m[1], client.New(m[2], "")
			return nil
		}
		return fmt.Errorf("no start line in %q", p.logged())
	})
	return p
}

func (p *agentProc) logged() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitUntil polls cond every 20 ms for up to 30 s.
func waitUntil(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s: %v", what, err)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// states is how p sees each member.
func (p *agentProc) states(ctx context.Context) (map[string]string, error) {
	ms, err := p.api.Members(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.Name] = m.State
	}
	return out, nil
}

// seesAs waits until every proc sees each named member in the given state.
func seesAs(t *testing.T, what string, procs []*agentProc, want map[string]string) {
	t.Helper()
	ctx := context.Background()
	waitUntil(t, what, func() error {
		for _, p := range procs {
			got, err := p.states(ctx)
			if err != nil {
				return err
			}
			for name, state := range want {
				if got[name] != state {
					return fmt.Errorf("%s sees %s", p.name, got)
				}
			}
		}
		return nil
	})
}

// TestAgentsEndToEnd: three agent processes join, list each other, carry
// a broadcast to every event stream; one is killed with SIGKILL and seen
// dead, restarted and seen alive; one leaves on SIGTERM and exits 0.
func TestAgentsEndToEnd(t *testing.T) {
	ctx := context.Background()
	n1 := startAgentProc(t, "n1", "--tag", "role=seed")
	n2 := startAgentProc(t, "n2", "--join", n1.gossip, "--tag", "role=web,zone=a")
	n3 := startAgentProc(t, "n3", "--clusterAddress", n1.gossip)
	procs := []*agentProc{n1, n2, n3}
	alive := map[string]string{"n1": "alive", "n2": "alive", "n3": "alive"}
	seesAs(t, "three agents converge", procs, alive)
	if !regexp.MustCompile(`msg="joined the cluster" contacted=1`).MatchString(n2.logged()) {
		t.Errorf("n2 did not log the join; log:\n%s", n2.logged())
	}
	if m, err := n3.api.Member(ctx, "n2"); err != nil || m.Tags["role"] != "web" || m.Tags["zone"] != "a" {
		t.Errorf("n3 sees n2 as %+v, %v; want its tags", m, err)
	}

	// Every agent's event stream receives the broadcast, once.
	var mu sync.Mutex
	got := map[string][]string{}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() {
			_ = p.api.Events(sctx, 0, func(ev api.Event) error {
				if ev.Type == api.EventBroadcast {
					mu.Lock()
					got[p.name] = append(got[p.name], ev.Text)
					mu.Unlock()
				}
				return nil
			})
		})
	}
	var out, errw bytes.Buffer
	if code := run([]string{"broadcast", "--http-addr", n2.api.Addr(), "hello, cluster"}, nil, &out, &errw); code != 0 {
		t.Fatalf("rumor broadcast: exit %d: %s", code, errw.String())
	}
	waitUntil(t, "broadcast in every stream", func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range procs {
			if !slices.Equal(got[p.name], []string{"hello, cluster"}) {
				return fmt.Errorf("streams got %q", got)
			}
		}
		return nil
	})
	stop()
	wg.Wait()

	// Prometheus metrics, the node's and the relay's.
	resp, err := http.Get("http://" + n1.api.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`rumor_members{state="alive"} 3`, "rumor_probes_total", "rumor_probe_rtt_seconds_bucket",
		"rumor_relay_sends_failed_total 0", `rumor_messages_sent_total{type="`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// rumor members --json through the CLI.
	out.Reset()
	if code := run([]string{"members", "--json", "--http-addr", n3.api.Addr()}, nil, &out, &errw); code != 0 {
		t.Fatalf("rumor members: exit %d: %s", code, errw.String())
	}
	var ms []api.Member
	if err := json.Unmarshal(out.Bytes(), &ms); err != nil || len(ms) != 3 {
		t.Fatalf("rumor members --json: %v, %s", err, out.String())
	}

	// kill -9 n3: the others hold it dead.
	port := n3.gossip[len("127.0.0.1:"):]
	if err := n3.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-n3.done
	seesAs(t, "n3's crash detected", procs[:2], map[string]string{"n3": "dead"})

	// Restarted on the same port, it is alive again everywhere.
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatalf("n3's gossip address %q", n3.gossip)
	}
	n3 = startAgentProc(t, "n3", "--bind-port", port, "--join", n1.gossip)
	procs[2] = n3
	seesAs(t, "n3 back", procs, alive)

	// SIGTERM: n2 leaves gracefully and exits 0.
	if err := n2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n2.done:
	case <-time.After(20 * time.Second):
		t.Fatal("n2 did not exit within 20 s of SIGTERM")
	}
	if code := n2.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("n2 exit code %d after SIGTERM, want 0; log:\n%s", code, n2.logged())
	}
	seesAs(t, "n2's leave seen", []*agentProc{n1, n3}, map[string]string{"n2": "left"})
}

// TestAgentBadFlags: bad values give a clear message and exit code 2.
func TestAgentBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"agent", "--profile", "moon"},
		{"agent", "--bind-port", "x"},
		{"agent", "--encrypt-key", "not base64!", "--http-addr", ""},
		{"agent", "--encrypt-key", "c2hvcnQ=", "--bind-port", "0", "--http-addr", ""},
		{"agent", "--tag", "_rumor=1", "--bind-port", "0", "--http-addr", ""},
		{"agent", "--log-level", "loud"},
		{"agent", "--advertise-addr", "nowhere", "--bind-port", "0", "--http-addr", ""},
	} {
		var out, errw bytes.Buffer
		code := run(args, nil, &out, &errw)
		if code != exitUsage || errw.Len() == 0 || bytes.Contains(errw.Bytes(), []byte("goroutine")) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errw.String())
		}
	}
}

// TestAgentHTTPAddrTaken: with the default HTTP address taken, a second
// agent serves on a free port and says so; with another address taken, it
// exits 1 and says which flag to change.
func TestAgentHTTPAddrTaken(t *testing.T) {
	bin := rumorBinary(t)
	ln, err := net.Listen("tcp", defaultHTTPAddr)
	if err != nil {
		t.Skipf("cannot hold %s for the test: %v", defaultHTTPAddr, err)
	}
	defer ln.Close()
	// No --http-addr: the default, which is taken.
	p := startAgentCmd(t, "n1", []string{"agent", "--name", "n1", "--bind-addr", "127.0.0.1", "--bind-port", "0", "--profile", "local"})
	if p.api.Addr() == defaultHTTPAddr || !strings.Contains(p.logged(), "using a free port") {
		t.Errorf("agent serves at %s; log:\n%s", p.api.Addr(), p.logged())
	}
	if _, err := p.api.Health(context.Background()); err != nil {
		t.Errorf("health on the fallback port: %v", err)
	}

	// A gossip port another agent's HTTP API holds: exit 1, with a hint.
	_, port, _ := net.SplitHostPort(p.api.Addr())
	out, _ := exec.Command(bin, "agent", "--name", "n3", "--bind-addr", "127.0.0.1", "--bind-port", port, "--http-addr", "").CombinedOutput()
	if !strings.Contains(string(out), "pick another --bind-port") {
		t.Errorf("agent on a taken gossip port: %s", out)
	}

	// Given explicitly, a taken address is an error, even the default's.
	for _, addr := range []string{p.api.Addr(), defaultHTTPAddr} {
		cmd := exec.Command(bin, "agent", "--name", "n2", "--bind-addr", "127.0.0.1", "--bind-port", "0", "--http-addr", addr)
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "--http-addr") {
			t.Errorf("agent on a taken --http-addr %s: exit %d (%v), output:\n%s", addr, code, err, out)
		}
	}
}
