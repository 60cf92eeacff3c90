// Package httpapitest provides Fake, an in-memory httpapi.Backend with an
// event ring, for tests of the HTTP API, its Go client and the CLI.
package httpapitest

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rumorproject/rumor/internal/api"
)

// Sent is one recorded Send.
type Sent struct {
	Node    string
	Payload []byte
}

// Fake is an agent in memory. Its zero value is not usable; call New.
// The *Func hooks, when set, replace the default behaviour of the call;
// set them before serving.
type Fake struct {
	BroadcastFunc func(ctx context.Context, payload []byte) error
	SendFunc      func(ctx context.Context, node string, payload []byte) error
	JoinFunc      func(ctx context.Context, addrs []string) (int, error)
	// BatchLimit, if above 0, cuts EventsSince's batches to that many
	// events, as a backend bounding them by bytes does.
	BatchLimit int

	mu         sync.Mutex
	self       string
	members    map[string]api.Member
	health     api.Health
	keys       []string
	ring       []api.Event // oldest first, at most ringSize
	ringSize   int
	nextID     uint64
	wake       chan struct{}
	waits      int // EventsSince calls, so tests can tell a reader is there
	broadcasts [][]byte
	sends      []Sent
	joins      [][]string
	left       bool
}

// New returns a Fake whose own node is self, with others in its table,
// healthy, with an empty keyring and a ring that retains ringSize events.
func New(self api.Member, ringSize int, others ...api.Member) *Fake {
	f := &Fake{
		self:     self.Name,
		members:  map[string]api.Member{},
		health:   api.Health{Status: "ok", ProbeRTT: map[string]float64{}},
		ringSize: ringSize,
		nextID:   1,
		wake:     make(chan struct{}),
	}
	for _, m := range append([]api.Member{self}, others...) {
		f.members[m.Name] = m
	}
	return f
}

// Emit appends ev to the ring with the next ID (and the current time if
// ev has none), wakes the readers, and returns it as stored.
func (f *Fake) Emit(ev api.Event) api.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev.ID = f.nextID
	f.nextID++
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	f.ring = append(f.ring, ev)
	if len(f.ring) > f.ringSize {
		f.ring = slices.Delete(f.ring, 0, len(f.ring)-f.ringSize)
	}
	close(f.wake)
	f.wake = make(chan struct{})
	return ev
}

// EventsSince implements httpapi.Backend.
func (f *Fake) EventsSince(after uint64, max int) ([]api.Event, bool, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits++
	oldest := f.nextID // the ID the next event gets, when none is retained
	if len(f.ring) > 0 {
		oldest = f.ring[0].ID
	}
	lost := after+1 < oldest
	var out []api.Event
	if f.BatchLimit > 0 {
		max = min(max, f.BatchLimit)
	}
	for _, ev := range f.ring {
		if ev.ID > after && len(out) < max {
			out = append(out, ev)
		}
	}
	return out, lost, f.wake
}

// Waits reports how many times EventsSince has been called.
func (f *Fake) Waits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waits
}

// SetMember adds or replaces a member.
func (f *Fake) SetMember(m api.Member) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[m.Name] = m
}

// SetHealth replaces what Health returns.
func (f *Fake) SetHealth(h api.Health) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.health = h
}

// Self implements httpapi.Backend.
func (f *Fake) Self() api.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.members[f.self])
}

// Members implements httpapi.Backend, in no particular order so that the
// server's sorting is tested.
func (f *Fake) Members() []api.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.Member
	for _, m := range f.members {
		out = append(out, clone(m))
	}
	return out
}

// Member implements httpapi.Backend.
func (f *Fake) Member(name string) (api.Member, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.members[name]
	return clone(m), ok
}

// Health implements httpapi.Backend.
func (f *Fake) Health() api.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.health
	h.ProbeRTT = maps.Clone(h.ProbeRTT)
	return h
}

// Broadcast implements httpapi.Backend: it records the payload.
func (f *Fake) Broadcast(ctx context.Context, payload []byte) error {
	if f.BroadcastFunc != nil {
		return f.BroadcastFunc(ctx, payload)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.broadcasts = append(f.broadcasts, slices.Clone(payload))
	return nil
}

// Send implements httpapi.Backend: it records the message to a known
// member and refuses others with api.ErrNotFound.
func (f *Fake) Send(ctx context.Context, node string, payload []byte) error {
	if f.SendFunc != nil {
		return f.SendFunc(ctx, node, payload)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.members[node]; !ok {
		return fmt.Errorf("%w: no live member %q", api.ErrNotFound, node)
	}
	f.sends = append(f.sends, Sent{Node: node, Payload: slices.Clone(payload)})
	return nil
}

// Join implements httpapi.Backend: every address containing "bad" fails,
// the others count as contacted.
func (f *Fake) Join(ctx context.Context, addrs []string) (int, error) {
	if f.JoinFunc != nil {
		return f.JoinFunc(ctx, addrs)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.joins = append(f.joins, slices.Clone(addrs))
	var failed []string
	for _, a := range addrs {
		if strings.Contains(a, "bad") {
			failed = append(failed, a)
		}
	}
	n := len(addrs) - len(failed)
	if len(failed) > 0 {
		return n, fmt.Errorf("%d of %d seeds did not answer: %s", len(failed), len(addrs), strings.Join(failed, ", "))
	}
	return n, nil
}

// Leave implements httpapi.Backend: the node's own state becomes left.
func (f *Fake) Leave(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.left = true
	m := f.members[f.self]
	m.State = api.StateLeft
	f.members[f.self] = m
	return nil
}

// SetTags implements httpapi.Backend.
func (f *Fake) SetTags(ctx context.Context, tags map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range tags {
		if strings.ContainsAny(k, "=,") {
			return fmt.Errorf("%w: tag name %q holds '=' or ','", api.ErrInvalid, k)
		}
	}
	m := f.members[f.self]
	m.Tags = maps.Clone(tags)
	f.members[f.self] = m
	return nil
}

// Keys implements httpapi.Backend.
func (f *Fake) Keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.keys)
}

// InstallKey implements httpapi.Backend.
func (f *Fake) InstallKey(key []byte, primary bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := base64.StdEncoding.EncodeToString(key)
	i := slices.Index(f.keys, k)
	if i < 0 {
		f.keys = append(f.keys, k)
		i = len(f.keys) - 1
	}
	if primary || len(f.keys) == 1 {
		f.keys = append([]string{k}, slices.Delete(f.keys, i, i+1)...)
	}
	return nil
}

// RemoveKey implements httpapi.Backend: the primary key cannot go.
func (f *Fake) RemoveKey(key []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := base64.StdEncoding.EncodeToString(key)
	i := slices.Index(f.keys, k)
	switch {
	case i < 0:
		return fmt.Errorf("%w: key not installed", api.ErrNotFound)
	case i == 0:
		return fmt.Errorf("%w: cannot remove the primary key", api.ErrInvalid)
	}
	f.keys = slices.Delete(f.keys, i, i+1)
	return nil
}

// Broadcasts returns the payloads broadcast so far.
func (f *Fake) Broadcasts() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.broadcasts)
}

// Sends returns the messages sent so far.
func (f *Fake) Sends() []Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sends)
}

// Joins returns the address lists of the joins so far.
func (f *Fake) Joins() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.joins)
}

// Left reports whether Leave was called.
func (f *Fake) Left() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.left
}

// WithViews is a Fake that is also an httpapi.Viewer.
type WithViews struct {
	*Fake
	V []api.View
}

// Views implements httpapi.Viewer.
func (w WithViews) Views() []api.View { return slices.Clone(w.V) }

func clone(m api.Member) api.Member {
	m.Tags = maps.Clone(m.Tags)
	m.Meta = slices.Clone(m.Meta)
	return m
}
