// Package secretbox seals orbit-server's secrets at rest (integration
// credentials, webhook secrets) with AES-256-GCM.
//
// A sealed value is: one format byte (1), a random 12-byte nonce, then the
// GCM ciphertext and tag. Callers pass associated data naming where the value
// belongs (e.g. the integration and the field), so a ciphertext copied to
// another row or field fails to open instead of decrypting there.
// Errors never carry plaintext, ciphertext or key material.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// formatV1 marks AES-256-GCM with a 12-byte random nonce. A later format (or
// key rotation scheme) gets a new byte, so old values stay readable.
const formatV1 byte = 1

const nonceSize = 12

var (
	// ErrOpen is returned when a sealed value does not authenticate: wrong key,
	// wrong associated data, or tampered bytes. It says no more, on purpose.
	ErrOpen = errors.New("secretbox: sealed value does not authenticate")
	// ErrFormat is returned for a value too short or of an unknown format.
	ErrFormat = errors.New("secretbox: not a sealed value of a known format")
)

// Box seals and opens with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to associatedData. Each call draws a fresh
// nonce, so sealing one plaintext twice gives different bytes.
func (b *Box) Seal(plaintext, associatedData []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+b.aead.Overhead())
	out[0] = formatV1
	if _, err := rand.Read(out[1 : 1+nonceSize]); err != nil {
		return nil, fmt.Errorf("secretbox: random nonce: %w", err)
	}
	return b.aead.Seal(out, out[1:1+nonceSize], plaintext, associatedData), nil
}

// Open decrypts a value from Seal with the same associatedData.
func (b *Box) Open(sealed, associatedData []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+b.aead.Overhead() || sealed[0] != formatV1 {
		return nil, ErrFormat
	}
	plaintext, err := b.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], associatedData)
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}

// AssociatedData joins parts unambiguously (each is length-prefixed), e.g.
// AssociatedData("integration", id, "credential"): ("ab","c") and ("a","bc")
// give different bytes.
func AssociatedData(parts ...string) []byte {
	var out []byte
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}
