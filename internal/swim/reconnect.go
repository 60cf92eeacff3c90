package swim

import "net/netip"

// maxReconnect bounds the dead members remembered for reconnecting.
const maxReconnect = 128

// gone is a dead member forgotten by the table but remembered for
// reconnecting.
type gone struct {
	name string
	addr netip.AddrPort
	at   int64
}

func (n *Node) rememberDead(id *identity) {
	if n.cfg.ReconnectInterval == 0 {
		return
	}
	if len(n.reconnect) == maxReconnect {
		n.reconnect = append(n.reconnect[:0], n.reconnect[1:]...)
	}
	n.reconnect = append(n.reconnect, gone{name: id.name, addr: id.addr, at: n.now})
}

// tryReconnect push-pulls with a random dead member, with probability
// dead/alive, as Serf's reconnect does: in a healthy cluster with one
// crashed node this costs about one attempt per interval cluster-wide,
// while after a partition every node reaches across.
func (n *Node) tryReconnect() {
	expired := 0
	for _, g := range n.reconnect {
		if n.now-g.at <= int64(n.cfg.ReconnectTimeout) {
			break
		}
		expired++
	}
	n.reconnect = append(n.reconnect[:0], n.reconnect[expired:]...)

	var candidates []netip.AddrPort
	alive := 0
	for _, nameID := range n.members.order {
		e := &n.members.entries[nameID]
		switch {
		case e.state == StateDead:
			candidates = append(candidates, e.id.addr)
		case !e.deadOrLeft() && nameID != n.self:
			alive++
		}
	}
	for _, g := range n.reconnect {
		if e := n.lookup(g.name); e == nil {
			candidates = append(candidates, g.addr)
		}
	}
	if len(candidates) == 0 {
		return
	}
	if alive > 0 && n.rng.Float64()*float64(alive) >= float64(len(candidates)) {
		return
	}
	n.pushPullWith(candidates[n.rng.IntN(len(candidates))], false, 0)
}
