package rumor

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/rumorproject/rumor/internal/swim"
	"github.com/rumorproject/rumor/internal/wire"
	"github.com/rumorproject/rumor/transport"
)

// Config configures a node. Start from [DefaultLANConfig],
// [DefaultWANConfig] or [DefaultLocalConfig]: they hold memberlist v0.7.0's
// defaults, field for field, so that rumor and memberlist nodes configured
// alike behave alike. Field names follow memberlist's, with Go's
// initialisms (DisableTCPPings for DisableTcpPings).
type Config struct {
	// Name must be unique in the cluster; the defaults use the host name.
	Name string

	// BindAddr and BindPort are where UDP and TCP listen; port 0 picks a
	// free port. When AdvertiseAddr is set, AdvertiseAddr:AdvertisePort is
	// what other nodes are told instead (behind NAT, say); as in
	// memberlist, AdvertisePort is used only then.
	BindAddr      string
	BindPort      int
	AdvertiseAddr string
	AdvertisePort int

	// ProtocolVersion is the memberlist protocol version spoken (1–5).
	ProtocolVersion uint8
	// DelegateProtocolVersion, Min and Max describe the application's
	// own protocol; push-pulls between incompatible ranges fail.
	DelegateProtocolVersion, DelegateProtocolMin, DelegateProtocolMax uint8

	TCPTimeout              time.Duration // deadline of each stream exchange
	IndirectChecks          int           // helpers asked when a direct probe fails
	RetransmitMult          int           // broadcasts go out RetransmitMult·⌈log10(n+1)⌉ times
	SuspicionMult           int           // suspicion timeout scale
	SuspicionMaxTimeoutMult int           // max suspicion timeout = this × min
	PushPullInterval        time.Duration // full-state exchange period (scaled up past 32 nodes); 0 off
	ProbeInterval           time.Duration // time between probes
	ProbeTimeout            time.Duration // wait for a direct ack
	DisableTCPPings         bool          // no TCP fallback probe
	AwarenessMaxMultiplier  int           // Lifeguard: timeouts stretch up to this × when unhealthy
	GossipInterval          time.Duration // time between gossip rounds
	GossipNodes             int           // peers per gossip round
	GossipToTheDeadTime     time.Duration // dead nodes are still gossiped to (and remembered) this long
	DeadNodeReclaimTime     time.Duration // a dead node's name may move to a new address after this; 0 never

	// ReconnectInterval is how often a node may push-pull with a member it
	// holds dead, so that the two halves of a healed partition find each
	// other (memberlist alone never does; Serf adds it). 0 turns it off.
	ReconnectInterval time.Duration

	// Label, if set, is written on every packet and stream and required
	// on every one received: clusters with different labels ignore each
	// other.
	Label string
	// SecretKey, if set, is the only key of the keyring: 16, 24 or 32
	// bytes for AES-128, -192 or -256.
	SecretKey []byte
	// GossipVerifyIncoming rejects unencrypted input when a key is set;
	// GossipVerifyOutgoing encrypts output. Turn them off one at a time to
	// roll encryption out across a running cluster.
	GossipVerifyIncoming, GossipVerifyOutgoing bool
	// EnableCompression compresses packets (when it helps) and streams.
	EnableCompression bool
	// DisableCRC leaves off the CRC frame that gossip packets carry to
	// peers speaking protocol 5, as memberlist's do (5 bytes each;
	// receivers take packets with or without it, and UDP's own checksum
	// still guards them).
	DisableCRC bool

	// Meta is this node's metadata (at most 512 bytes), given to every
	// member; UpdateNode changes it.
	Meta []byte
	// Events, if set, receives every Event. Sends never block the node: if
	// the channel is full the event is dropped and counted (Stats).
	Events chan<- Event
	// Delegate, if set, lets the application send and receive user
	// messages, broadcasts and push-pull state.
	Delegate Delegate
	// OnSample, if set, receives each measurement as it is taken (probe
	// round trips, push-pull durations), for a metrics exporter's
	// histograms. It is called on the node's event loop: it must return
	// quickly and must not call the Node.
	OnSample func(Sample)
	// Logger receives what happens, with attributes ("node", "member",
	// "err"): membership changes at Info, conflicts at Warn, input that
	// did not decode at Debug. nil logs nothing.
	Logger *slog.Logger

	// Transport, if set, carries the node's packets and streams instead of
	// sockets bound at BindAddr:BindPort, which are then ignored. The node
	// owns it from Create on and closes it at Shutdown. Unless
	// AdvertiseAddr is set, its LocalAddr is what other nodes are told.
	Transport transport.Transport

	// UDPBufferSize is the largest packet built, before encryption.
	UDPBufferSize int
	// HandoffQueueDepth bounds the received packets waiting for the node.
	HandoffQueueDepth int
}

// DefaultLANConfig returns memberlist's DefaultLANConfig values: tuned for
// a local network.
func DefaultLANConfig() *Config { return defaults(swim.LAN()) }

// DefaultWANConfig returns memberlist's DefaultWANConfig values: slower
// probes and longer timeouts for links across the internet.
func DefaultWANConfig() *Config { return defaults(swim.WAN()) }

// DefaultLocalConfig returns memberlist's DefaultLocalConfig values: fast,
// for a single host or tests.
func DefaultLocalConfig() *Config { return defaults(swim.Local()) }

// defaults takes the protocol tuning from the core's profile (which holds
// memberlist's values) and adds memberlist's network and security
// defaults.
func defaults(sc swim.Config) *Config {
	host, _ := os.Hostname()
	return &Config{
		Name:                    host,
		BindAddr:                "0.0.0.0",
		BindPort:                7946,
		AdvertisePort:           7946,
		ProtocolVersion:         sc.ProtocolVersion,
		TCPTimeout:              sc.TCPTimeout,
		IndirectChecks:          sc.IndirectChecks,
		RetransmitMult:          sc.RetransmitMult,
		SuspicionMult:           sc.SuspicionMult,
		SuspicionMaxTimeoutMult: sc.SuspicionMaxTimeoutMult,
		PushPullInterval:        sc.PushPullInterval,
		ProbeInterval:           sc.ProbeInterval,
		ProbeTimeout:            sc.ProbeTimeout,
		AwarenessMaxMultiplier:  sc.AwarenessMaxMultiplier,
		GossipInterval:          sc.GossipInterval,
		GossipNodes:             sc.GossipNodes,
		GossipToTheDeadTime:     sc.GossipToTheDeadTime,
		DeadNodeReclaimTime:     sc.DeadNodeReclaimTime,
		ReconnectInterval:       sc.ReconnectInterval,
		GossipVerifyIncoming:    true,
		GossipVerifyOutgoing:    true,
		EnableCompression:       true,
		UDPBufferSize:           sc.PacketSize,
		HandoffQueueDepth:       1024,
	}
}

// ConfigError names the field that makes a Config unusable.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "rumor: config " + e.Field + ": " + e.Reason }

// Validate reports the first field that cannot work, as a *ConfigError.
func (c *Config) Validate() error {
	_, adv, err := c.addresses()
	if err != nil {
		return err
	}
	if len(c.SecretKey) > 0 {
		if err := wire.ValidateKey(c.SecretKey); err != nil {
			return &ConfigError{"SecretKey", err.Error()}
		}
	}
	if len(c.Label) > wire.MaxLabelLen {
		return &ConfigError{"Label", fmt.Sprintf("%d bytes, more than %d", len(c.Label), wire.MaxLabelLen)}
	}
	if c.HandoffQueueDepth < 1 {
		return &ConfigError{"HandoffQueueDepth", "must be at least 1"}
	}
	sc := c.swim(adv)
	if err := sc.Validate(); err != nil {
		return swimConfigError(err)
	}
	return nil
}

// addresses resolves the bind and advertised addresses.
func (c *Config) addresses() (bind, advertise netip.AddrPort, err error) {
	ip, err := netip.ParseAddr(c.BindAddr)
	if err != nil {
		return bind, advertise, &ConfigError{"BindAddr", fmt.Sprintf("%q is not an IP address", c.BindAddr)}
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		return bind, advertise, &ConfigError{"BindPort", fmt.Sprintf("%d is not a port", c.BindPort)}
	}
	bind = netip.AddrPortFrom(ip, uint16(c.BindPort))
	advertise = bind
	if c.AdvertiseAddr == "" {
		return bind, advertise, nil
	}
	aip, err := netip.ParseAddr(c.AdvertiseAddr)
	if err != nil || aip.IsUnspecified() {
		return bind, advertise, &ConfigError{"AdvertiseAddr", fmt.Sprintf("%q is not a usable IP address", c.AdvertiseAddr)}
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		return bind, advertise, &ConfigError{"AdvertisePort", fmt.Sprintf("%d is not a port", c.AdvertisePort)}
	}
	port := uint16(c.AdvertisePort)
	if port == 0 {
		port = bind.Port()
	}
	return bind, netip.AddrPortFrom(aip, port), nil
}

// swim is the protocol core's configuration for advertised address adv.
func (c *Config) swim(adv netip.AddrPort) swim.Config {
	sc := swim.LAN()
	sc.Name, sc.Addr = c.Name, adv
	sc.ProtocolVersion = c.ProtocolVersion
	sc.DelegateVersion, sc.DelegateMin, sc.DelegateMax = c.DelegateProtocolVersion, c.DelegateProtocolMin, c.DelegateProtocolMax
	sc.ProbeInterval, sc.ProbeTimeout, sc.IndirectChecks = c.ProbeInterval, c.ProbeTimeout, c.IndirectChecks
	sc.DisableTCPPings = c.DisableTCPPings
	sc.SuspicionMult, sc.SuspicionMaxTimeoutMult = c.SuspicionMult, c.SuspicionMaxTimeoutMult
	sc.AwarenessMaxMultiplier = c.AwarenessMaxMultiplier
	sc.RetransmitMult, sc.GossipInterval, sc.GossipNodes = c.RetransmitMult, c.GossipInterval, c.GossipNodes
	sc.GossipToTheDeadTime, sc.PushPullInterval, sc.TCPTimeout = c.GossipToTheDeadTime, c.PushPullInterval, c.TCPTimeout
	sc.DeadNodeReclaimTime, sc.ReconnectInterval = c.DeadNodeReclaimTime, c.ReconnectInterval
	sc.PacketSize = c.UDPBufferSize
	sc.Meta = c.Meta
	if c.Delegate != nil {
		sc.App = app{c.Delegate}
	}
	sc.PacketOverhead = c.packetOverhead()
	return sc
}

// packetOverhead is what the envelope takes from UDPBufferSize when
// piggybacking, as memberlist counts it: the label header, and the
// encryption overhead when output is encrypted.
func (c *Config) packetOverhead() int {
	n := 0
	if c.Label != "" {
		n += 2 + len(c.Label)
	}
	if len(c.SecretKey) > 0 && c.GossipVerifyOutgoing {
		n += wire.EncryptOverhead(wire.EncryptVersion1)
	}
	return n
}

// swimFieldNames maps the core's Config fields to this package's.
var swimFieldNames = map[string]string{
	"Name": "Name", "Addr": "AdvertiseAddr", "ProtocolVersion": "ProtocolVersion",
	"DelegateVersion": "DelegateProtocolVersion", "ProbeInterval": "ProbeInterval",
	"ProbeTimeout": "ProbeTimeout", "IndirectChecks": "IndirectChecks", "SuspicionMult": "SuspicionMult",
	"SuspicionMaxTimeoutMult": "SuspicionMaxTimeoutMult", "AwarenessMaxMultiplier": "AwarenessMaxMultiplier",
	"RetransmitMult": "RetransmitMult", "GossipInterval": "GossipInterval",
	"GossipToTheDeadTime": "GossipToTheDeadTime", "PushPullInterval": "PushPullInterval",
	"TCPTimeout": "TCPTimeout", "DeadNodeReclaimTime": "DeadNodeReclaimTime",
	"ReconnectInterval": "ReconnectInterval", "PacketSize": "UDPBufferSize", "PacketOverhead": "Label",
	"Meta": "Meta",
}

// swimConfigError renames a protocol core field error after this
// package's field.
func swimConfigError(err error) error {
	var fe *swim.FieldError
	if errors.As(err, &fe) {
		if name, ok := swimFieldNames[fe.Field]; ok {
			return &ConfigError{name, fe.Reason}
		}
		return &ConfigError{fe.Field, fe.Reason}
	}
	return fmt.Errorf("rumor: config: %w", err)
}
