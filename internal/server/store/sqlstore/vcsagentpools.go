package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

const poolColumns = `id, name, space_id, description, created_at, updated_at`

func queryPools(ctx context.Context, q queryer, query string, args ...any) ([]store.VCSAgentPool, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []store.VCSAgentPool{}
	for rows.Next() {
		var p store.VCSAgentPool
		var createdAt, updatedAt string
		if err := rows.Scan(&p.ID, &p.Name, &p.SpaceID, &p.Description, &createdAt, &updatedAt); err != nil {
			return nil, err
		}
		if p.CreatedAt, err = parseTime(createdAt); err != nil {
			return nil, err
		}
		if p.UpdatedAt, err = parseTime(updatedAt); err != nil {
			return nil, err
		}
		items = append(items, p)
	}
	return items, rows.Err()
}

func getPoolWhere(ctx context.Context, q queryer, column, value string) (store.VCSAgentPool, error) {
	items, err := queryPools(ctx, q, `SELECT `+poolColumns+` FROM vcs_agent_pools WHERE `+column+` = $1`, value)
	if err != nil {
		return store.VCSAgentPool{}, err
	}
	if len(items) == 0 {
		return store.VCSAgentPool{}, notFound("vcs_agent_pool", value)
	}
	return items[0], nil
}

func poolNameConflict() error {
	return &store.ConflictError{Field: "name", Reason: "a VCS agent pool with this name exists"}
}

func (s *Store) CreateVCSAgentPool(ctx context.Context, p store.VCSAgentPool) (store.VCSAgentPool, error) {
	if p.ID == "" {
		p.ID = store.NewID(p.Name, "pool")
	}
	p.CreatedAt = s.nowUTC()
	p.UpdatedAt = p.CreatedAt
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := requireSpace(ctx, tx, p.SpaceID); err != nil {
			return err
		}
		if _, err := getPoolWhere(ctx, tx, "name", p.Name); err == nil {
			return poolNameConflict()
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := getPoolWhere(ctx, tx, "id", p.ID); err == nil {
			return &store.ConflictError{Field: "id", Reason: "a VCS agent pool with this id exists"}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO vcs_agent_pools (`+poolColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			p.ID, p.Name, p.SpaceID, p.Description, formatTime(p.CreatedAt), formatTime(p.UpdatedAt))
		// A concurrent writer on a shared database: the unique index on name (the
		// id was checked in this transaction too, and ids are random).
		return s.constraintError(err, poolNameConflict, func() error { return notFound("space", p.SpaceID) })
	})
	if err != nil {
		return store.VCSAgentPool{}, err
	}
	return p, nil
}

func (s *Store) GetVCSAgentPool(ctx context.Context, id string) (store.VCSAgentPool, error) {
	return getPoolWhere(ctx, s.reader, "id", id)
}

func (s *Store) GetVCSAgentPoolByName(ctx context.Context, name string) (store.VCSAgentPool, error) {
	return getPoolWhere(ctx, s.reader, "name", name)
}

func (s *Store) ListVCSAgentPools(ctx context.Context, f store.ListFilter) ([]store.VCSAgentPool, string, error) {
	if len(f.Labels) > 0 {
		return []store.VCSAgentPool{}, "", nil // pools carry no labels
	}
	q, ok, err := s.newListQuery(f, "space_id", labelTable{}, "id")
	if err != nil || !ok {
		return []store.VCSAgentPool{}, "", err
	}
	items, err := queryPools(ctx, s.reader, `SELECT `+poolColumns+` FROM vcs_agent_pools`+q.suffix("id"), q.args...)
	if err != nil {
		return nil, "", err
	}
	items, next := page(items, q.limit, func(p store.VCSAgentPool) (string, string) { return p.Name, p.ID })
	return items, next, nil
}

func (s *Store) UpdateVCSAgentPool(ctx context.Context, p store.VCSAgentPool) (store.VCSAgentPool, error) {
	var out store.VCSAgentPool
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := getPoolWhere(ctx, tx, "id", p.ID); err != nil {
			return err
		}
		if err := requireSpace(ctx, tx, p.SpaceID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE vcs_agent_pools SET space_id = $1, description = $2, updated_at = $3 WHERE id = $4`,
			p.SpaceID, p.Description, formatTime(s.nowUTC()), p.ID)
		if err != nil {
			return s.constraintError(err, nil, func() error { return notFound("space", p.SpaceID) })
		}
		out, err = getPoolWhere(ctx, tx, "id", p.ID)
		return err
	})
	if err != nil {
		return store.VCSAgentPool{}, err
	}
	return out, nil
}

// privateHostPrefix is how an integration's api_host names a pool.
const privateHostPrefix = "private://"

func (s *Store) DeleteVCSAgentPool(ctx context.Context, id string) error {
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		p, err := getPoolWhere(ctx, tx, "id", id)
		if err != nil {
			return err
		}
		var name string
		err = tx.QueryRowContext(ctx, `SELECT name FROM integrations WHERE api_host = $1 ORDER BY name LIMIT 1`, privateHostPrefix+p.Name).Scan(&name)
		if err == nil {
			return &store.ConflictError{Reason: fmt.Sprintf("integration %q reaches Bitbucket through this pool (api_host %s%s): change or delete it first", name, privateHostPrefix, p.Name)}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM vcs_agent_pool_tokens WHERE pool_id = $1`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM vcs_agent_pools WHERE id = $1`, id)
		if err != nil {
			return err
		}
		return mustAffect(res, "vcs_agent_pool", id)
	})
}

const poolTokenColumns = `id, pool_id, description, secret_hash, created_at, expires_at`

func queryPoolTokens(ctx context.Context, q queryer, query string, args ...any) ([]store.VCSAgentPoolToken, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []store.VCSAgentPoolToken{}
	for rows.Next() {
		var t store.VCSAgentPoolToken
		var hash, createdAt, expiresAt string
		if err := rows.Scan(&t.ID, &t.PoolID, &t.Description, &hash, &createdAt, &expiresAt); err != nil {
			return nil, err
		}
		if t.SecretHash, err = hex.DecodeString(hash); err != nil {
			return nil, fmt.Errorf("pool token %s: stored hash: %w", t.ID, err)
		}
		if t.CreatedAt, err = parseTime(createdAt); err != nil {
			return nil, err
		}
		if expiresAt != "" {
			if t.ExpiresAt, err = parseTime(expiresAt); err != nil {
				return nil, err
			}
		}
		items = append(items, t)
	}
	return items, rows.Err()
}

func getPoolToken(ctx context.Context, q queryer, id string) (store.VCSAgentPoolToken, error) {
	items, err := queryPoolTokens(ctx, q, `SELECT `+poolTokenColumns+` FROM vcs_agent_pool_tokens WHERE id = $1`, id)
	if err != nil {
		return store.VCSAgentPoolToken{}, err
	}
	if len(items) == 0 {
		return store.VCSAgentPoolToken{}, notFound("vcs_agent_pool_token", id)
	}
	return items[0], nil
}

func optionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

// insertPoolToken drops the pool's expired tokens, checks the pool's quota and
// inserts t, in tx.
func (s *Store) insertPoolToken(ctx context.Context, tx *sql.Tx, t *store.VCSAgentPoolToken) error {
	if _, err := getPoolWhere(ctx, tx, "id", t.PoolID); err != nil {
		return err
	}
	if t.ID == "" {
		t.ID = "pt_" + store.RandomToken() + store.RandomToken()
	}
	t.CreatedAt = s.nowUTC()
	if !t.ExpiresAt.IsZero() {
		t.ExpiresAt = t.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	now := formatTime(t.CreatedAt)
	if _, err := tx.ExecContext(ctx, `DELETE FROM vcs_agent_pool_tokens WHERE pool_id = $1 AND expires_at <> '' AND expires_at <= $2`, t.PoolID, now); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM vcs_agent_pool_tokens WHERE pool_id = $1`, t.PoolID).Scan(&n); err != nil {
		return err
	}
	if n >= store.MaxVCSAgentPoolTokens {
		return &store.QuotaError{Limit: store.MaxVCSAgentPoolTokens,
			Reason: fmt.Sprintf("the pool holds %d tokens, the most it may: revoke one first", n)}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO vcs_agent_pool_tokens (`+poolTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.PoolID, t.Description, hex.EncodeToString(t.SecretHash), now, optionalTime(t.ExpiresAt))
	return s.constraintError(err,
		func() error { return &store.ConflictError{Field: "id", Reason: "a pool token with this id exists"} },
		func() error { return notFound("vcs_agent_pool", t.PoolID) })
}

func (s *Store) CreateVCSAgentPoolToken(ctx context.Context, t store.VCSAgentPoolToken) (store.VCSAgentPoolToken, error) {
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error { return s.insertPoolToken(ctx, tx, &t) })
	if err != nil {
		return store.VCSAgentPoolToken{}, err
	}
	return t, nil
}

func (s *Store) GetVCSAgentPoolToken(ctx context.Context, id string) (store.VCSAgentPoolToken, error) {
	return getPoolToken(ctx, s.reader, id)
}

func (s *Store) ListVCSAgentPoolTokens(ctx context.Context, poolID string) ([]store.VCSAgentPoolToken, error) {
	var items []store.VCSAgentPoolToken
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		if _, err := getPoolWhere(ctx, tx, "id", poolID); err != nil {
			return err
		}
		var err error
		items, err = queryPoolTokens(ctx, tx, `SELECT `+poolTokenColumns+` FROM vcs_agent_pool_tokens WHERE pool_id = $1 ORDER BY created_at, id`, poolID)
		return err
	})
	return items, err
}

func (s *Store) DeleteVCSAgentPoolToken(ctx context.Context, poolID, id string) error {
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM vcs_agent_pool_tokens WHERE id = $1 AND pool_id = $2`, id, poolID)
		if err != nil {
			return err
		}
		return mustAffect(res, "vcs_agent_pool_token", id)
	})
}

func (s *Store) RotateVCSAgentPoolToken(ctx context.Context, oldID string, next store.VCSAgentPoolToken, previousUntil time.Time) (store.VCSAgentPoolToken, error) {
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		old, err := getPoolToken(ctx, tx, oldID)
		if err != nil {
			return err
		}
		if old.PoolID != next.PoolID {
			return notFound("vcs_agent_pool_token", oldID)
		}
		until := previousUntil.UTC().Truncate(time.Microsecond)
		if !old.ExpiresAt.IsZero() && old.ExpiresAt.Before(until) {
			until = old.ExpiresAt
		}
		if _, err := tx.ExecContext(ctx, `UPDATE vcs_agent_pool_tokens SET expires_at = $1 WHERE id = $2`, formatTime(until), oldID); err != nil {
			return err
		}
		return s.insertPoolToken(ctx, tx, &next)
	})
	if err != nil {
		return store.VCSAgentPoolToken{}, err
	}
	return next, nil
}

func (s *Store) IntegrationsUsingVCSAgentPool(ctx context.Context, poolName string) ([]store.Integration, error) {
	var items []store.Integration
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		items, err = queryIntegrations(ctx, tx, `SELECT `+integrationColumns+` FROM integrations WHERE api_host = $1 ORDER BY integrations.name, integrations.id`, privateHostPrefix+poolName)
		return err
	})
	return items, err
}
