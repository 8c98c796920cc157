package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

func (s *Store) Idempotent(ctx context.Context, rec store.IdempotencyRecord, write func(ctx context.Context) (store.IdempotencyRecord, error)) (store.IdempotencyRecord, bool, error) {
	var out store.IdempotencyRecord
	replayed := false
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		now := s.nowUTC()
		cutoff := formatTime(now.Add(-store.IdempotencyTTL))
		// Expired records go first, so that an old key is free again and the table
		// stays bounded by a day of creates.
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, cutoff); err != nil {
			return err
		}
		existing, ok, err := getIdempotencyRecord(ctx, tx, rec.APIKeyID, rec.Key, cutoff)
		if err != nil {
			return err
		}
		if ok {
			out, replayed = existing, true
			return nil
		}
		answer, err := write(context.WithValue(ctx, txKey{s}, tx))
		if err != nil {
			return err
		}
		out = store.IdempotencyRecord{
			APIKeyID:       rec.APIKeyID,
			Key:            rec.Key,
			RequestHash:    rec.RequestHash,
			Status:         answer.Status,
			SealedResponse: answer.SealedResponse,
			CreatedAt:      now,
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_hash, status, sealed_response, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			out.APIKeyID, out.Key, out.RequestHash, int64(out.Status), encodeSealed(out.SealedResponse), formatTime(out.CreatedAt))
		if err != nil {
			return s.constraintError(err,
				func() error { return errIdempotencyRace },
				func() error { return notFound("api_key", rec.APIKeyID) })
		}
		return nil
	})
	if errors.Is(err, errIdempotencyRace) {
		// A concurrent request with the same key committed first (possible where
		// writers are not serialized, as on PostgreSQL): ours was rolled back, so
		// answer with the winner's record.
		got, getErr := s.GetIdempotencyRecord(ctx, rec.APIKeyID, rec.Key)
		if getErr != nil {
			return store.IdempotencyRecord{}, false, getErr
		}
		return got, true, nil
	}
	if err != nil {
		return store.IdempotencyRecord{}, false, err
	}
	return out, replayed, nil
}

var errIdempotencyRace = errors.New("idempotency key inserted concurrently")

func (s *Store) GetIdempotencyRecord(ctx context.Context, apiKeyID, key string) (store.IdempotencyRecord, error) {
	var out store.IdempotencyRecord
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		cutoff := formatTime(s.nowUTC().Add(-store.IdempotencyTTL))
		got, ok, err := getIdempotencyRecord(ctx, tx, apiKeyID, key, cutoff)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("idempotency_key", key)
		}
		out = got
		return nil
	})
	return out, err
}

func getIdempotencyRecord(ctx context.Context, q queryer, apiKeyID, key, cutoff string) (store.IdempotencyRecord, bool, error) {
	var rec store.IdempotencyRecord
	var status int64
	var sealed, created string
	err := q.QueryRowContext(ctx, `SELECT request_hash, status, sealed_response, created_at FROM idempotency_keys
		WHERE api_key_id = $1 AND idempotency_key = $2 AND created_at >= $3`, apiKeyID, key, cutoff).
		Scan(&rec.RequestHash, &status, &sealed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	rec.APIKeyID, rec.Key, rec.Status = apiKeyID, key, int(status)
	if rec.SealedResponse, err = decodeSealed(sealed); err != nil {
		return rec, false, fmt.Errorf("idempotency record: sealed response: %w", err)
	}
	if rec.CreatedAt, err = parseTime(created); err != nil {
		return rec, false, err
	}
	return rec, true, nil
}
