package sqlstore

import (
	"context"
	"database/sql"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

const stackColumns = `stacks.id, stacks.name, stacks.space_id, stacks.description, stacks.created_at, stacks.updated_at`

func scanStack(row interface{ Scan(...any) error }) (store.Stack, error) {
	var (
		st                   store.Stack
		createdAt, updatedAt string
		err                  error
	)
	if err = row.Scan(&st.ID, &st.Name, &st.SpaceID, &st.Description, &createdAt, &updatedAt); err != nil {
		return st, err
	}
	if st.CreatedAt, err = parseTime(createdAt); err != nil {
		return st, err
	}
	if st.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return st, err
	}
	return st, nil
}

func queryStacks(ctx context.Context, q queryer, query string, args ...any) ([]store.Stack, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	items := []store.Stack{}
	for rows.Next() {
		st, err := scanStack(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		items = append(items, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	labels, err := stackLabels.loadFor(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i].Labels = normalizeLabels(labels[items[i].ID])
	}
	return items, nil
}

func getStack(ctx context.Context, q queryer, id string) (store.Stack, error) {
	items, err := queryStacks(ctx, q, `SELECT `+stackColumns+` FROM stacks WHERE id = $1`, id)
	if err != nil {
		return store.Stack{}, err
	}
	if len(items) == 0 {
		return store.Stack{}, notFound("stack", id)
	}
	return items[0], nil
}

func (s *Store) CreateStack(ctx context.Context, st store.Stack) (store.Stack, error) {
	if st.ID == "" {
		st.ID = store.NewID(st.Name, "stack")
	}
	st.Labels = normalizeLabels(st.Labels)
	st.CreatedAt = s.nowUTC()
	st.UpdatedAt = st.CreatedAt
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := requireSpace(ctx, tx, st.SpaceID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO stacks (id, name, space_id, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			st.ID, st.Name, st.SpaceID, st.Description, formatTime(st.CreatedAt), formatTime(st.UpdatedAt))
		if err != nil {
			return s.constraintError(err,
				func() error { return &store.ConflictError{Field: "id", Reason: "a stack with this id exists"} },
				func() error { return notFound("space", st.SpaceID) })
		}
		return stackLabels.replace(ctx, tx, st.ID, st.Labels)
	})
	if err != nil {
		return store.Stack{}, err
	}
	return st, nil
}

func (s *Store) GetStack(ctx context.Context, id string) (store.Stack, error) {
	var st store.Stack
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		st, err = getStack(ctx, tx, id)
		return err
	})
	return st, err
}

func (s *Store) ListStacks(ctx context.Context, f store.ListFilter) ([]store.Stack, string, error) {
	q, ok, err := s.newListQuery(f, "stacks.space_id", stackLabels, "stacks.id")
	if err != nil || !ok {
		return []store.Stack{}, "", err
	}
	var items []store.Stack
	err = s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		items, err = queryStacks(ctx, tx, `SELECT `+stackColumns+` FROM stacks`+q.suffix("stacks.id"), q.args...)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := page(items, q.limit, func(st store.Stack) (string, string) { return st.Name, st.ID })
	return items, next, nil
}

func (s *Store) UpdateStack(ctx context.Context, st store.Stack) (store.Stack, error) {
	st.Labels = normalizeLabels(st.Labels)
	var out store.Stack
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := getStack(ctx, tx, st.ID); err != nil {
			return err
		}
		if err := requireSpace(ctx, tx, st.SpaceID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE stacks SET name = $1, space_id = $2, description = $3, updated_at = $4 WHERE id = $5`,
			st.Name, st.SpaceID, st.Description, formatTime(s.nowUTC()), st.ID)
		if err != nil {
			return s.constraintError(err, nil, func() error { return notFound("space", st.SpaceID) })
		}
		if err := stackLabels.replace(ctx, tx, st.ID, st.Labels); err != nil {
			return err
		}
		out, err = getStack(ctx, tx, st.ID)
		return err
	})
	if err != nil {
		return store.Stack{}, err
	}
	return out, nil
}

func (s *Store) DeleteStack(ctx context.Context, id string) error {
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM stacks WHERE id = $1`, id)
		if err != nil {
			return err
		}
		return mustAffect(res, "stack", id)
	})
}
