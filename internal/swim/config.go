package swim

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/rumorproject/rumor/internal/wire"
)

// MetaMaxSize is the largest node metadata memberlist accepts.
const MetaMaxSize = 512

// Config holds the protocol's tuning. Start from [LAN], [WAN] or [Local]
// (memberlist's DefaultLANConfig, DefaultWANConfig and DefaultLocalConfig)
// and set Name and Addr.
type Config struct {
	// Name identifies the node in the cluster; it must be unique.
	Name string
	// Addr is the address other nodes reach this node at. Its form is sent
	// as is: an IPv4-mapped IPv6 address stays 16 bytes on the wire.
	Addr netip.AddrPort
	// Meta is the node's initial metadata, at most MetaMaxSize bytes.
	Meta []byte

	// ProtocolVersion is the memberlist protocol version spoken (PCur).
	ProtocolVersion uint8
	// DelegateVersion, DelegateMin and DelegateMax are the application's
	// protocol versions (DCur, DMin, DMax), checked at push-pull.
	DelegateVersion, DelegateMin, DelegateMax uint8

	ProbeInterval  time.Duration // time between probes
	ProbeTimeout   time.Duration // wait for a direct ack before asking helpers
	IndirectChecks int           // helpers asked per failed probe
	// DisableTCPPings turns off the TCP fallback probe.
	DisableTCPPings bool

	SuspicionMult           int // scales the suspicion timeout with log10(n)
	SuspicionMaxTimeoutMult int // max suspicion timeout = this × min
	AwarenessMaxMultiplier  int // health score bound: timeouts scale up to this ×

	RetransmitMult      int           // broadcasts go out RetransmitMult·⌈log10(n+1)⌉ times
	GossipInterval      time.Duration // time between gossip rounds
	GossipNodes         int           // peers per gossip round
	GossipToTheDeadTime time.Duration // keep gossiping to (and remembering) the dead this long

	PushPullInterval time.Duration // anti-entropy period before scaling; 0 disables
	TCPTimeout       time.Duration // deadline for a stream the node asks for

	// ReconnectInterval is how often the node may try a push-pull with a
	// member it holds dead, with probability dead/alive (Serf's reconnect):
	// after a partition heals, this is what merges the two sides, which
	// memberlist alone never does. 0 disables it.
	ReconnectInterval time.Duration
	// ReconnectTimeout is how long a dead member is remembered for
	// reconnecting after it leaves the member table.
	ReconnectTimeout time.Duration

	// DeadNodeReclaimTime lets a dead node's name be taken by another
	// address after this long; 0 never.
	DeadNodeReclaimTime time.Duration

	// PacketSize is the largest packet payload built, before the envelope
	// (memberlist's UDPBufferSize).
	PacketSize int
	// PacketOverhead is what the driver's envelope takes from PacketSize:
	// the label header and the encryption overhead.
	PacketOverhead int

	// TellStaleAlive makes the node answer an alive message that it
	// ignores as stale, about a node it holds dead or left, with that dead
	// notice, sent straight to the node. A restarted node then learns its
	// old incarnation and refutes at once instead of at its next
	// push-pull. memberlist does not do this; it is harmless to it.
	TellStaleAlive bool

	// App answers the protocol's questions to the application; nil means
	// no ack payload, no user state and no user broadcasts.
	App App
	// Directory shares interned names and member records between nodes
	// owned by one goroutine (the simulator); nil gives the node its own.
	Directory *Directory
}

// App is what the core asks the application synchronously. Notifications go
// the other way as events.
type App interface {
	// AckPayload is attached to each ack this node sends.
	AckPayload() []byte
	// LocalState is the application state sent in a push-pull.
	LocalState(join bool) []byte
	// MergeRemoteState receives a peer's application state.
	MergeRemoteState(state []byte, join bool)
	// GetBroadcasts returns user broadcasts to piggyback: each costs
	// overhead bytes plus its length, all within limit.
	GetBroadcasts(overhead, limit int) [][]byte
}

// LAN returns memberlist's DefaultLANConfig values.
func LAN() Config {
	return Config{
		ProtocolVersion:         2,
		ProbeInterval:           time.Second,
		ProbeTimeout:            500 * time.Millisecond,
		IndirectChecks:          3,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 6,
		AwarenessMaxMultiplier:  8,
		RetransmitMult:          4,
		GossipInterval:          200 * time.Millisecond,
		GossipNodes:             3,
		GossipToTheDeadTime:     30 * time.Second,
		PushPullInterval:        30 * time.Second,
		TCPTimeout:              10 * time.Second,
		PacketSize:              1400,
		TellStaleAlive:          true,
		ReconnectInterval:       30 * time.Second,
		ReconnectTimeout:        24 * time.Hour,
	}
}

// WAN returns memberlist's DefaultWANConfig values.
func WAN() Config {
	c := LAN()
	c.TCPTimeout = 30 * time.Second
	c.SuspicionMult = 6
	c.PushPullInterval = 60 * time.Second
	c.ProbeTimeout = 3 * time.Second
	c.ProbeInterval = 5 * time.Second
	c.GossipNodes = 4
	c.GossipInterval = 500 * time.Millisecond
	c.GossipToTheDeadTime = 60 * time.Second
	return c
}

// Local returns memberlist's DefaultLocalConfig values.
func Local() Config {
	c := LAN()
	c.TCPTimeout = time.Second
	c.IndirectChecks = 1
	c.RetransmitMult = 2
	c.SuspicionMult = 3
	c.PushPullInterval = 15 * time.Second
	c.ProbeTimeout = 200 * time.Millisecond
	c.ProbeInterval = time.Second
	c.GossipInterval = 100 * time.Millisecond
	c.GossipToTheDeadTime = 15 * time.Second
	return c
}

// FieldError names the Config field that cannot work.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return "swim: config " + e.Field + ": " + e.Reason }

// Validate reports the first field that cannot work, as a *FieldError.
func (c *Config) Validate() error {
	bad := func(field, why string) error { return &FieldError{Field: field, Reason: why} }
	switch {
	case c.Name == "":
		return bad("Name", "empty")
	case !c.Addr.IsValid() || c.Addr.Addr().Zone() != "":
		return bad("Addr", "not a valid address and port without zone")
	case len(c.Meta) > MetaMaxSize:
		return bad("Meta", fmt.Sprintf("%d bytes, more than %d", len(c.Meta), MetaMaxSize))
	case c.ProtocolVersion < wire.ProtocolVersionMin || c.ProtocolVersion > wire.ProtocolVersionMax:
		return bad("ProtocolVersion", fmt.Sprintf("%d outside [%d, %d]", c.ProtocolVersion, wire.ProtocolVersionMin, wire.ProtocolVersionMax))
	case c.DelegateMin > c.DelegateMax || c.DelegateVersion < c.DelegateMin || c.DelegateVersion > c.DelegateMax:
		return bad("DelegateVersion", "not within [DelegateMin, DelegateMax]")
	case c.ProbeInterval <= 0:
		return bad("ProbeInterval", "must be positive")
	case c.ProbeTimeout <= 0 || c.ProbeTimeout > c.ProbeInterval:
		return bad("ProbeTimeout", "must be positive and at most ProbeInterval")
	case c.IndirectChecks < 0:
		return bad("IndirectChecks", "negative")
	case c.SuspicionMult < 1:
		return bad("SuspicionMult", "must be at least 1")
	case c.SuspicionMaxTimeoutMult < 1:
		return bad("SuspicionMaxTimeoutMult", "must be at least 1")
	case c.AwarenessMaxMultiplier < 1:
		return bad("AwarenessMaxMultiplier", "must be at least 1")
	case c.RetransmitMult < 1:
		return bad("RetransmitMult", "must be at least 1")
	case c.GossipInterval < 0 || c.GossipNodes < 0:
		return bad("GossipInterval", "negative")
	case c.GossipToTheDeadTime < 0:
		return bad("GossipToTheDeadTime", "negative")
	case c.PushPullInterval < 0:
		return bad("PushPullInterval", "negative")
	case c.TCPTimeout <= 0:
		return bad("TCPTimeout", "must be positive")
	case c.ReconnectInterval < 0 || c.ReconnectTimeout < 0:
		return bad("ReconnectInterval", "negative")
	case c.DeadNodeReclaimTime < 0:
		return bad("DeadNodeReclaimTime", "negative")
	case c.PacketSize < 64 || c.PacketSize > 65507:
		return bad("PacketSize", "outside [64, 65507]")
	case c.PacketOverhead < 0 || c.PacketOverhead > c.PacketSize/2:
		return bad("PacketOverhead", "outside [0, PacketSize/2]")
	}
	return nil
}

func (c *Config) vsn() [6]uint8 {
	return [6]uint8{wire.ProtocolVersionMin, wire.ProtocolVersionMax, c.ProtocolVersion,
		c.DelegateMin, c.DelegateMax, c.DelegateVersion}
}
