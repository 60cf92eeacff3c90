package rumor

import (
	"errors"
	"testing"
	"time"
)

func TestDefaultsValidate(t *testing.T) {
	for name, c := range map[string]*Config{"LAN": DefaultLANConfig(), "WAN": DefaultWANConfig(), "Local": DefaultLocalConfig()} {
		c.Name = "n1"
		if err := c.Validate(); err != nil {
			t.Errorf("Default%sConfig().Validate() = %v; want nil", name, err)
		}
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"Name", func(c *Config) { c.Name = "" }},
		{"BindAddr", func(c *Config) { c.BindAddr = "localhost" }},
		{"BindPort", func(c *Config) { c.BindPort = 70000 }},
		{"AdvertiseAddr", func(c *Config) { c.AdvertiseAddr = "0.0.0.0" }},
		{"AdvertisePort", func(c *Config) { c.AdvertiseAddr, c.AdvertisePort = "10.0.0.1", -1 }},
		{"SecretKey", func(c *Config) { c.SecretKey = []byte("short") }},
		{"Label", func(c *Config) { c.Label = string(make([]byte, 300)) }},
		{"HandoffQueueDepth", func(c *Config) { c.HandoffQueueDepth = 0 }},
		{"ProtocolVersion", func(c *Config) { c.ProtocolVersion = 9 }},
		{"ProbeInterval", func(c *Config) { c.ProbeInterval = 0 }},
		{"ProbeTimeout", func(c *Config) { c.ProbeTimeout = 2 * time.Second }},
		{"SuspicionMult", func(c *Config) { c.SuspicionMult = 0 }},
		{"RetransmitMult", func(c *Config) { c.RetransmitMult = 0 }},
		{"TCPTimeout", func(c *Config) { c.TCPTimeout = 0 }},
		{"UDPBufferSize", func(c *Config) { c.UDPBufferSize = 10 }},
		{"DelegateProtocolVersion", func(c *Config) { c.DelegateProtocolVersion = 3 }},
		{"ReconnectInterval", func(c *Config) { c.ReconnectInterval = -time.Second }},
	}
	for _, tt := range tests {
		c := DefaultLANConfig()
		c.Name = "n1"
		tt.edit(c)
		err := c.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("Validate() with a bad %s = %v; want a *ConfigError naming %s", tt.field, err, tt.field)
		}
	}
}

// TestAdvertise: the advertised address defaults to the bind address, and
// each part can be replaced alone.
func TestAdvertise(t *testing.T) {
	c := DefaultLocalConfig()
	c.BindAddr, c.BindPort = "127.0.0.1", 7000
	if _, adv, err := c.addresses(); err != nil || adv.String() != "127.0.0.1:7000" {
		t.Errorf("advertised = %v, %v; want 127.0.0.1:7000", adv, err)
	}
	c.AdvertisePort = 7100 // ignored without AdvertiseAddr, as in memberlist
	if _, adv, err := c.addresses(); err != nil || adv.String() != "127.0.0.1:7000" {
		t.Errorf("advertised = %v, %v; want 127.0.0.1:7000", adv, err)
	}
	c.AdvertiseAddr = "10.0.0.9"
	if _, adv, err := c.addresses(); err != nil || adv.String() != "10.0.0.9:7100" {
		t.Errorf("advertised = %v, %v; want 10.0.0.9:7100", adv, err)
	}
}

// TestPacketOverhead follows memberlist's piggyback budget: the label
// header always, encryption only when output is encrypted.
func TestPacketOverhead(t *testing.T) {
	c := DefaultLANConfig()
	if got := c.packetOverhead(); got != 0 {
		t.Errorf("plain: got %d, want 0", got)
	}
	c.Label = "prod"
	c.SecretKey = make([]byte, 16)
	if got := c.packetOverhead(); got != 6+29 {
		t.Errorf("label prod + AES-GCM v1: got %d, want %d", got, 6+29)
	}
	c.GossipVerifyOutgoing = false
	if got := c.packetOverhead(); got != 6 {
		t.Errorf("label, unencrypted output: got %d, want 6", got)
	}
}
