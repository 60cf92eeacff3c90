package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/client"
)

// TestDemoChaos runs the demo in-process with chaos sped up: a crashed
// node is suspected by n1 and alive again after its restart, a silenced
// one is suspected; Ctrl-C (the context's end) stops every node.
func TestDemoChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster for several seconds")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	c := &demoCmd{Nodes: 4, HTTPAddr: "127.0.0.1:0"}
	// This seed's first actions crash a node, then silence one.
	rng := rand.New(rand.NewPCG(1, 2))
	timing := chaosTiming{every: 500 * time.Millisecond, down: 8 * time.Second, silent: 4 * time.Second, actions: 2}
	done := make(chan error, 1)
	go func() {
		done <- c.run(ctx, &env{stdout: out, stderr: out}, slog.New(slog.DiscardHandler), rng, timing)
	}()
	var dash string
	waitUntil(t, "the dashboard line", func() error {
		if m := regexp.MustCompile(`dashboard\s+http://(\S+)/`).FindStringSubmatch(out.String()); m != nil {
			dash = m[1]
			return nil
		}
		return fmt.Errorf("output so far: %q", out.String())
	})
	var crashed, silenced string
	waitUntil(t, "a crash and a silence", func() error {
		if m := regexp.MustCompile(`chaos: (n\d) crashes`).FindStringSubmatch(out.String()); m != nil {
			crashed = m[1]
		}
		if m := regexp.MustCompile(`chaos: (n\d) goes silent`).FindStringSubmatch(out.String()); m != nil {
			silenced = m[1]
		}
		if crashed == "" || silenced == "" {
			return fmt.Errorf("output so far: %q", out.String())
		}
		return nil
	})
	// n1's event history tells the story.
	seen := func(name string, types ...string) func() error {
		return func() error {
			var found bool
			ectx, stop := context.WithTimeout(ctx, 2*time.Second)
			defer stop()
			_ = client.New(dash, "").Events(ectx, 0, func(ev api.Event) error {
				if slices.Contains(types, ev.Type) && ev.Member != nil && ev.Member.Name == name {
					found = true
					return context.Canceled // enough
				}
				return nil
			})
			if !found {
				return fmt.Errorf("no %v event for %s on n1 yet; demo output: %q", types, name, out.String())
			}
			return nil
		}
	}
	// A crash ends in "dead" only if the suspicion runs out before the
	// restart: with another node silenced, fewer confirm it.
	waitUntil(t, "the silenced node suspected", seen(silenced, api.EventSuspect))
	waitUntil(t, "the crashed node suspected", seen(crashed, api.EventSuspect, api.EventDead))
	waitUntil(t, "the crashed node restarted", func() error {
		if !strings.Contains(out.String(), "chaos: "+crashed+" restarted") {
			return fmt.Errorf("output so far: %q", out.String())
		}
		return nil
	})
	waitUntil(t, "the restarted node alive on n1", func() error {
		m, err := client.New(dash, "").Member(ctx, crashed)
		if err != nil || m.State != api.StateAlive {
			return fmt.Errorf("n1 sees %s as %+v, %v", crashed, m, err)
		}
		return nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not stop within 20 s of its context's end")
	}
}
