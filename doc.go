// Package rumor is gossip-based cluster membership: SWIM failure detection
// with Lifeguard's refinements, membership and broadcast, speaking
// hashicorp/memberlist v0.7.0's wire protocol so that rumor and memberlist
// nodes form one cluster.
//
// This package is being built. Today: the configuration ([Config], with
// memberlist's LAN, WAN and Local defaults and validation that names the
// bad field) and a [Node] that runs the protocol core (internal/swim) over
// the default transport (package transport) with labels, encryption and
// compression: [Create], [Node.Join], [Node.Leave], [Node.Shutdown],
// [Node.Members], [Node.LocalNode], [Node.HealthScore]. Events, user
// messages and broadcasts, metadata updates, key rotation, logging and
// metrics come next.
//
// # Concurrency
//
// One goroutine per node owns the protocol state; the methods hand it
// requests or read snapshots it publishes, so they are safe for concurrent
// use.
package rumor
