package inspect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor/internal/api"
	"github.com/rumorproject/rumor/internal/inspect"
)

var (
	key      = []byte("0123456789abcdef")
	wrongKey = []byte("fedcba9876543210")
	label    = "prod"
)

// watcher is a memberlist Delegate and EventDelegate: it serves metadata
// and user state, and records every join and every user state merge.
type watcher struct {
	meta  []byte
	state []byte

	mu     sync.Mutex
	joined []string
	merges int
}

func (w *watcher) NodeMeta(limit int) []byte       { return w.meta }
func (w *watcher) NotifyMsg([]byte)                {}
func (w *watcher) GetBroadcasts(_, _ int) [][]byte { return nil }
func (w *watcher) LocalState(join bool) []byte     { return w.state }
func (w *watcher) NotifyLeave(*memberlist.Node)    {}
func (w *watcher) NotifyUpdate(*memberlist.Node)   {}

func (w *watcher) MergeRemoteState(buf []byte, join bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.merges++
}

func (w *watcher) NotifyJoin(n *memberlist.Node) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.joined = append(w.joined, n.Name)
}

// seen returns the joins and merges so far.
func (w *watcher) seen() (joined []string, merges int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.joined...), w.merges
}

// startML starts a memberlist node on 127.0.0.1 with the local profile,
// after edit, and shuts it down when the test ends.
func startML(t *testing.T, name string, edit func(*memberlist.Config)) *memberlist.Memberlist {
	t.Helper()
	c := memberlist.DefaultLocalConfig()
	c.Name, c.BindAddr, c.BindPort, c.LogOutput = name, "127.0.0.1", 0, io.Discard
	if edit != nil {
		edit(c)
	}
	m, err := memberlist.Create(c)
	if err != nil {
		t.Fatalf("memberlist.Create(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func addrOf(m *memberlist.Memberlist) string {
	n := m.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// poll checks cond every 20 ms: until it holds (hold false), failing after
// d, or for all of d (hold true), failing at its first error.
func poll(t *testing.T, d time.Duration, hold bool, what string, cond func() error) {
	t.Helper()
	end := time.NewTimer(d)
	defer end.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		switch {
		case hold && err != nil:
			t.Fatalf("%s: %v", what, err)
		case !hold && err == nil:
			return
		}
		select {
		case <-tick.C:
		case <-end.C:
			if hold {
				return
			}
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
	}
}

// listsOnly reports whether every node lists exactly names.
func listsOnly(mls []*memberlist.Memberlist, names ...string) func() error {
	return func() error {
		for _, m := range mls {
			got := map[string]bool{}
			for _, n := range m.Members() {
				got[n.Name] = true
			}
			want := map[string]bool{}
			for _, n := range names {
				want[n] = true
			}
			if !maps.Equal(got, want) || m.NumMembers() != len(names) {
				return fmt.Errorf("%s lists %v, want %v", m.LocalNode().Name, got, names)
			}
		}
		return nil
	}
}

// TestInspectMemberlist inspects a 3-node memberlist cluster, encrypted
// and labelled, with Serf-format tags, through each node, and checks the
// table against each node's own and that the cluster never grows.
func TestInspectMemberlist(t *testing.T) {
	watchers := []*watcher{
		{meta: serfEncode(t, map[string]string{"role": "seed", "dc": "east"}, false), state: []byte("user state")},
		{meta: serfEncode(t, nil, false)},
		{meta: []byte("plain memberlist")},
	}
	names := []string{"m1", "m2", "m3"}
	var mls []*memberlist.Memberlist
	for i, w := range watchers {
		mls = append(mls, startML(t, names[i], func(c *memberlist.Config) {
			c.SecretKey, c.Label = key, label
			c.Delegate, c.Events = w, w
		}))
	}
	for _, m := range mls[1:] {
		if k, err := m.Join([]string{addrOf(mls[0])}); err != nil || k != 1 {
			t.Fatalf("%s joins m1: %d, %v", m.LocalNode().Name, k, err)
		}
	}
	poll(t, 15*time.Second, false, "3 nodes converge", listsOnly(mls, names...))
	_, mergesBefore := watchers[0].seen()

	wantTags := map[string]map[string]string{"m1": {"role": "seed", "dc": "east"}, "m2": {}, "m3": {}}
	ctx := context.Background()
	opts := inspect.Options{Keys: [][]byte{key, wrongKey}, Label: label, Timeout: 5 * time.Second}
	for round := range 3 {
		for i, m := range mls {
			res, err := inspect.Inspect(ctx, addrOf(m), opts)
			if err != nil {
				t.Fatalf("round %d: inspect %s: %v", round, names[i], err)
			}
			if !res.Encrypted || res.UserStateLen != len(watchers[i].state) {
				t.Errorf("inspect %s: encrypted %v, user state %d; want true, %d",
					names[i], res.Encrypted, res.UserStateLen, len(watchers[i].state))
			}
			own := map[string]*memberlist.Node{}
			for _, n := range m.Members() {
				own[n.Name] = n
			}
			if len(res.Members) != 3 {
				t.Fatalf("inspect %s: %+v", names[i], res.Members)
			}
			for j, got := range res.Members {
				n := own[names[j]]
				if n == nil {
					t.Fatalf("%s does not list %s", names[i], names[j])
				}
				want := api.Member{Name: n.Name, Addr: n.Addr.String(), Port: n.Port, State: api.StateAlive,
					Incarnation: got.Incarnation, Tags: wantTags[n.Name], Meta: n.Meta,
					Protocol: api.Protocol{Min: n.PMin, Max: n.PMax, Cur: n.PCur, DelegateMin: n.DMin, DelegateMax: n.DMax, DelegateCur: n.DCur}}
				if got.Name != want.Name || got.Addr != want.Addr || got.Port != want.Port || got.State != want.State ||
					got.Protocol != want.Protocol || got.Tags == nil || !maps.Equal(got.Tags, want.Tags) || !bytes.Equal(got.Meta, want.Meta) {
					t.Errorf("inspect %s: member %d = %+v\nwant %+v", names[i], j, got, want)
				}
				if got.Protocol.Cur == 0 {
					t.Errorf("inspect %s: member %s has no protocol versions", names[i], got.Name)
				}
			}
		}
	}

	// Over several probe intervals (1 s in the local profile) no node ever
	// lists anyone else, nor was told of a join or handed user state.
	poll(t, 4*time.Second, true, "after inspection", listsOnly(mls, names...))
	for i, w := range watchers {
		joined, merges := w.seen()
		for _, name := range joined {
			if name != "m1" && name != "m2" && name != "m3" {
				t.Errorf("%s was told %q joined", names[i], name)
			}
		}
		if i == 0 && merges != mergesBefore {
			t.Errorf("inspections made m1 merge user state %d times", merges-mergesBefore)
		}
	}
}

// TestInspectMemberlistRefusals: each way of getting the key or label wrong
// gives an error that says so, and the cluster learns of no one.
func TestInspectMemberlistRefusals(t *testing.T) {
	secured := startML(t, "secured", func(c *memberlist.Config) { c.SecretKey, c.Label = key, label })
	plain := startML(t, "plain", nil)
	tests := []struct {
		name string
		node *memberlist.Memberlist
		opts inspect.Options
		want error // or a *inspect.RemoteError with this text
		text string
	}{
		{"wrong key", secured, inspect.Options{Keys: [][]byte{wrongKey}, Label: label}, inspect.ErrDecrypt, ""},
		{"no key", secured, inspect.Options{Label: label}, inspect.ErrNeedKey, ""},
		// memberlist drops a stream with another label without a word.
		{"wrong label", secured, inspect.Options{Keys: [][]byte{key}, Label: "staging"}, inspect.ErrClosed, ""},
		{"no label", secured, inspect.Options{Keys: [][]byte{key}}, inspect.ErrClosed, ""},
		{"label for an unlabelled cluster", plain, inspect.Options{Label: label}, inspect.ErrClosed, ""},
		{"key for a plain cluster", plain, inspect.Options{Keys: [][]byte{key}}, nil,
			"remote state is encrypted and encryption is not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Timeout = 5 * time.Second
			res, err := inspect.Inspect(context.Background(), addrOf(tt.node), tt.opts)
			if res != nil || err == nil {
				t.Fatalf("Inspect = %+v, %v; want an error", res, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Inspect: %v; want %v", err, tt.want)
			}
			var remote *inspect.RemoteError
			if tt.want == nil && (!errors.As(err, &remote) || remote.Message != tt.text) {
				t.Fatalf("Inspect: %v; want memberlist's refusal %q", err, tt.text)
			}
			t.Logf("%s: %v", tt.name, err)
		})
	}
	for _, m := range []*memberlist.Memberlist{secured, plain} {
		if k := m.NumMembers(); k != 1 {
			t.Errorf("%s lists %d members, want itself alone", m.LocalNode().Name, k)
		}
	}
	// Both still answer a right inspection.
	for _, c := range []struct {
		m    *memberlist.Memberlist
		opts inspect.Options
	}{{secured, inspect.Options{Keys: [][]byte{key}, Label: label}}, {plain, inspect.Options{}}} {
		res, err := inspect.Inspect(context.Background(), addrOf(c.m), c.opts)
		if err != nil || len(res.Members) != 1 || res.Members[0].Name != c.m.LocalNode().Name {
			t.Errorf("inspect %s: %+v, %v", c.m.LocalNode().Name, res, err)
		}
	}
}
