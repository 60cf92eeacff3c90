package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/client"
	"github.com/rumorproject/rumor/internal/tags"
)

// buildRumor builds cmd/rumor from the root module into the test's
// temporary directory.
func buildRumor(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rumor")
	build := exec.Command("go", "build", "-o", bin, "./cmd/rumor")
	build.Dir = ".." + string(filepath.Separator) + ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/rumor: %v\n%s", err, out)
	}
	return bin
}

// agentProcess runs `rumor agent` and returns a client of its API.
func agentProcess(t *testing.T, bin string, args ...string) *client.Client {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"agent", "--bind-addr", "127.0.0.1", "--bind-port", "0",
		"--http-addr", "127.0.0.1:0", "--profile", "local"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	start := regexp.MustCompile(`msg="agent started" name=\S+ gossip=\S+ http=http://(\S+)`)
	var c *client.Client
	within(t, "the agent starts", func() error {
		mu.Lock()
		defer mu.Unlock()
		if m := start.FindStringSubmatch(log.String()); m != nil {
			c = client.New(m[1], "")
			return nil
		}
		return fmt.Errorf("log so far: %q", log.String())
	})
	return c
}

// TestAgentProcessWithMemberlist: `rumor agent` processes join a cluster of
// real memberlist nodes; the API lists them, `rumor broadcast` reaches their
// delegates once each, a crashed memberlist node is reported dead, and
// `rumor inspect` reads a memberlist node's table without joining.
func TestAgentProcessWithMemberlist(t *testing.T) {
	ctx := context.Background()
	bin := buildRumor(t)
	m1, box1 := startML(t, "m1")
	m2, box2 := startML(t, "m2")
	if _, err := m2.Join([]string{m1.LocalNode().Address()}); err != nil {
		t.Fatal(err)
	}
	a1 := agentProcess(t, bin, "--name", "a1", "--join", m1.LocalNode().Address(), "--tag", "role=agent")
	a2 := agentProcess(t, bin, "--name", "a2", "--clusterAddress", m2.LocalNode().Address())

	states := func(c *client.Client) (map[string]string, error) {
		ms, err := c.Members(ctx)
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, m := range ms {
			out[m.Name] = m.State
		}
		return out, nil
	}
	all := map[string]string{"a1": "alive", "a2": "alive", "m1": "alive", "m2": "alive"}
	within(t, "agents and memberlist nodes converge", func() error {
		for _, c := range []*client.Client{a1, a2} {
			if got, err := states(c); err != nil || fmt.Sprint(got) != fmt.Sprint(all) {
				return fmt.Errorf("an agent sees %v, %v", got, err)
			}
		}
		if m1.NumMembers() != 4 || m2.NumMembers() != 4 {
			return fmt.Errorf("memberlist sees %d and %d", m1.NumMembers(), m2.NumMembers())
		}
		return nil
	})
	for _, n := range m1.Members() {
		if n.Name == "a1" {
			if got, err := tags.Decode(n.Meta); err != nil || got["role"] != "agent" {
				t.Errorf("memberlist sees a1's tags as %v, %v", got, err)
			}
		}
	}

	out, err := exec.Command(bin, "broadcast", "--http-addr", a1.Addr(), "hello from an agent").CombinedOutput()
	if err != nil {
		t.Fatalf("rumor broadcast: %v\n%s", err, out)
	}
	within(t, "the broadcast in both memberlist delegates and a2's stream", func() error {
		for i, box := range []*inbox{box1, box2} {
			if got := box.messages(); !slices.Equal(got, []string{"hello from an agent"}) {
				return fmt.Errorf("m%d has %q", i+1, got)
			}
		}
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second) // it follows the stream until one event comes
		defer cancel()
		evs, err := exec.CommandContext(ectx, bin, "events", "--http-addr", a2.Addr(), "--types", "broadcast", "--count", "1", "--json").Output()
		if err != nil {
			return fmt.Errorf("rumor events: %v", err)
		}
		var ev api.Event
		if err := json.Unmarshal(evs, &ev); err != nil || ev.Text != "hello from an agent" || ev.From != "a1" {
			return fmt.Errorf("a2's stream: %s (%v)", evs, err)
		}
		return nil
	})

	// rumor inspect reads m1's table and m1 never lists the inspector.
	out, err = exec.Command(bin, "inspect", "--json", m1.LocalNode().Address()).Output()
	if err != nil {
		t.Fatalf("rumor inspect: %v", err)
	}
	var table []api.Member
	if err := json.Unmarshal(out, &table); err != nil || len(table) != 4 {
		t.Fatalf("rumor inspect --json: %v, %s", err, out)
	}

	// A memberlist node crashes: the agents report it dead.
	if err := m2.Shutdown(); err != nil {
		t.Fatal(err)
	}
	within(t, "m2's crash reported by the agents", func() error {
		for _, c := range []*client.Client{a1, a2} {
			if got, err := states(c); err != nil || got["m2"] != "dead" {
				return fmt.Errorf("an agent sees %v, %v", got, err)
			}
		}
		return nil
	})
	for _, n := range m1.Members() {
		if !slices.Contains([]string{"a1", "a2", "m1", "m2"}, n.Name) {
			t.Errorf("m1 lists %s: the inspector joined", n.Name)
		}
	}
}
