package agent

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/api"
)

// This file is the agent as internal/httpapi's Backend.

func memberOf(m rumor.Member) api.Member {
	return api.Member{
		Name: m.Name, Addr: m.Addr.Addr().String(), Port: m.Addr.Port(), State: m.State.String(),
		Incarnation: m.Incarnation, Tags: decodeTags(m.Meta), Meta: m.Meta,
		Protocol: api.Protocol{Min: m.PMin, Max: m.PMax, Cur: m.PCur, DelegateMin: m.DMin, DelegateMax: m.DMax, DelegateCur: m.DCur},
	}
}

// Self is this node's own entry.
func (a *Agent) Self() api.Member { return memberOf(a.node.LocalNode()) }

// Members is the whole member table, dead and left members included,
// sorted by name.
func (a *Agent) Members() []api.Member {
	all := a.node.AllMembers()
	out := make([]api.Member, len(all))
	for i, m := range all {
		out[i] = memberOf(m)
	}
	slices.SortFunc(out, func(x, y api.Member) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// Member is one entry of the member table.
func (a *Agent) Member(name string) (api.Member, bool) {
	m, ok := a.node.Member(name)
	if !ok {
		return api.Member{}, false
	}
	return memberOf(m), true
}

// Health is Lifeguard's health score and the latest probe round trips.
func (a *Agent) Health() api.Health {
	h := api.Health{Status: "ok", Score: a.node.HealthScore(), Members: a.node.NumMembers(), ProbeRTT: map[string]float64{}}
	switch {
	case a.node.LocalNode().State != rumor.StateAlive:
		h.Status = "left" // not a member any more: not ready
	case h.Score > 0:
		h.Status = "degraded"
	}
	a.mu.Lock()
	for name, d := range a.rtt {
		h.ProbeRTT[name] = float64(d.Microseconds()) / 1000
	}
	a.mu.Unlock()
	return h
}

// EventsSince serves the event stream from the agent's history.
// A batch stops after eventBatchBytes of payload (one event at least),
// so that a reader costs little memory however large the history's
// payloads are; it asks again for the rest.
func (a *Agent) EventsSince(after uint64, max int) ([]api.Event, bool, <-chan struct{}) {
	evs, lost, wake := a.events.since(after, max)
	size := 0
	for i := range evs {
		if size += len(evs[i].Payload); size > eventBatchBytes && i > 0 {
			evs = evs[:i]
			break
		}
		evs[i] = textEvent(evs[i]) // not kept: it would hold the payload twice
	}
	return evs, lost, wake
}

const eventBatchBytes = 256 << 10

// Broadcast delivers payload to every live member: to this agent's own
// event stream at once, and to the others through the relay.
func (a *Agent) Broadcast(ctx context.Context, payload []byte) error {
	if err := checkPayload(payload); err != nil {
		return err
	}
	if a.ctx.Err() != nil {
		return errClosed
	}
	a.relay.broadcast(payload)
	return nil
}

// Send delivers payload to one member reliably: in an envelope naming
// this node if the member is an agent, bare otherwise.
func (a *Agent) Send(ctx context.Context, node string, payload []byte) error {
	if err := checkPayload(payload); err != nil {
		return err
	}
	if node == a.Name() {
		a.relay.deliver(api.EventMessage, node, payload)
		return nil
	}
	members := a.node.Members()
	i := slices.IndexFunc(members, func(m rumor.Member) bool { return m.Name == node })
	if i < 0 {
		return fmt.Errorf("%w: no live member %q", api.ErrNotFound, node)
	}
	m := members[i]
	msg := payload
	if isAgent(m.Meta) {
		var err error
		if msg, err = (&envelope{kind: kindMessage, origin: a.Name(), payload: payload}).append(nil); err != nil {
			return err
		}
	}
	if err := a.node.SendReliable(ctx, m, msg); err != nil {
		return fmt.Errorf("agent: send to %s: %w", node, err)
	}
	return nil
}

func checkPayload(p []byte) error {
	switch {
	case len(p) == 0:
		return fmt.Errorf("%w: empty payload", api.ErrInvalid)
	case len(p) > maxPayloadSize:
		return fmt.Errorf("%w: payload of %d bytes, at most %d", api.ErrInvalid, len(p), maxPayloadSize)
	}
	return nil
}

// SetTags replaces this node's tags and waits until the change has been
// gossiped.
func (a *Agent) SetTags(ctx context.Context, tags map[string]string) error {
	meta, err := encodeTags(tags)
	if err != nil {
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	}
	if err := a.node.UpdateNode(ctx, meta); err != nil {
		return fmt.Errorf("agent: tags: %w", err)
	}
	a.mu.Lock()
	a.tags = maps.Clone(tags)
	a.mu.Unlock()
	return nil
}

// Keys lists the keyring, base64, primary first.
func (a *Agent) Keys() []string {
	var out []string
	for _, k := range a.node.Keys() {
		out = append(out, base64.StdEncoding.EncodeToString(k))
	}
	return out
}

// InstallKey adds key to the keyring, making it primary if asked, and
// rewrites the keyring file.
func (a *Agent) InstallKey(key []byte, primary bool) error {
	return a.changeKeys(func(n *rumor.Node) error {
		if err := n.InstallKey(key); err != nil {
			return err
		}
		if primary {
			return n.UseKey(key)
		}
		return nil
	})
}

// RemoveKey removes key from the keyring and rewrites the keyring file.
func (a *Agent) RemoveKey(key []byte) error {
	return a.changeKeys(func(n *rumor.Node) error { return n.RemoveKey(key) })
}

func (a *Agent) changeKeys(change func(*rumor.Node) error) error {
	a.keyFile.Lock()
	defer a.keyFile.Unlock()
	if err := change(a.node); err != nil {
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	}
	if a.cfg.KeyringFile == "" {
		return nil
	}
	if err := saveKeyring(a.cfg.KeyringFile, a.node.Keys()); err != nil {
		return fmt.Errorf("agent: keyring changed but not saved: %w", err)
	}
	return nil
}
