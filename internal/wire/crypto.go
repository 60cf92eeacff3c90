package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
)

// AES-GCM envelope: version byte, 12-byte nonce, ciphertext, 16-byte tag.
const (
	nonceLen = 12
	tagLen   = 16
	// EncryptVersion0 pads the plaintext (PKCS#7) to the AES block size; a
	// memberlist node at protocol version 1 sends it.
	EncryptVersion0 = 0
	// EncryptVersion1 sends the plaintext unpadded; memberlist's default.
	EncryptVersion1 = 1
)

// EncryptOverhead is the most bytes encryption adds to a message of the
// given version, as memberlist budgets it.
func EncryptOverhead(version uint8) int {
	if version == EncryptVersion0 {
		return 1 + nonceLen + aes.BlockSize + tagLen
	}
	return 1 + nonceLen + tagLen
}

// encryptedLen is the exact length of an encrypted n-byte plaintext.
func encryptedLen(version uint8, n int) int {
	if version == EncryptVersion0 {
		return 1 + nonceLen + n + (aes.BlockSize - n%aes.BlockSize) + tagLen
	}
	return 1 + nonceLen + n + tagLen
}

// Keyring holds the AES keys a node accepts, primary first. Messages are
// encrypted with the primary key and decrypted with whichever key works.
//
// A Keyring is not safe for concurrent mutation; a runtime that changes keys
// while packets flow should swap in a modified Clone.
type Keyring struct {
	keys  [][]byte
	aeads []cipher.AEAD
}

// ValidateKey reports whether key can be used: 16, 24 or 32 bytes.
func ValidateKey(key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return fmt.Errorf("wire: key is %d bytes, want 16, 24 or 32", len(key))
}

// NewKeyring returns a keyring holding keys; the first is the primary.
// Duplicates are dropped.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("wire: keyring needs at least one key")
	}
	k := &Keyring{}
	for _, key := range keys {
		if err := k.AddKey(key); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Clone returns an independent copy of k.
func (k *Keyring) Clone() *Keyring {
	return &Keyring{keys: slices.Clone(k.keys), aeads: slices.Clone(k.aeads)}
}

// Keys returns copies of the installed keys, primary first.
func (k *Keyring) Keys() [][]byte {
	out := make([][]byte, len(k.keys))
	for i, key := range k.keys {
		out[i] = slices.Clone(key)
	}
	return out
}

// Primary returns a copy of the key used to encrypt.
func (k *Keyring) Primary() []byte {
	if len(k.keys) == 0 {
		return nil
	}
	return slices.Clone(k.keys[0])
}

func (k *Keyring) index(key []byte) int {
	return slices.IndexFunc(k.keys, func(have []byte) bool { return bytes.Equal(have, key) })
}

// AddKey installs key for decryption; it becomes primary only on an empty
// keyring. Adding an installed key does nothing.
func (k *Keyring) AddKey(key []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if k.index(key) >= 0 {
		return nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("wire: new cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("wire: new gcm: %w", err)
	}
	k.keys = append(k.keys, slices.Clone(key))
	k.aeads = append(k.aeads, aead)
	return nil
}

// UseKey makes an installed key the primary.
func (k *Keyring) UseKey(key []byte) error {
	i := k.index(key)
	if i < 0 {
		return errors.New("wire: key is not in the keyring")
	}
	key, aead := k.keys[i], k.aeads[i]
	k.keys = append([][]byte{key}, slices.Delete(k.keys, i, i+1)...)
	k.aeads = append([]cipher.AEAD{aead}, slices.Delete(k.aeads, i, i+1)...)
	return nil
}

// RemoveKey uninstalls a key. The primary key cannot be removed.
func (k *Keyring) RemoveKey(key []byte) error {
	i := k.index(key)
	switch {
	case i == 0:
		return errors.New("wire: cannot remove the primary key")
	case i < 0:
		return nil
	}
	k.keys = slices.Delete(k.keys, i, i+1)
	k.aeads = slices.Delete(k.aeads, i, i+1)
	return nil
}

// appendSealed encrypts plaintext, which must be the tail of dst starting at
// ptStart and must be preceded by the version byte and the nonce, in place.
// It returns dst with the plaintext replaced by padding-free ciphertext and
// tag.
func (k *Keyring) appendSealed(dst []byte, ptStart int, version uint8, aad []byte) []byte {
	if version == EncryptVersion0 {
		pad := aes.BlockSize - (len(dst)-ptStart)%aes.BlockSize
		for range pad {
			dst = append(dst, byte(pad))
		}
	}
	dst = slices.Grow(dst, tagLen)
	nonce := dst[ptStart-nonceLen : ptStart]
	sealed := k.aeads[0].Seal(dst[ptStart:ptStart], nonce, dst[ptStart:], aad)
	return dst[:ptStart+len(sealed)]
}

// appendEnvelopeHead appends the version byte and a fresh nonce read from
// rnd (crypto/rand when nil) and returns the offset where plaintext starts.
func appendEnvelopeHead(dst []byte, version uint8, rnd io.Reader) ([]byte, int, error) {
	if version > EncryptVersion1 {
		return dst, 0, fmt.Errorf("wire: encryption version %d, want 0 or 1", version)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	dst = append(dst, version)
	start := len(dst)
	dst = append(dst, make([]byte, nonceLen)...)
	if _, err := io.ReadFull(rnd, dst[start:]); err != nil {
		return dst, 0, fmt.Errorf("wire: read nonce: %w", err)
	}
	return dst, len(dst), nil
}

// open decrypts an envelope (version, nonce, ciphertext, tag) with each key
// in turn. It returns fresh plaintext, padding removed, and the index of the
// key that opened it.
func (k *Keyring) open(env []byte, aad []byte, layer string) (plain []byte, version uint8, keyIndex int, err error) {
	if len(env) == 0 {
		return nil, 0, -1, newError(layer, 0, ErrTruncated, "empty encrypted payload")
	}
	version = env[0]
	if version > EncryptVersion1 {
		return nil, version, -1, newError(layer, 0, ErrBadEncryptVersion, fmt.Sprintf("version %d", version))
	}
	if len(env) < encryptedLen(version, 0) {
		return nil, version, -1, newError(layer, 0, ErrTruncated, fmt.Sprintf("%d bytes is too short to decrypt", len(env)))
	}
	nonce := env[1 : 1+nonceLen]
	for i, aead := range k.aeads {
		plain, err := aead.Open(nil, nonce, env[1+nonceLen:], aad)
		if err != nil {
			continue
		}
		if version == EncryptVersion0 {
			// memberlist strips the pad without checking it; so do we, but
			// refuse a pad longer than the plaintext instead of panicking.
			pad := 0
			if len(plain) > 0 {
				pad = int(plain[len(plain)-1])
			}
			if len(plain) == 0 || pad > len(plain) {
				return nil, version, i, newError(layer, 0, ErrMalformed, "bad padding")
			}
			plain = plain[:len(plain)-pad]
		}
		return plain, version, i, nil
	}
	return nil, version, -1, newError(layer, 0, ErrNoKey, fmt.Sprintf("tried %d keys", len(k.aeads)))
}
