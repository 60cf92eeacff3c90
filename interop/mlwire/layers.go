package mlwire

import (
	"bytes"
	"compress/lzw"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
)

// LZWCompress compresses p the way the Buf of a Compress value is
// compressed: LZW with LSB bit order and 8-bit literals.
func LZWCompress(p []byte) []byte {
	var buf bytes.Buffer
	w := lzw.NewWriter(&buf, lzw.LSB, 8)
	_, _ = w.Write(p)
	_ = w.Close()
	return buf.Bytes()
}

// LZWDecompress undoes LZWCompress.
func LZWDecompress(p []byte) ([]byte, error) {
	r := lzw.NewReader(bytes.NewReader(p), lzw.LSB, 8)
	defer r.Close()
	return io.ReadAll(r)
}

// Sizes in an encryption envelope: "version | nonce | ciphertext | tag",
// where version 0 pads the plaintext (PKCS#7) to a multiple of PadBlock
// bytes and version 1 does not pad.
const (
	NonceSize = 12
	TagSize   = 16
	PadBlock  = 16
)

// NewGCM returns AES-GCM for key, with a new cipher on every call.
func NewGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Open decrypts an envelope with the first of keys that authenticates it
// (with aad as additional data) and returns the plaintext. For version 0
// it checks the padding, every byte of it, before stripping it. The
// version is env[0] and the nonce env[1:1+NonceSize].
func Open(keys [][]byte, env, aad []byte) ([]byte, error) {
	if len(env) < 1+NonceSize+TagSize {
		return nil, fmt.Errorf("encrypted blob too short (%d bytes)", len(env))
	}
	vsn := env[0]
	if vsn > 1 {
		return nil, fmt.Errorf("unknown encryption version %d", vsn)
	}
	nonce := env[1 : 1+NonceSize]
	var lastErr error
	for _, k := range keys {
		g, err := NewGCM(k)
		if err != nil {
			return nil, err
		}
		plain, err := g.Open(nil, nonce, env[1+NonceSize:], aad)
		if err != nil {
			lastErr = err
			continue
		}
		if vsn == 0 {
			return unpad(plain)
		}
		return plain, nil
	}
	return nil, fmt.Errorf("no key opens the encrypted blob: %v", lastErr)
}

// unpad validates and strips version 0's PKCS#7 padding.
func unpad(plain []byte) ([]byte, error) {
	if len(plain) == 0 || len(plain)%PadBlock != 0 {
		return nil, fmt.Errorf("v0 plaintext length %d is not a positive multiple of %d", len(plain), PadBlock)
	}
	p := int(plain[len(plain)-1])
	if p < 1 || p > PadBlock {
		return nil, fmt.Errorf("bad v0 padding byte %d", p)
	}
	for _, c := range plain[len(plain)-p:] {
		if int(c) != p {
			return nil, errors.New("inconsistent v0 padding")
		}
	}
	return plain[:len(plain)-p], nil
}
