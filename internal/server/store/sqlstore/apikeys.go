package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	k, err := s.prepareAPIKey(k)
	if err != nil {
		return store.APIKey{}, err
	}
	if err := s.inWriteTx(ctx, func(tx *sql.Tx) error { return s.insertAPIKey(ctx, tx, k) }); err != nil {
		return store.APIKey{}, err
	}
	return k, nil
}

// CreateFirstAPIKey counts and inserts in one write transaction that first takes
// the startup lock, so that servers starting together on one empty database
// install one key between them: on SQLite the write transaction is exclusive
// already, on PostgreSQL the lock makes the second transaction wait and then
// count the first one's key.
func (s *Store) CreateFirstAPIKey(ctx context.Context, k store.APIKey) (bool, error) {
	k, err := s.prepareAPIKey(k)
	if err != nil {
		return false, err
	}
	created := false
	err = s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := lockStartup(ctx, tx, s.dialect); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		created = true
		return s.insertAPIKey(ctx, tx, k)
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// prepareAPIKey fills the id (when empty) and the creation time, and checks and
// orders the roles.
func (s *Store) prepareAPIKey(k store.APIKey) (store.APIKey, error) {
	if k.ID == "" {
		k.ID = "k_" + store.RandomToken() + store.RandomToken()
	}
	seen := map[string]bool{}
	for i, rb := range k.Roles {
		if seen[rb.SpaceID] {
			return store.APIKey{}, &store.ConflictError{Field: fmt.Sprintf("roles[%d].space_id", i), Reason: "more than one role on the same space"}
		}
		seen[rb.SpaceID] = true
	}
	k.Roles = sortRoles(k.Roles)
	k.CreatedAt = s.nowUTC()
	return k, nil
}

// insertAPIKey writes a prepared key and its roles in tx.
func (s *Store) insertAPIKey(ctx context.Context, tx *sql.Tx, k store.APIKey) error {
	for _, rb := range k.Roles {
		if err := requireSpace(ctx, tx, rb.SpaceID); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4)`,
		k.ID, k.Name, hex.EncodeToString(k.SecretHash), formatTime(k.CreatedAt))
	if err != nil {
		return s.constraintError(err, func() error { return &store.ConflictError{Field: "id", Reason: "an API key with this id exists"} }, nil)
	}
	for _, rb := range k.Roles {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_key_roles (api_key_id, space_id, role) VALUES ($1, $2, $3)`, k.ID, rb.SpaceID, string(rb.Role))
		if err != nil {
			return s.constraintError(err, nil, func() error { return notFound("space", rb.SpaceID) })
		}
	}
	return nil
}

func sortRoles(roles []store.RoleBinding) []store.RoleBinding {
	out := append([]store.RoleBinding{}, roles...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].SpaceID < out[j].SpaceID })
	return out
}

func (s *Store) GetAPIKey(ctx context.Context, id string) (store.APIKey, error) {
	var k store.APIKey
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		keys, err := s.queryAPIKeys(ctx, tx, ` WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return notFound("api_key", id)
		}
		k = keys[0]
		return nil
	})
	return k, err
}

func (s *Store) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	var keys []store.APIKey
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		keys, err = s.queryAPIKeys(ctx, tx, ``)
		return err
	})
	return keys, err
}

func (s *Store) queryAPIKeys(ctx context.Context, q queryer, where string, args ...any) ([]store.APIKey, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, secret_hash, created_at FROM api_keys`+where+` ORDER BY `+s.dialect.orderByName("id"), args...)
	if err != nil {
		return nil, err
	}
	keys := []store.APIKey{}
	index := map[string]int{}
	for rows.Next() {
		var (
			k                   store.APIKey
			secretHash, created string
		)
		if err := rows.Scan(&k.ID, &k.Name, &secretHash, &created); err != nil {
			rows.Close()
			return nil, err
		}
		if k.SecretHash, err = hex.DecodeString(secretHash); err != nil {
			rows.Close()
			return nil, fmt.Errorf("api key %q: stored hash is not hex", k.ID)
		}
		if k.CreatedAt, err = parseTime(created); err != nil {
			rows.Close()
			return nil, err
		}
		k.Roles = []store.RoleBinding{}
		index[k.ID] = len(keys)
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return keys, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT api_key_id, space_id, role FROM api_key_roles
		WHERE api_key_id IN (SELECT id FROM api_keys`+where+`) ORDER BY api_key_id, `+s.dialect.bytes("space_id"), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var keyID, spaceID, role string
		if err := rows.Scan(&keyID, &spaceID, &role); err != nil {
			return nil, err
		}
		i := index[keyID]
		keys[i].Roles = append(keys[i].Roles, store.RoleBinding{SpaceID: spaceID, Role: store.Role(role)})
	}
	return keys, rows.Err()
}

func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE id = $1`, id)
		if err != nil {
			return err
		}
		return mustAffect(res, "api_key", id)
	})
}

func (s *Store) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	err := s.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n)
	return n, err
}

func mustAffect(res sql.Result, kind, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(kind, id)
	}
	return nil
}
