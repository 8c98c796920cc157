package sqlstore

import (
	"context"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// PruneDeliveryBodies implements store.RetentionStore. A dropped body is stored
// as the empty string (the column is NOT NULL), which takes it out of the partial index the
// next batch reads (migration 0008).
func (s *Store) PruneDeliveryBodies(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.pruneBatch(ctx, `UPDATE webhook_deliveries SET body = '' WHERE id IN (
		SELECT id FROM webhook_deliveries WHERE body <> '' AND received_at < $1 AND processed_at <> ''
		ORDER BY received_at LIMIT $2`+s.dialect.SkipLocked+`)`, before, limit)
}

// PruneDeliveries implements store.RetentionStore.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.pruneBatch(ctx, `DELETE FROM webhook_deliveries WHERE id IN (
		SELECT id FROM webhook_deliveries WHERE received_at < $1 AND processed_at <> ''
		ORDER BY received_at LIMIT $2`+s.dialect.SkipLocked+`)`, before, limit)
}

// PruneRuns implements store.RetentionStore.
func (s *Store) PruneRuns(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.pruneBatch(ctx, `DELETE FROM runs WHERE id IN (
		SELECT id FROM runs WHERE state = 'finished' AND updated_at < $1
		AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.subject_id = runs.id)
		ORDER BY updated_at LIMIT $2`+s.dialect.SkipLocked+`)`, before, limit)
}

// pruneBatch runs one pruning statement (parameters: the cutoff and the limit)
// in its own short write transaction and returns the rows it touched.
func (s *Store) pruneBatch(ctx context.Context, query string, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 1
	}
	res, err := s.writer.ExecContext(ctx, query, formatTime(before), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// QueueStats implements store.RetentionStore.
func (s *Store) QueueStats(ctx context.Context) ([]store.QueueStat, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT kind, COUNT(*), MIN(created_at) FROM jobs GROUP BY kind ORDER BY kind`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.QueueStat
	for rows.Next() {
		var (
			st     store.QueueStat
			kind   string
			oldest string
		)
		if err := rows.Scan(&kind, &st.Jobs, &oldest); err != nil {
			return nil, err
		}
		st.Kind = store.JobKind(kind)
		if st.Oldest, err = parseTime(oldest); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}
