package swim

import (
	"math"
	"net/netip"
)

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
		n.recheck()
		return
	}
	var candidates []netip.AddrPort
	n.eachDead(math.MinInt64, func(_ string, addr netip.AddrPort) { candidates = append(candidates, addr) })
	if len(candidates) > 0 {
		n.pushPullWith(candidates[n.rng.IntN(len(candidates))], false, 0)
	}
}

// eachDead calls fn for each member held dead since since or later: those
// in the table, then those reaped from it since (remembered for
// reconnecting) and not back.
func (n *Node) eachDead(since int64, fn func(name string, addr netip.AddrPort)) {
	for _, nameID := range n.members.order {
		if e := &n.members.entries[nameID]; e.state == StateDead && e.changed >= since {
			fn(e.id.name, e.id.addr)
		}
	}
	for _, g := range n.reconnect {
		if g.at >= since && n.lookup(g.name) == nil {
			fn(g.name, g.addr)
		}
	}
}

// recheckWindow is how long after declaring a member dead the node keeps
// rechecking it, in ReconnectIntervals.
const recheckWindow = 4

// recheck pings one member declared dead lately, at random. Gossip can
// miss a node: a member that refuted its death while we were not
// listening answers, and a push-pull with it mends our view at once,
// where the periodic push-pull could take minutes in a large cluster. A
// member really dead costs each node a few pings.
func (n *Node) recheck() {
	n.rechecking = false
	var name string
	var addr netip.AddrPort
	seen := 0
	since := n.now - recheckWindow*int64(n.cfg.ReconnectInterval) + 1
	n.eachDead(since, func(nm string, a netip.AddrPort) {
		seen++
		if n.rng.IntN(seen) == 0 { // a uniform pick in one pass
			name, addr = nm, a
		}
	})
	if seen == 0 {
		return
	}
	n.rechecking, n.recheckSeq, n.recheckAddr = true, n.nextSeq(), addr
	// Alone: no gossip spent on an address that is probably dead.
	n.sendPacket(addr, n.ping(n.recheckSeq, name).AppendTo(nil), false)
}

// onRecheckAck handles the answer of a member we hold dead.
func (n *Node) onRecheckAck(seq uint32) bool {
	if !n.rechecking || seq != n.recheckSeq {
		return false
	}
	n.rechecking = false
	n.pushPullWith(n.recheckAddr, false, 0)
	return true
}
