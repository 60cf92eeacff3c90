package inspect_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/inspect"
	"github.com/rumorproject/rumor/internal/tags"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	otherKey  = []byte("fedcba9876543210")
	testLabel = "prod"
)

// start creates a rumor node on loopback with the local profile after edit.
func start(t *testing.T, name string, edit func(*rumor.Config)) *rumor.Node {
	t.Helper()
	c := rumor.DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort = name, "127.0.0.1", 0
	if edit != nil {
		edit(c)
	}
	n, err := rumor.Create(c)
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	t.Cleanup(func() { n.Shutdown() })
	return n
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	const limit = 15 * time.Second
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: not within %v: %v", what, limit, err)
		}
	}
}

// holdFor checks cond every 10 ms for d, failing at its first error.
func holdFor(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	end := time.NewTimer(d)
	defer end.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := cond(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		select {
		case <-tick.C:
		case <-end.C:
			return
		}
	}
}

// onlyNames reports whether every node lists exactly the given names.
func onlyNames(nodes []*rumor.Node, names ...string) func() error {
	return func() error {
		for _, n := range nodes {
			var got []string
			for _, m := range n.Members() {
				got = append(got, m.Name)
			}
			if len(got) != len(names) {
				return fmt.Errorf("%s lists %v, want %v", n.LocalNode().Name, got, names)
			}
			for _, name := range got {
				known := false
				for _, w := range names {
					known = known || name == w
				}
				if !known {
					return fmt.Errorf("%s lists %q, want only %v", n.LocalNode().Name, name, names)
				}
			}
		}
		return nil
	}
}

func mustTags(t *testing.T, m map[string]string) []byte {
	t.Helper()
	b, err := tags.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stateDelegate serves user state and counts merges it is asked for.
type stateDelegate struct {
	state  []byte
	merges atomic.Int32
}

func (d *stateDelegate) NotifyMsg([]byte)                    {}
func (d *stateDelegate) GetBroadcasts(_, _ int) [][]byte     { return nil }
func (d *stateDelegate) LocalState(bool) []byte              { return d.state }
func (d *stateDelegate) MergeRemoteState(buf []byte, _ bool) { d.merges.Add(1) }

// TestInspectCluster inspects a 3-node cluster, encrypted and labelled,
// through each of its nodes, and checks the table and that the cluster
// never hears of the inspector.
func TestInspectCluster(t *testing.T) {
	secure := func(c *rumor.Config) { c.SecretKey, c.Label = testKey, testLabel }
	events := make(chan rumor.Event, 1024)
	del := &stateDelegate{state: []byte("app-state")}
	a := start(t, "a", func(c *rumor.Config) {
		secure(c)
		c.Meta = mustTags(t, map[string]string{"role": "seed", "dc": "east"})
		c.Events = events
		c.Delegate = del
	})
	b := start(t, "b", func(c *rumor.Config) { secure(c); c.Meta = mustTags(t, map[string]string{"role": "web"}) })
	c := start(t, "c", func(c *rumor.Config) { secure(c); c.Meta = []byte("plain meta") })
	nodes := []*rumor.Node{a, b, c}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range nodes[1:] {
		if k, err := n.Join(ctx, []string{a.Addr().String()}); err != nil || k != 1 {
			t.Fatalf("%s joins a: %d, %v", n.LocalNode().Name, k, err)
		}
	}
	waitFor(t, "3 nodes converge", onlyNames(nodes, "a", "b", "c"))
	mergesBefore := del.merges.Load()

	opts := inspect.Options{Keys: [][]byte{testKey, otherKey}, Label: testLabel, Timeout: 5 * time.Second}
	for round := range 3 {
		for _, n := range nodes {
			before := n.Members()
			res, err := inspect.Inspect(ctx, n.Addr().String(), opts)
			if err != nil {
				t.Fatalf("round %d: inspect %s: %v", round, n.LocalNode().Name, err)
			}
			checkTable(t, n, res, nodes, before)
			wantState := 0
			if n == a {
				wantState = len(del.state)
			}
			if res.UserStateLen != wantState || !res.Encrypted {
				t.Errorf("inspect %s: user state %d bytes, encrypted %v; want %d, true",
					n.LocalNode().Name, res.UserStateLen, res.Encrypted, wantState)
			}
		}
	}

	// A few probe intervals of gossip and probing later (local profile: 1 s
	// each), still nobody lists anyone else.
	holdFor(t, 4*time.Second, "after inspection", onlyNames(nodes, "a", "b", "c"))
	if got := del.merges.Load(); got != mergesBefore {
		t.Errorf("inspections made a merge user state %d times", got-mergesBefore)
	}
	for len(events) > 0 {
		if e := <-events; e.Member.Name != "a" && e.Member.Name != "b" && e.Member.Name != "c" {
			t.Errorf("a reported %v of %q", e.Kind, e.Member.Name)
		}
	}
}

// checkTable compares an inspection of n with n's own member table, as it
// was before the inspection and is after it (a refutation between the two
// may raise an incarnation).
func checkTable(t *testing.T, n *rumor.Node, res *inspect.Result, nodes []*rumor.Node, before []rumor.Member) {
	t.Helper()
	if len(res.Members) != len(nodes) {
		t.Fatalf("inspect %s: %d members, want %d: %+v", n.LocalNode().Name, len(res.Members), len(nodes), res.Members)
	}
	own, earlier := map[string]rumor.Member{}, map[string]uint32{}
	for _, m := range n.Members() {
		own[m.Name] = m
	}
	for _, m := range before {
		earlier[m.Name] = m.Incarnation
	}
	wantTags := map[string]map[string]string{
		"a": {"role": "seed", "dc": "east"}, "b": {"role": "web"}, "c": {},
	}
	for i, got := range res.Members {
		name := nodes[i].LocalNode().Name // nodes are in name order
		self := nodes[i].LocalNode()
		if got.Name != name {
			t.Errorf("member %d is %q, want %q (sorted by name)", i, got.Name, name)
			continue
		}
		m := own[name]
		want := api.Member{Name: name, Addr: "127.0.0.1", Port: self.Addr.Port(), State: api.StateAlive,
			Incarnation: m.Incarnation, Tags: wantTags[name], Meta: self.Meta,
			Protocol: api.Protocol{Min: m.PMin, Max: m.PMax, Cur: m.PCur, DelegateMin: m.DMin, DelegateMax: m.DMax, DelegateCur: m.DCur}}
		if got.Incarnation >= earlier[name] && got.Incarnation <= m.Incarnation {
			want.Incarnation = got.Incarnation
		}
		if got.Addr != want.Addr || got.Port != want.Port || got.State != want.State ||
			got.Incarnation != want.Incarnation || got.Protocol != want.Protocol ||
			got.Tags == nil || !maps.Equal(got.Tags, want.Tags) || !bytes.Equal(got.Meta, want.Meta) {
			t.Errorf("inspect %s: member %s = %+v\nwant %+v", n.LocalNode().Name, name, got, want)
		}
		if got.Protocol.Cur == 0 || got.Protocol.Max < got.Protocol.Cur {
			t.Errorf("member %s: protocol %+v", name, got.Protocol)
		}
	}
}

// TestInspectRefusals: a wrong key, a missing key, a wrong label, or
// encryption the cluster does not use each give an error that says so,
// and the cluster learns of no one.
func TestInspectRefusals(t *testing.T) {
	secured := start(t, "secured", func(c *rumor.Config) { c.SecretKey, c.Label = testKey, testLabel })
	plain := start(t, "plain", nil)
	tests := []struct {
		name string
		node *rumor.Node
		opts inspect.Options
		want error
	}{
		{"wrong key", secured, inspect.Options{Keys: [][]byte{otherKey}, Label: testLabel}, inspect.ErrDecrypt},
		{"no key", secured, inspect.Options{Label: testLabel}, inspect.ErrNeedKey},
		{"wrong label", secured, inspect.Options{Keys: [][]byte{testKey}, Label: "staging"}, inspect.ErrDecrypt},
		{"no label", secured, inspect.Options{Keys: [][]byte{testKey}}, inspect.ErrDecrypt},
		{"key for a plain cluster", plain, inspect.Options{Keys: [][]byte{testKey}}, &inspect.RemoteError{}},
		{"label for an unlabelled cluster", plain, inspect.Options{Label: testLabel}, &inspect.RemoteError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Timeout = 5 * time.Second
			res, err := inspect.Inspect(context.Background(), tt.node.Addr().String(), tt.opts)
			if res != nil || err == nil {
				t.Fatalf("Inspect = %+v, %v; want an error", res, err)
			}
			var remote *inspect.RemoteError
			if _, isRemote := tt.want.(*inspect.RemoteError); isRemote {
				if !errors.As(err, &remote) || remote.Message == "" {
					t.Fatalf("Inspect: %v; want the node's own refusal", err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Fatalf("Inspect: %v; want %v", err, tt.want)
			}
			t.Logf("%s: %v", tt.name, err)
		})
	}
	for _, n := range []*rumor.Node{secured, plain} {
		if k := n.NumMembers(); k != 1 {
			t.Errorf("%s lists %d members, want itself alone", n.LocalNode().Name, k)
		}
	}
	// Both still answer a right inspection.
	for _, c := range []struct {
		n    *rumor.Node
		opts inspect.Options
	}{{secured, inspect.Options{Keys: [][]byte{testKey}, Label: testLabel}}, {plain, inspect.Options{}}} {
		res, err := inspect.Inspect(context.Background(), c.n.Addr().String(), c.opts)
		if err != nil || len(res.Members) != 1 || res.Members[0].Name != c.n.LocalNode().Name {
			t.Errorf("inspect %s: %+v, %v", c.n.LocalNode().Name, res, err)
		}
	}
}

// TestConcurrentInspections: inspections at once all get the table.
func TestConcurrentInspections(t *testing.T) {
	n := start(t, "solo", nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range cap(errs) {
		wg.Go(func() {
			res, err := inspect.Inspect(context.Background(), n.Addr().String(), inspect.Options{Timeout: 5 * time.Second})
			if err == nil && (len(res.Members) != 1 || res.Members[0].Name != "solo") {
				err = fmt.Errorf("members %+v", res.Members)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if k := n.NumMembers(); k != 1 {
		t.Errorf("solo lists %d members", k)
	}
}
