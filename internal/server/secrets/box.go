package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Box seals and opens the server's secrets with the database's key. Additional data
// binds each sealed value to its integration's immutable id and its purpose, so a
// ciphertext copied to another row or column does not open, nor does one left from
// a deleted integration in a later one of the same name.
type Box struct {
	box sealer
	key []byte
}

func credentialAD(integrationID string) []byte {
	return secretbox.AssociatedData("integration", integrationID, "credential")
}

func webhookSecretAD(integrationID string) []byte {
	return secretbox.AssociatedData("integration", integrationID, "webhook_secret")
}

func idempotencyAD(keyID, key string) []byte {
	return secretbox.AssociatedData("idempotency", keyID, key)
}

// DeriveKey gives a purpose-bound key from the secret key, so that the AES key
// itself is used only by secretbox.
func (b *Box) DeriveKey(purpose string) []byte {
	mac := hmac.New(sha256.New, b.key)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// SealCredential seals plaintext as the credential of in (whose ID must be set).
func (b *Box) SealCredential(in *store.Integration, plaintext string) (err error) {
	in.SealedCredential, err = b.box.Seal([]byte(plaintext), credentialAD(in.ID))
	return err
}

// Credential opens the stored credential of in.
func (b *Box) Credential(in store.Integration) (string, error) {
	plain, err := b.box.Open(in.SealedCredential, credentialAD(in.ID))
	if err != nil {
		return "", fmt.Errorf("open credential of integration %s: %w", in.ID, err)
	}
	return string(plain), nil
}

// NewWebhookSecret makes 32 random bytes, hex-encoded, sealed for in (whose ID must
// be set).
func (b *Box) NewWebhookSecret(in store.Integration) ([]byte, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	return b.box.Seal([]byte(hex.EncodeToString(raw[:])), webhookSecretAD(in.ID))
}

// WebhookSecret opens the current webhook secret of in.
func (b *Box) WebhookSecret(in store.Integration) (string, error) {
	plain, err := b.box.Open(in.SealedWebhookSecret, webhookSecretAD(in.ID))
	if err != nil {
		return "", fmt.Errorf("open webhook secret of integration %s: %w", in.ID, err)
	}
	return string(plain), nil
}

// PreviousWebhookSecret opens the secret a rotation replaced ("" when none).
func (b *Box) PreviousWebhookSecret(in store.Integration) (string, error) {
	if len(in.PreviousSealedWebhookSecret) == 0 {
		return "", nil
	}
	plain, err := b.box.Open(in.PreviousSealedWebhookSecret, webhookSecretAD(in.ID))
	if err != nil {
		return "", fmt.Errorf("open previous webhook secret of integration %s: %w", in.ID, err)
	}
	return string(plain), nil
}

// SealAnswer seals a stored idempotent answer for the caller's key and the
// Idempotency-Key.
func (b *Box) SealAnswer(body []byte, keyID, key string) ([]byte, error) {
	return b.box.Seal(body, idempotencyAD(keyID, key))
}

// OpenAnswer opens a stored idempotent answer.
func (b *Box) OpenAnswer(sealed []byte, keyID, key string) ([]byte, error) {
	return b.box.Open(sealed, idempotencyAD(keyID, key))
}
