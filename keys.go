package rumor

import (
	"errors"
	"fmt"

	"github.com/rumorproject/rumor/internal/wire"
)

// ErrNoEncryption is returned by the key calls of a node created without
// SecretKey: its cluster does not encrypt.
var ErrNoEncryption = errors.New("rumor: encryption is not enabled (no SecretKey)")

// enc is how this node encodes packets and streams now.
func (n *Node) enc() wire.EncodeOptions {
	o := wire.EncodeOptions{Label: n.cfg.Label, EncryptVersion: wire.EncryptVersion1, Compress: n.cfg.EnableCompression}
	if n.cfg.GossipVerifyOutgoing {
		o.Keyring = n.keyring.Load()
	}
	return o
}

// dec is what this node accepts now.
func (n *Node) dec() wire.DecodeOptions {
	return wire.DecodeOptions{Label: n.cfg.Label, Keyring: n.keyring.Load(), AllowPlaintext: !n.cfg.GossipVerifyIncoming}
}

// Keys lists the keys of the keyring, the primary (used to encrypt)
// first.
func (n *Node) Keys() [][]byte {
	if k := n.keyring.Load(); k != nil {
		return k.Keys()
	}
	return nil
}

// InstallKey adds a key that can decrypt; rotate by installing the new key
// everywhere, then UseKey everywhere, then RemoveKey of the old one.
func (n *Node) InstallKey(key []byte) error {
	return n.changeKeys("install", func(k *wire.Keyring) error { return k.AddKey(key) })
}

// UseKey makes an installed key the primary one, used to encrypt.
func (n *Node) UseKey(key []byte) error {
	return n.changeKeys("use", func(k *wire.Keyring) error { return k.UseKey(key) })
}

// RemoveKey drops a key that is not the primary one.
func (n *Node) RemoveKey(key []byte) error {
	return n.changeKeys("remove", func(k *wire.Keyring) error { return k.RemoveKey(key) })
}

// changeKeys applies change to a copy of the keyring and publishes it.
func (n *Node) changeKeys(what string, change func(*wire.Keyring) error) error {
	n.keyMu.Lock()
	defer n.keyMu.Unlock()
	cur := n.keyring.Load()
	if cur == nil {
		return ErrNoEncryption
	}
	next := cur.Clone()
	if err := change(next); err != nil {
		return fmt.Errorf("rumor: %s key: %w", what, err)
	}
	n.keyring.Store(next)
	return nil
}
