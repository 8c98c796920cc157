package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

const defaultPageSize = 100

// normalizeLabels returns labels sorted and de-duplicated, never nil.
func normalizeLabels(labels []string) []string {
	out := slices.Clone(labels)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// labelTable describes the label table of one object kind.
type labelTable struct {
	table  string // e.g. "stack_labels"
	column string // e.g. "stack_id"
}

var (
	spaceLabels       = labelTable{"space_labels", "space_id"}
	stackLabels       = labelTable{"stack_labels", "stack_id"}
	integrationLabels = labelTable{"integration_labels", "integration_id"}
)

func (lt labelTable) replace(ctx context.Context, tx *sql.Tx, id string, labels []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+lt.table+` WHERE `+lt.column+` = $1`, id); err != nil {
		return err
	}
	for _, l := range labels {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+lt.table+` (`+lt.column+`, label) VALUES ($1, $2)`, id, l); err != nil {
			return err
		}
	}
	return nil
}

// load returns the labels of each id, sorted; ids without labels map to nothing.
func (lt labelTable) load(ctx context.Context, q queryer, ids []string) (map[string][]string, error) {
	out := make(map[string][]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var args []any
	query := `SELECT ` + lt.column + `, label FROM ` + lt.table + ` WHERE ` + lt.column + ` IN (` + placeholders(&args, ids) + `) ORDER BY ` + lt.column + `, label`
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, label string
		if err := rows.Scan(&id, &label); err != nil {
			return nil, err
		}
		out[id] = append(out[id], label)
	}
	return out, rows.Err()
}

// loadFor returns the labels of the rows query selects (its first column is the
// object id), with query's args: one statement whatever the number of rows, and
// no variable bound per row.
func (lt labelTable) loadFor(ctx context.Context, q queryer, query string, args ...any) (map[string][]string, error) {
	out := map[string][]string{}
	rows, err := q.QueryContext(ctx, `SELECT `+lt.column+`, label FROM `+lt.table+
		` WHERE `+lt.column+` IN (SELECT id FROM (`+query+`) selected) ORDER BY `+lt.column+`, label`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, label string
		if err := rows.Scan(&id, &label); err != nil {
			return nil, err
		}
		out[id] = append(out[id], label)
	}
	return out, rows.Err()
}

// placeholders appends values to args and returns "$k, $k+1, ..." for them.
func placeholders(args *[]any, values []string) string {
	ph := make([]string, len(values))
	for i, v := range values {
		*args = append(*args, v)
		ph[i] = "$" + strconv.Itoa(len(*args))
	}
	return strings.Join(ph, ", ")
}

// arg appends v to args and returns its placeholder.
func arg(args *[]any, v any) string {
	*args = append(*args, v)
	return "$" + strconv.Itoa(len(*args))
}

// listQuery builds the WHERE clause shared by the list methods: the filters,
// then keyset pagination on (name, id). It returns ok=false when the filter
// can match nothing (an empty non-nil SpaceIDs).
type listQuery struct {
	where   []string
	args    []any
	limit   int
	dialect Dialect
}

// readableSpaces is a query of the ids of the spaces API key keyID can read: the
// spaces it holds a role on, and below them every space that inherits entities from a
// readable parent (API.md, Roles).
func readableSpaces(args *[]any, keyID string) string {
	return `WITH RECURSIVE readable (id) AS (
			SELECT space_id FROM api_key_roles WHERE api_key_id = ` + arg(args, keyID) + `
			UNION
			SELECT spaces.id FROM spaces JOIN readable ON spaces.parent_space_id = readable.id
			WHERE spaces.inherit_entities
		) SELECT id FROM readable`
}

func (s *Store) newListQuery(f store.ListFilter, spaceColumn string, lt labelTable, idColumn string) (listQuery, bool, error) {
	q := listQuery{dialect: s.dialect}
	if f.SpaceIDs != nil {
		if len(f.SpaceIDs) == 0 {
			return q, false, nil
		}
		q.where = append(q.where, spaceColumn+` IN (`+placeholders(&q.args, f.SpaceIDs)+`)`)
	}
	if f.ReadableBy != "" {
		// The spaces the key holds a role on, and below them every space that
		// inherits entities from a readable parent (API.md, Roles).
		q.where = append(q.where, spaceColumn+` IN (`+readableSpaces(&q.args, f.ReadableBy)+`)`)
	}
	for _, l := range normalizeLabels(f.Labels) {
		q.where = append(q.where, `EXISTS (SELECT 1 FROM `+lt.table+` l WHERE l.`+lt.column+` = `+idColumn+` AND l.label = `+arg(&q.args, l)+`)`)
	}
	if f.Name != "" {
		q.where = append(q.where, `name = `+arg(&q.args, f.Name))
	}
	if f.PageToken != "" {
		name, id, err := decodePageToken(f.PageToken)
		if err != nil {
			return q, false, err
		}
		n := arg(&q.args, name)
		byName, byID := q.dialect.bytes("name"), q.dialect.bytes(idColumn)
		q.where = append(q.where, `(`+byName+` > `+n+` OR (name = `+n+` AND `+byID+` > `+arg(&q.args, id)+`))`)
	}
	q.limit = f.PageSize
	if q.limit <= 0 {
		q.limit = defaultPageSize
	}
	return q, true, nil
}

// add appends a condition with one argument, e.g. add("provider = ", p).
func (q *listQuery) add(cond string, v any) {
	q.where = append(q.where, cond+arg(&q.args, v))
}

// suffix returns " WHERE ... ORDER BY name, id LIMIT n+1"; the extra row tells
// whether another page follows.
func (q *listQuery) suffix(idColumn string) string {
	var b strings.Builder
	if len(q.where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(q.where, " AND "))
	}
	b.WriteString(" ORDER BY " + q.dialect.orderByName(idColumn) + " LIMIT " + arg(&q.args, q.limit+1))
	return b.String()
}

// page trims the extra row and returns the token of the next page.
func page[T any](items []T, limit int, key func(T) (name, id string)) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	name, id := key(items[len(items)-1])
	return items, encodePageToken(name, id)
}

// A page token is the (name, id) of the last item returned, so a page resumes
// after it even when rows were inserted or deleted meanwhile.
func encodePageToken(name, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1\x00" + name + "\x00" + id))
}

func decodePageToken(token string) (name, id string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", "", store.ErrBadPageToken
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[0] != "v1" || parts[2] == "" {
		return "", "", store.ErrBadPageToken
	}
	return parts[1], parts[2], nil
}

// uniqueOrFK maps a constraint violation that slipped past the checks made in
// the transaction (a concurrent writer on a shared database) to store errors.
func (s *Store) constraintError(err error, onUnique func() error, onFK func() error) error {
	switch {
	case err == nil:
		return nil
	case s.dialect.IsUniqueViolation != nil && s.dialect.IsUniqueViolation(err) && onUnique != nil:
		return onUnique()
	case s.dialect.IsForeignKeyViolation != nil && s.dialect.IsForeignKeyViolation(err) && onFK != nil:
		return onFK()
	}
	return err
}

func notFound(kind, id string) error { return &store.NotFoundError{Kind: kind, ID: id} }

func noRows(err error, kind, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(kind, id)
	}
	return err
}

// spaceExists is used inside write transactions before inserting a reference.
func spaceExists(ctx context.Context, q queryer, id string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM spaces WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func requireSpace(ctx context.Context, q queryer, id string) error {
	ok, err := spaceExists(ctx, q, id)
	if err != nil {
		return fmt.Errorf("look up space: %w", err)
	}
	if !ok {
		return notFound("space", id)
	}
	return nil
}
