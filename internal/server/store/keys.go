package store

import "context"

// SealedValue is one sealed secret the store holds, named by where it lives:
// Kind and ID name the row ("integration" and its id, or "key_check"), Field the
// column's purpose ("credential", "webhook_secret", "previous_webhook_secret";
// "" for the key check). The server derives each value's associated data from
// these names; the store never opens anything.
type SealedValue struct {
	Kind   string
	ID     string
	Field  string
	Sealed []byte
}

// Kinds and fields of SealedValue.
const (
	SealedKindKeyCheck    = "key_check"
	SealedKindIntegration = "integration"

	SealedFieldCredential            = "credential"
	SealedFieldWebhookSecret         = "webhook_secret"
	SealedFieldPreviousWebhookSecret = "previous_webhook_secret"
)

// KeyStore keeps what ties the stored secrets to one secret key.
type KeyStore interface {
	// KeyCheck returns the sealed key check value; ErrNotFound when none is stored.
	KeyCheck(ctx context.Context) ([]byte, error)
	// InitKeyCheck stores sealed as the key check value unless one is stored, and
	// returns the value now stored: sealed, or the one another server stored first.
	InitKeyCheck(ctx context.Context, sealed []byte) ([]byte, error)
	// SealedValues returns up to limit stored sealed values other than the key
	// check (empty ones are not values), in a stable order.
	SealedValues(ctx context.Context, limit int) ([]SealedValue, error)
	// Reseal replaces every sealed value, the key check included, with what
	// reseal returns for it, in one transaction: when reseal fails for any value,
	// nothing changes. Stored idempotency answers are deleted in the same
	// transaction instead: their request hashes are keyed with the old key and could
	// never match again. It returns how many values it replaced and how many
	// idempotency answers it deleted.
	Reseal(ctx context.Context, reseal func(SealedValue) ([]byte, error)) (resealed, dropped int, err error)
	// ProbeWrite commits one small write that changes nothing (it rewrites the key
	// check row with itself): it fails when the database cannot write (read-only,
	// disk full), which a ping does not show.
	ProbeWrite(ctx context.Context) error
}
