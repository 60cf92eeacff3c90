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
	failed := n.members.counts[StateDead] + len(n.reconnect) // an estimate: some may be back
	if failed == 0 {
		return
	}
	// Roll first: the scan below is O(N) and most rolls fail in a large,
	// mostly healthy cluster.
	if alive := n.NumAlive() - 1; alive > 0 && n.rng.Float64()*float64(alive) >= float64(failed) {
		return
	}
	var candidates []netip.AddrPort
	for _, nameID := range n.members.order {
		if e := &n.members.entries[nameID]; e.state == StateDead {
			candidates = append(candidates, e.id.addr)
		}
	}
	for _, g := range n.reconnect {
		if e := n.lookup(g.name); e == nil {
			candidates = append(candidates, g.addr)
		}
	}
	if len(candidates) > 0 {
		n.pushPullWith(candidates[n.rng.IntN(len(candidates))], false, 0)
	}
}
