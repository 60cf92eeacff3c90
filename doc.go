// Package rumor is gossip-based cluster membership: SWIM failure detection
// with Lifeguard's refinements, membership and broadcast, speaking
// hashicorp/memberlist v0.7.0's wire protocol so that rumor and memberlist
// nodes form one cluster.
//
// This package is being built: today it holds the node configuration
// ([Config], with memberlist's LAN, WAN and Local defaults and validation
// that names the bad field). The node itself, running the protocol core
// (internal/swim) over the default transport (package transport), comes
// next.
package rumor
