package secrets

import (
	"context"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// RekeyResult says what Rekey changed.
type RekeyResult struct {
	// Resealed counts the sealed values now sealed with the new key (the key check
	// included).
	Resealed int
	// DroppedIdempotency counts stored idempotency answers deleted: their request
	// hashes were keyed with the old key.
	DroppedIdempotency int
}

// Rekey re-seals every secret in st with newKey, in one transaction, after proving
// oldKey is the database's key. No server may be running on the database: one
// would go on sealing with the old key.
func Rekey(ctx context.Context, st store.Store, oldKey, newKey []byte) (RekeyResult, error) {
	oldBox, err := secretbox.New(oldKey)
	if err != nil {
		return RekeyResult{}, fmt.Errorf("old secret key: %w", err)
	}
	newBox, err := secretbox.New(newKey)
	if err != nil {
		return RekeyResult{}, fmt.Errorf("new secret key: %w", err)
	}
	if err := checkSecretKey(ctx, st, oldBox, "the old key"); err != nil {
		return RekeyResult{}, err
	}
	resealed, dropped, err := st.Reseal(ctx, func(v store.SealedValue) ([]byte, error) {
		ad, err := sealedAD(v)
		if err != nil {
			return nil, err
		}
		plain, err := oldBox.Open(v.Sealed, ad)
		if err != nil {
			return nil, fmt.Errorf("the %s of %s %s does not open with the old key (nothing was changed): %w", v.Field, v.Kind, v.ID, err)
		}
		return newBox.Seal(plain, ad)
	})
	if err != nil {
		return RekeyResult{}, fmt.Errorf("rekey: %w", err)
	}
	return RekeyResult{Resealed: resealed, DroppedIdempotency: dropped}, nil
}
