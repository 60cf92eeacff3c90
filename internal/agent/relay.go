package agent

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/rumorproject/rumor"
	"github.com/rumorproject/rumor/internal/api"
)

// How a broadcast reaches every member. memberlist's own broadcasts ride
// on gossip a bounded number of times and receivers never pass them on,
// so in a small cluster a member is missed now and then, and in a large
// one often. Agents instead:
//
//   - on first sight of a broadcast (the origin's own included), deliver
//     it locally and send it reliably to their "fingers": the agents at
//     distance 1, 2, 4, ... after themselves in the name-sorted list of
//     agents. Distance 1 alone chains through every agent; the longer
//     fingers make the depth about log2(agents) hops and give each agent
//     several paths. Each agent sends about log2(agents) copies per
//     broadcast, whatever the cluster's size.
//   - send the bare payload to the non-agent members (memberlist nodes,
//     plain rumor programs) they own: each such member is owned by the
//     agent that ranks highest for it by rendezvous hashing, so with
//     agreeing member lists each gets exactly one copy, and the work is
//     spread across the agents.
//
// Agents know each other by a reserved tag in their metadata.

const (
	relayQueue     = 1024             // user messages waiting for the worker
	sendsInFlight  = 16               // concurrent reliable sends
	sendTimeout    = 10 * time.Second // per reliable send
	seenCapacity   = 1 << 14          // broadcasts remembered for dedupe
	maxPayloadSize = 64 << 10         // largest broadcast or message payload
)

// relay is the agent's rumor.Delegate and its user-message worker.
type relay struct {
	a     *Agent
	inbox chan []byte
	sends chan struct{} // semaphore of sendsInFlight

	mu       sync.Mutex
	seen     map[seenKey]struct{}
	seenFIFO []seenKey // eviction order
	dropped  uint64    // messages the inbox had no room for
}

type seenKey struct {
	origin string
	id     uint64
}

func newRelay(a *Agent) *relay {
	return &relay{a: a, inbox: make(chan []byte, relayQueue), sends: make(chan struct{}, sendsInFlight), seen: map[seenKey]struct{}{}}
}

// NotifyMsg runs on the node's event loop: it only hands the message over.
func (r *relay) NotifyMsg(msg []byte) {
	select {
	case r.inbox <- msg:
	default:
		r.mu.Lock()
		r.dropped++
		r.mu.Unlock()
		r.a.log.Warn("user message dropped: the relay queue is full")
	}
}

func (r *relay) GetBroadcasts(int, int) [][]byte { return nil }
func (r *relay) LocalState(bool) []byte          { return nil }
func (r *relay) MergeRemoteState([]byte, bool)   {}

func (r *relay) run() {
	defer r.a.wg.Done()
	for {
		select {
		case <-r.a.ctx.Done():
			return
		case msg := <-r.inbox:
			r.receive(msg)
		}
	}
}

// receive handles one user message from the network.
func (r *relay) receive(msg []byte) {
	env, err := parseEnvelope(msg)
	switch {
	case err == errNotEnvelope:
		r.deliver(api.EventMessage, "", msg) // a memberlist node's message or broadcast
	case err != nil:
		r.a.log.Debug("user message dropped", "err", err)
	case env.kind == kindMessage:
		r.deliver(api.EventMessage, env.origin, env.payload)
	case r.firstSight(env.origin, env.id):
		r.deliver(api.EventBroadcast, env.origin, env.payload)
		r.forward(env)
	}
}

func (r *relay) deliver(typ, from string, payload []byte) {
	r.a.events.add(textEvent(api.Event{Type: typ, Time: time.Now(), From: from, Payload: payload}))
}

// firstSight records a broadcast and reports whether it is new.
func (r *relay) firstSight(origin string, id uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := seenKey{origin, id}
	if _, ok := r.seen[k]; ok {
		return false
	}
	if len(r.seenFIFO) >= seenCapacity {
		delete(r.seen, r.seenFIFO[0])
		r.seenFIFO = r.seenFIFO[1:]
	}
	r.seen[k] = struct{}{}
	r.seenFIFO = append(r.seenFIFO, k)
	return true
}

// broadcast starts a broadcast from this agent.
func (r *relay) broadcast(payload []byte) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	env := envelope{kind: kindBroadcast, id: binary.BigEndian.Uint64(b[:]), origin: r.a.Name(), payload: payload}
	r.firstSight(env.origin, env.id)
	r.deliver(api.EventBroadcast, env.origin, payload)
	r.forward(env)
}

// forward sends a broadcast on to this agent's fingers and owned members.
func (r *relay) forward(env envelope) {
	self := r.a.node.LocalNode()
	var agents, others []rumor.Member
	for _, m := range r.a.node.Members() {
		if isAgent(m.Meta) {
			agents = append(agents, m)
		} else if m.Name != self.Name {
			others = append(others, m)
		}
	}
	wrapped, err := env.append(nil)
	if err != nil {
		r.a.log.Warn("broadcast not forwarded", "err", err)
		return
	}
	for _, m := range fingers(agents, self.Name) {
		r.send(m, wrapped)
	}
	for _, m := range others {
		if owner(agents, m.Name) == self.Name {
			r.send(m, env.payload)
		}
	}
}

// send writes msg to m reliably, in the background, a bounded number at a
// time.
func (r *relay) send(m rumor.Member, msg []byte) {
	select {
	case r.sends <- struct{}{}:
	case <-r.a.ctx.Done():
		return
	}
	r.a.wg.Add(1)
	go func() {
		defer r.a.wg.Done()
		defer func() { <-r.sends }()
		ctx, cancel := context.WithTimeout(r.a.ctx, sendTimeout)
		defer cancel()
		if err := r.a.node.SendReliable(ctx, m, msg); err != nil && r.a.ctx.Err() == nil {
			r.a.log.Warn("broadcast not delivered", "member", m.Name, "err", err)
		}
	}()
}

// fingers returns the agents at distance 1, 2, 4, ... after self in name
// order.
func fingers(agents []rumor.Member, self string) []rumor.Member {
	slices.SortFunc(agents, func(x, y rumor.Member) int {
		switch {
		case x.Name < y.Name:
			return -1
		case x.Name > y.Name:
			return 1
		}
		return 0
	})
	i := slices.IndexFunc(agents, func(m rumor.Member) bool { return m.Name == self })
	if i < 0 {
		return nil
	}
	var out []rumor.Member
	for d := 1; d < len(agents); d *= 2 {
		out = append(out, agents[(i+d)%len(agents)])
	}
	return out
}

// owner is the agent that ranks highest for member: rendezvous hashing.
func owner(agents []rumor.Member, member string) string {
	var best string
	var bestScore uint64
	for _, a := range agents {
		h := fnv.New64a()
		h.Write([]byte(a.Name))
		h.Write([]byte{0})
		h.Write([]byte(member))
		if s := h.Sum64(); best == "" || s > bestScore {
			best, bestScore = a.Name, s
		}
	}
	return best
}
