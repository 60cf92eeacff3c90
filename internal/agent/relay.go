package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	sendQueue      = 4096             // reliable sends waiting for a sender
	senders        = 16               // concurrent reliable sends
	sendTimeout    = 10 * time.Second // per reliable send
	seenCapacity   = 1 << 14          // broadcasts remembered for dedupe
	maxPayloadSize = 64 << 10         // largest broadcast or message payload
	// maxMessageSize bounds what the agent accepts from the network: a
	// payload in its envelope. Larger user messages (memberlist allows
	// megabytes) are dropped and counted, so that no peer can fill the
	// agent's memory through the event history.
	maxMessageSize = maxPayloadSize + 512
)

// relay is the agent's rumor.Delegate, its user-message worker and its
// senders.
type relay struct {
	a        *Agent
	inbox    chan []byte
	sends    chan outgoing
	inflight atomic.Int64 // sends queued or being written

	mu       sync.Mutex
	seen     map[seenKey]struct{}
	seenFIFO []seenKey // eviction order
	stats    RelayStats
	warned   time.Time // the last drop warning, to rate-limit them
}

// RelayStats counts what the relay could not do.
type RelayStats struct {
	Dropped     uint64 // user messages dropped: queue full, too large, or malformed
	SendsFailed uint64 // reliable sends that failed or timed out
	SendsQueued uint64 // sends dropped because the send queue was full
}

type outgoing struct {
	to  rumor.Member
	msg []byte
}

type seenKey struct {
	origin string
	id     uint64
}

func newRelay(a *Agent) *relay {
	return &relay{a: a, inbox: make(chan []byte, relayQueue), sends: make(chan outgoing, sendQueue), seen: map[seenKey]struct{}{}}
}

// start runs the worker and the senders until the agent stops.
func (r *relay) start() {
	r.a.wg.Add(1 + senders)
	go r.run()
	for range senders {
		go r.sender()
	}
}

// dropped counts a message the relay gave up on, and says so at most once
// a minute.
func (r *relay) dropped(why string, counter *uint64) {
	r.mu.Lock()
	*counter++
	warn := time.Since(r.warned) > time.Minute
	if warn {
		r.warned = time.Now()
	}
	r.mu.Unlock()
	if warn {
		r.a.log.Warn("user messages dropped (logged once a minute; see the relay metrics)", "why", why)
	}
}

// NotifyMsg runs on the node's event loop: it only hands the message over.
func (r *relay) NotifyMsg(msg []byte) {
	if len(msg) > maxMessageSize {
		r.dropped(fmt.Sprintf("a message of %d bytes, over %d", len(msg), maxMessageSize), &r.stats.Dropped)
		return
	}
	select {
	case r.inbox <- msg:
	default:
		r.dropped("the relay queue is full", &r.stats.Dropped)
	}
}

// Stats returns the relay's counters.
func (r *relay) Stats() RelayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
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
		r.dropped(err.Error(), &r.stats.Dropped)
	case env.kind == kindMessage:
		r.deliver(api.EventMessage, env.origin, env.payload)
	case r.firstSight(env.origin, env.id):
		r.deliver(api.EventBroadcast, env.origin, env.payload)
		r.forward(env)
	}
}

func (r *relay) deliver(typ, from string, payload []byte) {
	r.a.events.add(api.Event{Type: typ, Time: time.Now(), From: from, Payload: payload})
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
// Only alive agents relay or own: a suspect one may have crashed, and its
// share would be lost until it is declared dead.
func (r *relay) forward(env envelope) {
	self := r.a.node.LocalNode()
	var agents, others []rumor.Member
	for _, m := range r.a.node.Members() {
		switch {
		case isAgent(m.Meta):
			if m.State == rumor.StateAlive || m.Name == self.Name {
				agents = append(agents, m)
			}
		case m.Name != self.Name:
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

// send queues msg for a reliable send to m; it never blocks.
func (r *relay) send(m rumor.Member, msg []byte) {
	r.inflight.Add(1)
	select {
	case r.sends <- outgoing{m, msg}:
	default:
		r.inflight.Add(-1)
		r.dropped("the send queue is full", &r.stats.SendsQueued)
	}
}

// sender writes queued messages, one at a time, until the agent stops.
func (r *relay) sender() {
	defer r.a.wg.Done()
	for {
		select {
		case <-r.a.ctx.Done():
			return
		case o := <-r.sends:
			ctx, cancel := context.WithTimeout(r.a.ctx, sendTimeout)
			err := r.a.node.SendReliable(ctx, o.to, o.msg)
			cancel()
			r.inflight.Add(-1)
			if err != nil && r.a.ctx.Err() == nil {
				r.mu.Lock()
				r.stats.SendsFailed++
				r.mu.Unlock()
				r.a.log.Debug("relayed message not delivered", "member", o.to.Name, "err", err)
			}
		}
	}
}

// fingers returns the agents at distance 1, 2, 4, ... after self in name
// order.
func fingers(agents []rumor.Member, self string) []rumor.Member {
	slices.SortFunc(agents, func(x, y rumor.Member) int { return strings.Compare(x.Name, y.Name) })
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

// owner is the agent that ranks highest for member: rendezvous hashing,
// with SHA-256 so that names differing only in a digit spread evenly.
func owner(agents []rumor.Member, member string) string {
	var best string
	var bestScore uint64
	for _, a := range agents {
		sum := sha256.Sum256([]byte(a.Name + "\x00" + member))
		if s := binary.BigEndian.Uint64(sum[:8]); best == "" || s > bestScore {
			best, bestScore = a.Name, s
		}
	}
	return best
}
