package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// sealedColumn is one column holding sealed values. Every sealed column of the
// schema is listed here, so that Reseal (orbit-server rekey) re-seals all of them;
// a test compares this list with the schema.
type sealedColumn struct {
	table, column string
	kind, field   string
}

const keyCheckID = "secret_key"

var sealedColumns = []sealedColumn{
	{"integrations", "sealed_credential", store.SealedKindIntegration, store.SealedFieldCredential},
	{"integrations", "sealed_webhook_secret", store.SealedKindIntegration, store.SealedFieldWebhookSecret},
	{"integrations", "previous_sealed_webhook_secret", store.SealedKindIntegration, store.SealedFieldPreviousWebhookSecret},
}

var keyCheckColumn = sealedColumn{"key_check", "sealed", store.SealedKindKeyCheck, ""}

// droppedOnReseal are sealed columns of rows Reseal deletes rather than re-seals.
var droppedOnReseal = []string{"idempotency_keys.sealed_response"}

// SealedColumns names every table.column the store keeps sealed values in, the key
// check and the ones Reseal drops included (for the test that holds the list to the
// schema).
func SealedColumns() []string {
	var out []string
	for _, c := range append(append([]sealedColumn{}, sealedColumns...), keyCheckColumn) {
		out = append(out, c.table+"."+c.column)
	}
	return append(out, droppedOnReseal...)
}

func (s *Store) KeyCheck(ctx context.Context) ([]byte, error) {
	var v string
	err := s.reader.QueryRowContext(ctx, `SELECT sealed FROM key_check WHERE id = $1`, keyCheckID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return decodeSealed(v)
}

func (s *Store) InitKeyCheck(ctx context.Context, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 {
		return nil, errors.New("key check: empty sealed value")
	}
	var stored string
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO key_check (id, sealed, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO NOTHING`, keyCheckID, encodeSealed(sealed), formatTime(s.nowUTC())); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT sealed FROM key_check WHERE id = $1`, keyCheckID).Scan(&stored)
	})
	if err != nil {
		return nil, fmt.Errorf("key check: %w", err)
	}
	return decodeSealed(stored)
}

func (s *Store) SealedValues(ctx context.Context, limit int) ([]store.SealedValue, error) {
	var out []store.SealedValue
	for _, c := range sealedColumns {
		if len(out) >= limit {
			break
		}
		vals, err := readSealed(ctx, s.reader, c, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, vals...)
	}
	return out, nil
}

func (s *Store) Reseal(ctx context.Context, reseal func(store.SealedValue) ([]byte, error)) (int, int, error) {
	n, dropped := 0, 0
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		n = 0
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys`)
		if err != nil {
			return err
		}
		d, err := res.RowsAffected()
		if err != nil {
			return err
		}
		dropped = int(d)
		for _, c := range append(append([]sealedColumn{}, sealedColumns...), keyCheckColumn) {
			// All values of a column are read before any is written: SQLite runs the
			// transaction on one connection, which cannot update under an open cursor.
			vals, err := readSealed(ctx, tx, c, -1)
			if err != nil {
				return err
			}
			for _, v := range vals {
				sealed, err := reseal(v)
				if err != nil {
					return err
				}
				if len(sealed) == 0 {
					return fmt.Errorf("reseal %s %s %s: empty result", v.Kind, v.ID, v.Field)
				}
				// The table and column names come from sealedColumns, never from input.
				if _, err := tx.ExecContext(ctx, `UPDATE `+c.table+` SET `+c.column+` = $1 WHERE id = $2`,
					encodeSealed(sealed), v.ID); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return n, dropped, nil
}

func (s *Store) ProbeWrite(ctx context.Context) error {
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE key_check SET created_at = created_at WHERE id = $1`, keyCheckID)
		return err
	})
}

// readSealed reads the non-empty values of one sealed column ordered by id; limit
// < 0 reads them all.
func readSealed(ctx context.Context, q queryer, c sealedColumn, limit int) ([]store.SealedValue, error) {
	query := `SELECT id, ` + c.column + ` FROM ` + c.table + ` WHERE ` + c.column + ` <> '' ORDER BY id`
	if limit >= 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SealedValue
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		sealed, err := decodeSealed(v)
		if err != nil {
			return nil, fmt.Errorf("%s.%s of %s: %w", c.table, c.column, id, err)
		}
		out = append(out, store.SealedValue{Kind: c.kind, ID: id, Field: c.field, Sealed: sealed})
	}
	return out, rows.Err()
}
