package swim

import (
	"slices"

	"github.com/rumorproject/rumor/internal/wire"
)

// gossip sends queued broadcasts to a few random members: the alive, the
// suspect, and the recently dead (so a member wrongly declared dead hears
// it and refutes). It stops as soon as there is nothing to send.
func (n *Node) gossip() {
	if n.queue.len() == 0 && n.cfg.App == nil {
		return // nothing to say: skip choosing peers
	}
	gttd := int64(n.cfg.GossipToTheDeadTime)
	peers := n.randomMembers(nil, n.cfg.GossipNodes, func(id uint32, e *entry) bool {
		switch {
		case id == n.self:
			return false
		case e.state == StateAlive || e.state == StateSuspect:
			return true
		case e.state == StateDead:
			return n.now-e.changed <= gttd
		}
		return false
	})
	budget := n.cfg.PacketSize - compoundHeader - n.cfg.PacketOverhead
	for _, p := range peers {
		msgs := n.broadcasts(n.scratch[:0], budget, wire.MaxCompoundParts)
		n.scratch = msgs[:0]
		if len(msgs) == 0 {
			return
		}
		id := n.members.entries[p].id
		crc := id.vsn[1] >= 5
		if len(msgs) == 1 {
			// A copy: the queue keeps the message for its next transmission,
			// and the driver owns what Drain hands it.
			n.sendPacket(id.addr, slices.Clone(msgs[0]), crc)
			continue
		}
		for len(msgs) > 0 {
			k := min(len(msgs), wire.MaxCompoundParts)
			n.sendPacket(id.addr, n.compound(msgs[:k]), crc)
			msgs = msgs[k:]
		}
		clear(n.scratch[:cap(n.scratch)])
	}
}
