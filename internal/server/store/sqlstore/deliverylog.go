package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// bodyRetained is a column expression: 1 when the delivery's body is still stored
// (retention may empty it or set it NULL).
const bodyRetained = `CASE WHEN body IS NULL OR body = '' THEN 0 ELSE 1 END`

func (s *Store) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.DeliveryEntry, string, error) {
	var args []any
	where := []string{`integration_id = ` + arg(&args, f.IntegrationID)}
	switch f.Decision {
	case "":
	case "pending":
		where = append(where, `processed_at = ''`)
	default:
		where = append(where, `decision = `+arg(&args, f.Decision))
	}
	if f.EventKey != "" {
		where = append(where, `event_key = `+arg(&args, f.EventKey))
	}
	if f.Namespace != "" {
		where = append(where, `namespace = `+arg(&args, f.Namespace))
	}
	if f.Repository != "" {
		where = append(where, `repository = `+arg(&args, f.Repository))
	}
	if !f.Since.IsZero() {
		where = append(where, `received_at >= `+arg(&args, formatTime(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, `received_at < `+arg(&args, formatTime(f.Until)))
	}
	if f.PageToken != "" {
		at, id, err := decodePageToken(f.PageToken)
		if err != nil {
			return nil, "", err
		}
		a := arg(&args, at)
		where = append(where, `(received_at < `+a+` OR (received_at = `+a+` AND id < `+arg(&args, id)+`))`)
	}
	limit := f.PageSize
	if limit <= 0 {
		limit = defaultPageSize
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT `+deliveryColumns+`, `+bodyRetained+` FROM webhook_deliveries
		WHERE `+strings.Join(where, ` AND `)+` ORDER BY received_at DESC, id DESC LIMIT `+arg(&args, limit+1), args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	entries := []store.DeliveryEntry{}
	for rows.Next() {
		var (
			e                   store.DeliveryEntry
			received, processed string
			retained            int
		)
		if err := rows.Scan(append(deliveryFields(&e.Delivery, &received, &processed), &retained)...); err != nil {
			return nil, "", err
		}
		if err := deliveryTimes(&e.Delivery, received, processed); err != nil {
			return nil, "", err
		}
		e.BodyRetained = retained == 1
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	entries, next := page(entries, limit, func(e store.DeliveryEntry) (string, string) { return formatTime(e.ReceivedAt), e.ID })
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	runs, err := s.runIDsOfDeliveries(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range entries {
		entries[i].RunIDs = runs[entries[i].ID]
	}
	return entries, next, nil
}

// runIDsOfDeliveries maps each delivery id to the runs it started, oldest first.
func (s *Store) runIDsOfDeliveries(ctx context.Context, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var args []any
	rows, err := s.reader.QueryContext(ctx, `SELECT delivery_id, id FROM runs WHERE delivery_id IN (`+placeholders(&args, ids)+`)
		ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var delivery, run string
		if err := rows.Scan(&delivery, &run); err != nil {
			return nil, err
		}
		out[delivery] = append(out[delivery], run)
	}
	return out, rows.Err()
}

func (s *Store) GetDeliveryEntry(ctx context.Context, id string) (store.DeliveryEntry, error) {
	d, err := s.GetDelivery(ctx, id)
	if err != nil {
		return store.DeliveryEntry{}, err
	}
	runs, err := s.runIDsOfDeliveries(ctx, []string{id})
	if err != nil {
		return store.DeliveryEntry{}, err
	}
	return store.DeliveryEntry{Delivery: d, BodyRetained: len(d.Body) > 0, RunIDs: runs[id]}, nil
}

func (s *Store) Redeliver(ctx context.Context, originalID, requestedBy string) (store.Delivery, error) {
	var out store.Delivery
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		var (
			orig                store.Delivery
			received, processed string
			body                string
		)
		err := tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+`, COALESCE(body, '') FROM webhook_deliveries WHERE id = $1`, originalID).
			Scan(append(deliveryFields(&orig, &received, &processed), &body)...)
		if err != nil {
			return noRows(err, "delivery", originalID)
		}
		if body == "" {
			return &store.ConflictError{Field: "body", Reason: "the delivery's body is no longer retained, so it cannot be redelivered"}
		}
		root := orig.ID
		if orig.RedeliveryOf != "" {
			root = orig.RedeliveryOf
		}
		now := s.nowUTC()
		token := store.RandomToken() + store.RandomToken()
		out = store.Delivery{ID: "dlv-" + token, IntegrationID: orig.IntegrationID, RequestID: "redelivery-" + token,
			EventKey: orig.EventKey, Secret: orig.Secret, Attempt: 1, Body: []byte(body), ReceivedAt: now,
			RedeliveryOf: root, RequestedBy: requestedBy}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
			(id, integration_id, request_id, event_key, secret, attempt, body, received_at, redelivery_of, requested_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			out.ID, out.IntegrationID, out.RequestID, out.EventKey, out.Secret, out.Attempt, body, formatTime(now),
			out.RedeliveryOf, out.RequestedBy); err != nil {
			return err
		}
		return insertJob(ctx, tx, store.JobDelivery, out.ID, now)
	})
	return out, err
}

func (s *Store) DeliveryChainRuns(ctx context.Context, originalID string) ([]store.Run, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE delivery_id IN
		(SELECT id FROM webhook_deliveries WHERE id = $1 OR redelivery_of = $1) ORDER BY created_at, id`, originalID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

func (s *Store) GetRunPageLink(ctx context.Context, runID string) (store.RunPageLink, error) {
	l := store.RunPageLink{RunID: runID}
	var created, revoked string
	err := s.reader.QueryRowContext(ctx, `SELECT nonce, token_hash, created_at, revoked_at FROM run_page_links WHERE run_id = $1`,
		runID).Scan(&l.Nonce, &l.TokenHash, &created, &revoked)
	if err != nil {
		return l, noRows(err, "run page link", runID)
	}
	l.Revoked = revoked != ""
	l.CreatedAt, err = parseTime(created)
	return l, err
}

func (s *Store) PutRunPageLink(ctx context.Context, l store.RunPageLink, onlyIfAbsent bool) (store.RunPageLink, error) {
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = $1`, l.RunID).Scan(&one); err != nil {
			return noRows(err, "run", l.RunID)
		}
		conflict := `DO UPDATE SET nonce = excluded.nonce, token_hash = excluded.token_hash,
			created_at = excluded.created_at, revoked_at = ''`
		if onlyIfAbsent {
			conflict = `DO NOTHING`
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_page_links (run_id, nonce, token_hash, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (run_id) `+conflict, l.RunID, l.Nonce, l.TokenHash, formatTime(s.nowUTC())); err != nil {
			return err
		}
		var created, revoked string
		err := tx.QueryRowContext(ctx, `SELECT nonce, token_hash, created_at, revoked_at FROM run_page_links WHERE run_id = $1`,
			l.RunID).Scan(&l.Nonce, &l.TokenHash, &created, &revoked)
		if err != nil {
			return err
		}
		l.Revoked = revoked != ""
		l.CreatedAt, err = parseTime(created)
		return err
	})
	return l, err
}

func (s *Store) AddRunPageLinks(ctx context.Context, ls []store.RunPageLink) error {
	if len(ls) == 0 {
		return nil
	}
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(s.nowUTC())
		for _, l := range ls {
			// WHERE EXISTS: a run deleted meanwhile (with its stack) is skipped, not a
			// foreign-key error that would fail the others.
			if _, err := tx.ExecContext(ctx, `INSERT INTO run_page_links (run_id, nonce, token_hash, created_at)
				SELECT id, $2, $3, $4 FROM runs WHERE id = $1
				ON CONFLICT (run_id) DO NOTHING`, l.RunID, l.Nonce, l.TokenHash, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) RevokeRunPageLink(ctx context.Context, runID string) error {
	_, err := s.writer.ExecContext(ctx, `UPDATE run_page_links SET revoked_at = $1 WHERE run_id = $2 AND revoked_at = ''`,
		formatTime(s.nowUTC()), runID)
	return err
}

func (s *Store) RunByPageToken(ctx context.Context, tokenHash string) (store.Run, error) {
	r, err := scanRun(s.reader.QueryRowContext(ctx, `SELECT `+prefixed("runs.", runColumns)+` FROM runs
		JOIN run_page_links ON run_page_links.run_id = runs.id WHERE run_page_links.token_hash = $1
		AND run_page_links.revoked_at = ''`, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	return r, err
}

// prefixed qualifies each of a comma-separated column list with prefix.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
