package sim

import (
	"math"
)

// gossipApp is a user-broadcast application for the broadcast scenario:
// a node queues a payload, piggybacks it RetransmitMult·⌈log10(n+1)⌉
// times, and re-queues what it hears for the first time, as Serf does
// with user events.
type gossipApp struct {
	mult    int
	size    func() int
	pending []appMsg
	seen    map[string]bool
}

type appMsg struct {
	payload   []byte
	transmits int
}

func newGossipApp(mult int, size func() int) *gossipApp {
	return &gossipApp{mult: mult, size: size, seen: make(map[string]bool)}
}

func (a *gossipApp) AckPayload() []byte            { return nil }
func (a *gossipApp) LocalState(bool) []byte        { return nil }
func (a *gossipApp) MergeRemoteState([]byte, bool) {}

// offer queues payload unless it was seen before; it reports whether it
// was new.
func (a *gossipApp) offer(payload []byte) bool {
	if a.seen[string(payload)] {
		return false
	}
	a.seen[string(payload)] = true
	a.pending = append(a.pending, appMsg{payload: payload})
	return true
}

func (a *gossipApp) GetBroadcasts(overhead, limit int) [][]byte {
	maxTransmits := a.mult * int(math.Ceil(math.Log10(float64(a.size()+1))))
	var out [][]byte
	used := 0
	kept := a.pending[:0]
	for _, m := range a.pending {
		if used+overhead+len(m.payload) <= limit {
			used += overhead + len(m.payload)
			out = append(out, m.payload)
			m.transmits++
		}
		if m.transmits < maxTransmits {
			kept = append(kept, m)
		}
	}
	clear(a.pending[len(kept):])
	a.pending = kept
	return out
}
