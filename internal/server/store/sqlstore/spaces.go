package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

const spaceColumns = `spaces.id, spaces.name, spaces.parent_space_id, spaces.inherit_entities, spaces.description, spaces.created_at, spaces.updated_at`

func scanSpace(row interface{ Scan(...any) error }) (store.Space, error) {
	var (
		sp                   store.Space
		parent               sql.NullString
		createdAt, updatedAt string
		err                  error
	)
	if err = row.Scan(&sp.ID, &sp.Name, &parent, &sp.InheritEntities, &sp.Description, &createdAt, &updatedAt); err != nil {
		return sp, err
	}
	sp.ParentSpaceID = parent.String
	if sp.CreatedAt, err = parseTime(createdAt); err != nil {
		return sp, err
	}
	if sp.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return sp, err
	}
	return sp, nil
}

func getSpace(ctx context.Context, q queryer, id string) (store.Space, error) {
	sp, err := scanSpace(q.QueryRowContext(ctx, `SELECT `+spaceColumns+` FROM spaces WHERE id = $1`, id))
	if err != nil {
		return sp, noRows(err, "space", id)
	}
	labels, err := spaceLabels.load(ctx, q, []string{id})
	if err != nil {
		return sp, err
	}
	sp.Labels = normalizeLabels(labels[id])
	return sp, nil
}

var errRootImmutable = &store.ConflictError{Reason: "the root space cannot be changed or deleted"}

func (s *Store) CreateSpace(ctx context.Context, sp store.Space) (store.Space, error) {
	if sp.ID == "" {
		sp.ID = store.NewID(sp.Name, "space")
	}
	if sp.ParentSpaceID == "" {
		sp.ParentSpaceID = store.RootSpaceID
	}
	sp.Labels = normalizeLabels(sp.Labels)
	sp.CreatedAt = s.nowUTC()
	sp.UpdatedAt = sp.CreatedAt
	quotas := s.currentQuotas()
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := lockSpaceTree(ctx, tx); err != nil {
			return err
		}
		chain, err := ancestry(ctx, tx, sp.ParentSpaceID)
		if err != nil {
			return err
		}
		if err := checkSpaceCount(ctx, tx, quotas); err != nil {
			return err
		}
		if err := checkDepth(quotas, len(chain)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO spaces (id, name, parent_space_id, inherit_entities, description, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			sp.ID, sp.Name, sp.ParentSpaceID, sp.InheritEntities, sp.Description, formatTime(sp.CreatedAt), formatTime(sp.UpdatedAt))
		if err != nil {
			return s.constraintError(err,
				func() error { return &store.ConflictError{Field: "id", Reason: "a space with this id exists"} },
				func() error { return notFound("space", sp.ParentSpaceID) })
		}
		if err := spaceLabels.replace(ctx, tx, sp.ID, sp.Labels); err != nil {
			return err
		}
		if sp.GrantAdminTo == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO api_key_roles (api_key_id, space_id, role) VALUES ($1, $2, $3)`,
			sp.GrantAdminTo, sp.ID, string(store.RoleAdmin))
		if err != nil {
			return s.constraintError(err, nil, func() error { return notFound("api_key", sp.GrantAdminTo) })
		}
		return nil
	})
	if err != nil {
		return store.Space{}, err
	}
	sp.GrantAdminTo = ""
	return sp, nil
}

func (s *Store) GetSpace(ctx context.Context, id string) (store.Space, error) {
	var sp store.Space
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		sp, err = getSpace(ctx, tx, id)
		return err
	})
	return sp, err
}

func (s *Store) ListSpaces(ctx context.Context, f store.ListFilter) ([]store.Space, string, error) {
	q, ok, err := s.newListQuery(f, "spaces.id", spaceLabels, "spaces.id")
	if err != nil || !ok {
		return []store.Space{}, "", err
	}
	var items []store.Space
	err = s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		items, err = querySpaces(ctx, tx, `SELECT `+spaceColumns+` FROM spaces`+q.suffix("spaces.id"), q.args...)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := page(items, q.limit, func(sp store.Space) (string, string) { return sp.Name, sp.ID })
	return items, next, nil
}

func (s *Store) AllSpaces(ctx context.Context) ([]store.Space, error) {
	var items []store.Space
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		items, err = querySpaces(ctx, tx, `SELECT `+spaceColumns+` FROM spaces ORDER BY `+s.dialect.orderByName("spaces.id"))
		return err
	})
	return items, err
}

func querySpaces(ctx context.Context, q queryer, query string, args ...any) ([]store.Space, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	items := []store.Space{}
	for rows.Next() {
		sp, err := scanSpace(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		items = append(items, sp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	labels, err := spaceLabels.loadFor(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i].Labels = normalizeLabels(labels[items[i].ID])
	}
	return items, nil
}

func (s *Store) UpdateSpace(ctx context.Context, sp store.Space) (store.Space, error) {
	if sp.ID == store.RootSpaceID {
		return store.Space{}, errRootImmutable
	}
	if sp.ParentSpaceID == "" {
		sp.ParentSpaceID = store.RootSpaceID
	}
	sp.Labels = normalizeLabels(sp.Labels)
	quotas := s.currentQuotas()
	var out store.Space
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := lockSpaceTree(ctx, tx); err != nil {
			return err
		}
		current, err := getSpace(ctx, tx, sp.ID)
		if err != nil {
			return err
		}
		chain, err := ancestry(ctx, tx, sp.ParentSpaceID)
		if err != nil {
			return err
		}
		// Checked here too, not only by the caller: two concurrent moves could
		// otherwise each pass a caller's check and together make a cycle.
		for _, a := range chain {
			if a.ID == sp.ID {
				return &store.ConflictError{Field: "parent_space_id", Reason: "a space cannot move under itself or one of its descendants"}
			}
		}
		if quotas.MaxSpaceDepth > 0 && current.ParentSpaceID != sp.ParentSpaceID {
			height, err := subtreeHeight(ctx, tx, sp.ID, quotas.MaxSpaceDepth)
			if err != nil {
				return err
			}
			if err := checkDepth(quotas, len(chain)+height); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE spaces SET name = $1, parent_space_id = $2, inherit_entities = $3, description = $4, updated_at = $5 WHERE id = $6`,
			sp.Name, sp.ParentSpaceID, sp.InheritEntities, sp.Description, formatTime(s.nowUTC()), sp.ID)
		if err != nil {
			return s.constraintError(err, nil, func() error { return notFound("space", sp.ParentSpaceID) })
		}
		if err := spaceLabels.replace(ctx, tx, sp.ID, sp.Labels); err != nil {
			return err
		}
		out, err = getSpace(ctx, tx, sp.ID)
		return err
	})
	if err != nil {
		return store.Space{}, err
	}
	return out, nil
}

// lockSpaceTree serializes the writers that change the shape of the tree (create,
// move) by taking the write lock on the root row: their checks (space count, depth,
// no cycle) read the whole tree, and on PostgreSQL two of them could otherwise each
// pass on a snapshot without the other's row. SQLite's write transactions are
// exclusive already; the statement changes nothing there.
func lockSpaceTree(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE spaces SET updated_at = updated_at WHERE id = $1`, store.RootSpaceID)
	return err
}

// maxAncestry bounds the recursive walks, so a tree damaged into a cycle ends
// the query instead of looping; no configurable depth comes near it.
const maxAncestry = 1000

// ancestry is SpaceAncestry inside a transaction: one recursive query.
func ancestry(ctx context.Context, q queryer, id string) ([]store.Space, error) {
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE chain (id, parent_space_id, lvl) AS (
			SELECT id, parent_space_id, 0 FROM spaces WHERE id = $1
			UNION ALL
			SELECT spaces.id, spaces.parent_space_id, chain.lvl + 1
			FROM spaces JOIN chain ON spaces.id = chain.parent_space_id
			WHERE chain.lvl < $2
		)
		SELECT `+spaceColumns+` FROM chain JOIN spaces ON spaces.id = chain.id ORDER BY chain.lvl`, id, maxAncestry)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var chain []store.Space
	for rows.Next() {
		sp, err := scanSpace(rows)
		if err != nil {
			return nil, err
		}
		sp.Labels = []string{}
		chain = append(chain, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return nil, notFound("space", id)
	}
	if chain[len(chain)-1].ID != store.RootSpaceID {
		return nil, fmt.Errorf("space %q: ancestry does not reach root within %d levels (cycle?)", id, maxAncestry)
	}
	return chain, nil
}

func (s *Store) SpaceAncestry(ctx context.Context, id string) ([]store.Space, error) {
	var chain []store.Space
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		chain, err = ancestry(ctx, tx, id)
		return err
	})
	return chain, err
}

// subtreeHeight is how many levels lie below id (0 for a leaf), counting at most
// limit+1 of them.
func subtreeHeight(ctx context.Context, q queryer, id string, limit int) (int, error) {
	var height sql.NullInt64
	err := q.QueryRowContext(ctx, `WITH RECURSIVE sub (id, lvl) AS (
			SELECT id, 0 FROM spaces WHERE id = $1
			UNION ALL
			SELECT spaces.id, sub.lvl + 1 FROM spaces JOIN sub ON spaces.parent_space_id = sub.id
			WHERE sub.lvl <= $2
		)
		SELECT MAX(lvl) FROM sub`, id, limit).Scan(&height)
	return int(height.Int64), err
}

// checkDepth: a space whose parent chain (parent up to root) has n entries sits
// at depth n.
func checkDepth(q store.Quotas, depth int) error {
	if q.MaxSpaceDepth > 0 && depth > q.MaxSpaceDepth {
		return &store.QuotaError{Field: "parent_space_id", Limit: q.MaxSpaceDepth,
			Reason: fmt.Sprintf("spaces may nest at most %d levels below root; this would reach level %d", q.MaxSpaceDepth, depth)}
	}
	return nil
}

func checkSpaceCount(ctx context.Context, q queryer, quotas store.Quotas) error {
	if quotas.MaxSpaces <= 0 {
		return nil
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM spaces WHERE id <> $1`, store.RootSpaceID).Scan(&n); err != nil {
		return err
	}
	if n >= quotas.MaxSpaces {
		return &store.QuotaError{Limit: quotas.MaxSpaces,
			Reason: fmt.Sprintf("the server already holds its maximum of %d spaces; delete unused spaces or ask the operator to raise the limit", quotas.MaxSpaces)}
	}
	return nil
}

func (s *Store) DeleteSpace(ctx context.Context, id string) error {
	if id == store.RootSpaceID {
		return errRootImmutable
	}
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := requireSpace(ctx, tx, id); err != nil {
			return err
		}
		for _, dep := range []struct{ query, what string }{
			{`SELECT 1 FROM spaces WHERE parent_space_id = $1`, "child spaces"},
			{`SELECT 1 FROM stacks WHERE space_id = $1`, "stacks"},
			{`SELECT 1 FROM integrations WHERE space_id = $1`, "integrations"},
			{`SELECT 1 FROM vcs_agent_pools WHERE space_id = $1`, "VCS agent pools"},
		} {
			var one int
			err := tx.QueryRowContext(ctx, dep.query+` LIMIT 1`, id).Scan(&one)
			if err == nil {
				return &store.ConflictError{Reason: "the space still has " + dep.what}
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM spaces WHERE id = $1`, id)
		return s.constraintError(err, nil, func() error {
			return &store.ConflictError{Reason: "the space still has child spaces, stacks, integrations or VCS agent pools"}
		})
	})
}
