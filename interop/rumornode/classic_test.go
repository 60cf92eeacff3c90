package rumornode

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor/interop/mlwire"
	"github.com/rumorproject/rumor/interop/oracle"
)

// lines collects a process's output lines as they come.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l.mu.Lock()
		l.all = append(l.all, sc.Text())
		l.mu.Unlock()
	}
}

// match returns the first line matching re, or an error listing them all.
func (l *lines) match(re string) func() ([]string, error) {
	rx := regexp.MustCompile(re)
	return func() ([]string, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, s := range l.all {
			if m := rx.FindStringSubmatch(s); m != nil {
				return m, nil
			}
		}
		return nil, fmt.Errorf("no line matches %q in %q", re, l.all)
	}
}

func (l *lines) wait(t *testing.T, re string) []string {
	t.Helper()
	var m []string
	within(t, 20*time.Second, "classic prints "+re, func() (err error) {
		m, err = l.match(re)()
		return err
	})
	return m
}

// TestClassicWithMemberlist runs the classic example program, built as
// users run it, in a cluster of real memberlist nodes: it joins one, lists
// the members, sends its --message to every member, prints what
// memberlist nodes do (join, message, graceful leave, crash), and on
// SIGINT leaves gracefully, as memberlist sees it, and exits 0.
func TestClassicWithMemberlist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example program")
	}
	bin := filepath.Join(t.TempDir(), "classic")
	build := exec.Command("go", "build", "-o", bin, "github.com/rumorproject/rumor/examples/classic")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	inbox1 := &inbox{}
	ml1 := startML(t, "ml-1", func(c *memberlist.Config) { c.Delegate = inbox1 })

	cmd := exec.Command(bin, "--bind-addr", "127.0.0.1", "--bind-port", "0", "--name", "r1",
		"--clusterAddress", mlAddr(ml1), "--message", "hello from rumor")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	out := &lines{}
	go func() { out.read(stdout); exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	out.wait(t, `^total 1$`)
	out.wait(t, `^Member: ml-1 127\.0\.0\.1:\d+$`)
	out.wait(t, `^Member: r1 127\.0\.0\.1:\d+$`)
	eventually(t, "memberlist gets --message", inbox1.has(got, "hello from rumor"))

	var r1 *memberlist.Node
	within(t, 10*time.Second, "memberlist lists r1", func() error {
		for _, n := range ml1.Members() {
			if n.Name == "r1" {
				r1 = n
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
	if err := ml1.SendReliable(r1, []byte("hi from memberlist")); err != nil {
		t.Fatal(err)
	}
	out.wait(t, `^message: hi from memberlist$`)

	ml2 := startML(t, "ml-2", nil)
	if _, err := ml2.Join([]string{mlAddr(ml1)}); err != nil {
		t.Fatal(err)
	}
	out.wait(t, `^join ml-2 127\.0\.0\.1:\d+$`)
	if err := ml2.Leave(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	_ = ml2.Shutdown()
	out.wait(t, `^leave ml-2$`)

	ml3 := startML(t, "ml-3", nil)
	if _, err := ml3.Join([]string{mlAddr(ml1)}); err != nil {
		t.Fatal(err)
	}
	out.wait(t, `^join ml-3 `)
	_ = ml3.Shutdown() // a crash
	out.wait(t, `^failed ml-3$`)

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("classic after SIGINT: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("classic did not exit within 15 s of SIGINT")
	}
	// memberlist's NotifyLeave does not tell left from dead (the Node it
	// passes keeps State 0); its table does.
	within(t, 10*time.Second, "memberlist holds r1 as left", func() error {
		tab, err := oracle.Table(mlAddr(ml1))
		if err != nil {
			return err
		}
		if e, ok := tab["r1"]; !ok || e.State != mlwire.NodeStateType(memberlist.StateLeft) {
			return fmt.Errorf("ml-1 holds r1 as %+v (known %v), want left", e, ok)
		}
		return nil
	})
	if _, err := out.match(`^(failed|leave) ml-1`)(); err == nil {
		t.Errorf("classic reported ml-1 gone while it was up: %q", out.all)
	}
}
