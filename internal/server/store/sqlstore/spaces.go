package sqlstore

import (
	"context"
	"database/sql"
	"errors"

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
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := requireSpace(ctx, tx, sp.ParentSpaceID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO spaces (id, name, parent_space_id, inherit_entities, description, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			sp.ID, sp.Name, sp.ParentSpaceID, sp.InheritEntities, sp.Description, formatTime(sp.CreatedAt), formatTime(sp.UpdatedAt))
		if err != nil {
			return s.constraintError(err,
				func() error { return &store.ConflictError{Field: "id", Reason: "a space with this id exists"} },
				func() error { return notFound("space", sp.ParentSpaceID) })
		}
		return spaceLabels.replace(ctx, tx, sp.ID, sp.Labels)
	})
	if err != nil {
		return store.Space{}, err
	}
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
	var ids []string
	for rows.Next() {
		sp, err := scanSpace(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		items = append(items, sp)
		ids = append(ids, sp.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	labels, err := spaceLabels.load(ctx, q, ids)
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
	var out store.Space
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := getSpace(ctx, tx, sp.ID); err != nil {
			return err
		}
		if err := requireSpace(ctx, tx, sp.ParentSpaceID); err != nil {
			return err
		}
		// Checked here too, not only by the caller: two concurrent moves could
		// otherwise each pass a caller's check and together make a cycle.
		if err := checkNoCycle(ctx, tx, sp.ID, sp.ParentSpaceID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE spaces SET name = $1, parent_space_id = $2, inherit_entities = $3, description = $4, updated_at = $5 WHERE id = $6`,
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

// checkNoCycle walks up from newParent; meeting id means id would become its
// own ancestor.
func checkNoCycle(ctx context.Context, q queryer, id, newParent string) error {
	seen := map[string]bool{}
	for cur := newParent; cur != ""; {
		if cur == id {
			return &store.ConflictError{Field: "parent_space_id", Reason: "a space cannot move under itself or one of its descendants"}
		}
		if seen[cur] {
			return errors.New("space tree already contains a cycle")
		}
		seen[cur] = true
		var parent sql.NullString
		if err := q.QueryRowContext(ctx, `SELECT parent_space_id FROM spaces WHERE id = $1`, cur).Scan(&parent); err != nil {
			return noRows(err, "space", cur)
		}
		cur = parent.String
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
			return &store.ConflictError{Reason: "the space still has child spaces, stacks or integrations"}
		})
	})
}
