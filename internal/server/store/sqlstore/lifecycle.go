package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// closePullRequestRuns finishes, canceled, the proposed runs of a closed pull request
// that are not finished yet, and queues the status of each (its final, stopped
// state). It runs in CompleteDeliveries' transaction, after the delivery's own runs,
// so a pull request opened and closed in one batch ends with nothing left queued.
func closePullRequestRuns(ctx context.Context, tx *sql.Tx, c store.PullRequestClose, now time.Time) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM runs WHERE integration_id = $1 AND namespace = $2 AND repository = $3
		AND pull_request = $4 AND kind = 'proposed' AND state <> 'finished' ORDER BY id`,
		c.IntegrationID, c.Namespace, c.Repository, c.PullRequest)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	at := formatTime(now)
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET state = $1, result = $2, message = $3, finished_at = $4, updated_at = $4
			WHERE id = $5`,
			string(store.RunFinished), string(store.ResultCanceled), c.Message, at, id); err != nil {
			return 0, err
		}
		if err := insertJob(ctx, tx, store.JobStatus, id, now); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
