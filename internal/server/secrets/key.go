// Package secrets owns everything sealed: the box that seals credentials, webhook
// secrets and stored idempotent answers (each bound to where it lives by its
// associated data), the secret key (given, or read from a key file), the check
// that the key is the database's, and rekey. It may import store and secretbox.
package secrets

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// keyCheckText is the known plaintext of the key check value.
const keyCheckText = "orbit-server secret key check v1"

func keyCheckAD() []byte { return secretbox.AssociatedData("key_check", "secret_key") }

// sealedAD is the associated data a stored sealed value was sealed with, derived
// from where it lives: the one mapping from store.SealedValue to the sealing rules.
func sealedAD(v store.SealedValue) ([]byte, error) {
	switch {
	case v.Kind == store.SealedKindKeyCheck:
		return keyCheckAD(), nil
	case v.Kind == store.SealedKindIntegration && v.Field == store.SealedFieldCredential:
		return credentialAD(v.ID), nil
	case v.Kind == store.SealedKindIntegration &&
		(v.Field == store.SealedFieldWebhookSecret || v.Field == store.SealedFieldPreviousWebhookSecret):
		return webhookSecretAD(v.ID), nil
	}
	return nil, fmt.Errorf("no sealing rule for %s %s", v.Kind, v.Field)
}

// ErrKeyMismatch is returned by Open (and so by server.New) when the secret key does not open the data
// already in the database.
var ErrKeyMismatch = errors.New("the secret key does not match this database")

// keyMismatch explains what to do; it names the key's source, never the key.
func keyMismatch(source, why string) error {
	return fmt.Errorf("%w: %s. Start orbit-server with the key this database was sealed with (%s); "+
		"to change keys, run `orbit-server rekey` with the old key; a key file ending in .new next to the "+
		"database may be the result of an interrupted rekey", ErrKeyMismatch, why, source)
}

// resolveSecretKey returns secretKey, or reads keyFile, creating it with a new key
// only when the database holds no sealed data yet: a new key would open none of it.
func resolveSecretKey(ctx context.Context, st store.Store, secretKey []byte, keyFile string) ([]byte, string, error) {
	if secretKey != nil {
		return secretKey, "the configured key (" + secretbox.EnvVar + ")", nil
	}
	if keyFile == "" {
		return nil, "", errors.New("secret key: neither a key nor a key file is configured")
	}
	source := "the key file " + keyFile
	if _, err := os.Stat(keyFile); errors.Is(err, fs.ErrNotExist) {
		sealed, err := holdsSealedData(ctx, st)
		if err != nil {
			return nil, "", fmt.Errorf("secret key: %w", err)
		}
		if sealed {
			return nil, "", fmt.Errorf("%w: the key file %s does not exist, but the database already holds data "+
				"sealed with a secret key. Restore the key file from a backup, or set %s to the key; orbit-server "+
				"does not create a new key, which would open none of the stored credentials",
				ErrKeyMismatch, keyFile, secretbox.EnvVar)
		}
	}
	key, _, err := secretbox.LoadOrCreateKeyFile(keyFile)
	if err != nil {
		return nil, "", err
	}
	return key, source, nil
}

func holdsSealedData(ctx context.Context, st store.Store) (bool, error) {
	if _, err := st.KeyCheck(ctx); err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	vals, err := st.SealedValues(ctx, 1)
	return len(vals) > 0, err
}

// checkSecretKey opens the key check value stored in the database, storing one
// first when there is none (a new database, or one from before key checks, whose
// sealed values must then open with the key). Any failure means the key is not the
// database's: the server must not start, since everything it sealed would be
// unreadable once the right key is back.
func checkSecretKey(ctx context.Context, st store.Store, box sealer, source string) error {
	sealed, err := st.KeyCheck(ctx)
	if errors.Is(err, store.ErrNotFound) {
		vals, err := st.SealedValues(ctx, 1)
		if err != nil {
			return fmt.Errorf("secret key check: %w", err)
		}
		for _, v := range vals {
			ad, err := sealedAD(v)
			if err != nil {
				return err
			}
			if _, err := box.Open(v.Sealed, ad); err != nil {
				return keyMismatch(source, fmt.Sprintf("it does not open the stored %s of %s %s", v.Field, v.Kind, v.ID))
			}
		}
		fresh, err := box.Seal([]byte(keyCheckText), keyCheckAD())
		if err != nil {
			return fmt.Errorf("secret key check: %w", err)
		}
		if sealed, err = st.InitKeyCheck(ctx, fresh); err != nil {
			return fmt.Errorf("secret key check: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("secret key check: %w", err)
	}
	plain, err := box.Open(sealed, keyCheckAD())
	if err != nil || subtle.ConstantTimeCompare(plain, []byte(keyCheckText)) != 1 {
		return keyMismatch(source, "it does not open the key check value stored in the database")
	}
	return nil
}

// sealer is what this package needs of secretbox.
type sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Open resolves the secret key (secretKey, or the key file) and proves it is the
// database's (see checkSecretKey) before anything is sealed or opened with it.
func Open(ctx context.Context, st store.Store, secretKey []byte, keyFile string) (*Box, error) {
	key, source, err := resolveSecretKey(ctx, st, secretKey, keyFile)
	if err != nil {
		return nil, err
	}
	sb, err := secretbox.New(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if err := checkSecretKey(ctx, st, sb, source); err != nil {
		return nil, err
	}
	return &Box{box: sb, key: key}, nil
}
