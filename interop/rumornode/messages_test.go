package rumornode

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/rumorproject/rumor"
)

// inbox records messages and hands out queued broadcasts; it serves as a
// memberlist Delegate and a rumor Delegate alike.
type inbox struct {
	mu      sync.Mutex
	got     []string
	pending [][]byte
	meta    []byte
	state   []byte // LocalState
	merged  []string
}

func (b *inbox) NodeMeta(int) []byte { b.mu.Lock(); defer b.mu.Unlock(); return b.meta }
func (b *inbox) NotifyMsg(m []byte)  { b.mu.Lock(); b.got = append(b.got, string(m)); b.mu.Unlock() }
func (b *inbox) GetBroadcasts(overhead, limit int) [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.pending
	b.pending = nil
	return out
}
func (b *inbox) LocalState(bool) []byte { b.mu.Lock(); defer b.mu.Unlock(); return b.state }
func (b *inbox) MergeRemoteState(s []byte, _ bool) {
	b.mu.Lock()
	b.merged = append(b.merged, string(s))
	b.mu.Unlock()
}

func (b *inbox) has(list func(*inbox) []string, want string) func() error {
	return func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if !slices.Contains(list(b), want) {
			return fmt.Errorf("have %q, want %q", list(b), want)
		}
		return nil
	}
}

func got(b *inbox) []string    { return b.got }
func merged(b *inbox) []string { return b.merged }

func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	within(t, 20*time.Second, what, cond)
}

// TestMessagesMetaAndState: user messages (best effort and reliable), user
// broadcasts (a Delegate's and Node.Broadcast's), metadata updates and push-pull user state cross between
// rumor and memberlist in both directions.
func TestMessagesMetaAndState(t *testing.T) {
	mb := &inbox{meta: []byte("ml v1"), state: []byte("ml state")}
	ml := startML(t, "ml-1", func(c *memberlist.Config) { c.Delegate = mb })

	rb := &inbox{state: []byte("rumor state")}
	r := startRumor(t, "rumor-1", func(c *rumor.Config) { c.Delegate, c.Meta = rb, []byte("rumor v1") })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if k, err := r.Join(ctx, []string{mlAddr(ml)}); err != nil || k != 1 {
		t.Fatalf("join: %d, %v", k, err)
	}
	eventually(t, "push-pull state reached memberlist", mb.has(merged, "rumor state"))
	eventually(t, "push-pull state reached rumor", rb.has(merged, "ml state"))

	var mlNode *memberlist.Node
	for _, n := range ml.Members() {
		if n.Name == "rumor-1" {
			mlNode = n
		}
	}
	if mlNode == nil || string(mlNode.Meta) != "rumor v1" {
		t.Fatalf("memberlist sees rumor-1 as %+v, want it with meta rumor v1", mlNode)
	}
	var rMember rumor.Member
	for _, m := range r.Members() {
		if m.Name == "ml-1" {
			rMember = m
		}
	}
	if string(rMember.Meta) != "ml v1" {
		t.Fatalf("rumor sees ml-1 with meta %q, want ml v1", rMember.Meta)
	}

	// rumor → memberlist
	if err := r.SendBestEffort(rMember, []byte("r best effort")); err != nil {
		t.Fatal(err)
	}
	if err := r.SendReliable(ctx, rMember, []byte("r reliable")); err != nil {
		t.Fatal(err)
	}
	rb.mu.Lock()
	rb.pending = append(rb.pending, []byte("r broadcast"))
	rb.mu.Unlock()
	if err := r.Broadcast([]byte("r queued broadcast")); err != nil { // rumor's own queue
		t.Fatal(err)
	}
	for _, m := range []string{"r best effort", "r reliable", "r broadcast", "r queued broadcast"} {
		eventually(t, m, mb.has(got, m))
	}
	// memberlist → rumor
	if err := ml.SendBestEffort(mlNode, []byte("m best effort")); err != nil {
		t.Fatal(err)
	}
	if err := ml.SendReliable(mlNode, []byte("m reliable")); err != nil {
		t.Fatal(err)
	}
	mb.mu.Lock()
	mb.pending = append(mb.pending, []byte("m broadcast"))
	mb.mu.Unlock()
	for _, m := range []string{"m best effort", "m reliable", "m broadcast"} {
		eventually(t, m, rb.has(got, m))
	}

	// Metadata updates, both ways.
	if err := r.UpdateNode(ctx, []byte("rumor v2")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "rumor's new meta at memberlist", func() error {
		for _, n := range ml.Members() {
			if n.Name == "rumor-1" && string(n.Meta) == "rumor v2" {
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
	mb.mu.Lock()
	mb.meta = []byte("ml v2")
	mb.mu.Unlock()
	if err := ml.UpdateNode(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, "memberlist's new meta at rumor", func() error {
		for _, m := range r.Members() {
			if m.Name == "ml-1" && string(m.Meta) == "ml v2" {
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
}
