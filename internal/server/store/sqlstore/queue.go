package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// RecordDeliveries inserts the whole batch in one transaction: one commit (one
// fsync) acknowledges every delivery that arrived together. A delivery whose
// request id, or body (its SHA-256) under the same event key, the integration
// already has is a duplicate: both unique indexes answer in the insert itself, so
// two replicas storing the same body at once store it once. A delivery with an Outcome was decided on
// receipt: it is stored processed, without a job.
func (s *Store) RecordDeliveries(ctx context.Context, ds []store.Delivery) ([]store.DeliveryReceipt, error) {
	receipts := make([]store.DeliveryReceipt, len(ds))
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		now := s.nowUTC()
		for i, d := range ds {
			receipts[i] = store.DeliveryReceipt{}
			id := d.ID
			if id == "" {
				id = "dlv-" + store.RandomToken() + store.RandomToken()
			}
			received := d.ReceivedAt
			if received.IsZero() {
				received = now
			}
			attempt := d.Attempt
			if attempt <= 0 {
				attempt = 1
			}
			processed := ""
			if d.Outcome != "" {
				processed = formatTime(received)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
				(id, integration_id, request_id, event_key, secret, attempt, body, body_sha256, received_at, processed_at, outcome,
				decision, namespace, repository)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING`,
				id, d.IntegrationID, d.RequestID, d.EventKey, d.Secret, attempt, string(d.Body), store.BodySHA256(d.Body),
				formatTime(received), processed, d.Outcome, d.Decision, d.Namespace, d.Repository)
			if err != nil {
				if s.dialect.IsForeignKeyViolation != nil && s.dialect.IsForeignKeyViolation(err) {
					return &batchItemError{index: i, err: notFound("integration", d.IntegrationID)}
				}
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				receipts[i].Duplicate = true
				continue
			}
			receipts[i].ID = id
			if d.Outcome != "" {
				continue
			}
			if err := insertJob(ctx, tx, store.JobDelivery, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	var itemErr *batchItemError
	if errors.As(err, &itemErr) && len(ds) > 1 {
		// One bad delivery must not fail the others: store them one by one.
		for i := range ds {
			r, err := s.RecordDeliveries(ctx, ds[i:i+1])
			if err != nil {
				var single *batchItemError
				if !errors.As(err, &single) {
					return nil, err
				}
				receipts[i] = store.DeliveryReceipt{Err: single.err}
				continue
			}
			receipts[i] = r[0]
		}
		return receipts, nil
	}
	if errors.As(err, &itemErr) {
		return []store.DeliveryReceipt{{Err: itemErr.err}}, nil
	}
	if err != nil {
		return nil, err
	}
	return receipts, nil
}

type batchItemError struct {
	index int
	err   error
}

func (e *batchItemError) Error() string { return fmt.Sprintf("delivery %d: %v", e.index, e.err) }

func insertJob(ctx context.Context, tx *sql.Tx, kind store.JobKind, subjectID string, now time.Time) error {
	at := formatTime(now)
	_, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, kind, subject_id, run_after, created_at) VALUES ($1, $2, $3, $4, $5)`,
		"job-"+store.RandomToken()+store.RandomToken(), string(kind), subjectID, at, at)
	return err
}

func (s *Store) GetDelivery(ctx context.Context, id string) (store.Delivery, error) {
	var (
		d                         store.Delivery
		body, received, processed string
	)
	err := s.reader.QueryRowContext(ctx, `SELECT `+deliveryColumns+`, COALESCE(body, '') FROM webhook_deliveries WHERE id = $1`, id).
		Scan(append(deliveryFields(&d, &received, &processed), &body)...)
	if err != nil {
		return d, noRows(err, "delivery", id)
	}
	if body != "" {
		d.Body = []byte(body)
	}
	return d, deliveryTimes(&d, received, processed)
}

// deliveryColumns are the columns of a delivery but its body, in the order
// deliveryFields scans them.
const deliveryColumns = `id, integration_id, request_id, event_key, secret, attempt, received_at, processed_at, outcome,
	decision, namespace, repository, redelivery_of, requested_by, body_sha256`

func deliveryFields(d *store.Delivery, received, processed *string) []any {
	return []any{&d.ID, &d.IntegrationID, &d.RequestID, &d.EventKey, &d.Secret, &d.Attempt, received, processed, &d.Outcome,
		&d.Decision, &d.Namespace, &d.Repository, &d.RedeliveryOf, &d.RequestedBy, &d.BodySHA256}
}

func deliveryTimes(d *store.Delivery, received, processed string) (err error) {
	if d.ReceivedAt, err = parseTime(received); err != nil {
		return err
	}
	if processed != "" {
		d.ProcessedAt, err = parseTime(processed)
	}
	return err
}

func (s *Store) ClaimJobs(ctx context.Context, kind store.JobKind, limit int, lease time.Duration) ([]store.Job, error) {
	if limit <= 0 {
		limit = 1
	}
	var jobs []store.Job
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		now := s.nowUTC()
		rows, err := tx.QueryContext(ctx, `SELECT id, locked_until FROM jobs WHERE kind = $1 AND run_after <= $2 AND locked_until < $2
			ORDER BY run_after, id LIMIT $3`+s.dialect.SkipLocked, string(kind), formatTime(now), limit)
		if err != nil {
			return err
		}
		var ids []string
		// A lease left behind ('' once finished work hands a job back or retries it).
		expired := map[string]bool{}
		for rows.Next() {
			var id, lockedUntil string
			if err := rows.Scan(&id, &lockedUntil); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			expired[id] = lockedUntil != ""
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		var args []any
		until := arg(&args, formatTime(now.Add(lease)))
		rows, err = tx.QueryContext(ctx, `UPDATE jobs SET locked_until = `+until+`, attempts = attempts + 1
			WHERE id IN (`+placeholders(&args, ids)+`) RETURNING id, kind, subject_id, attempts, last_error`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var j store.Job
			var k string
			if err := rows.Scan(&j.ID, &k, &j.SubjectID, &j.Attempts, &j.LastError); err != nil {
				return err
			}
			j.Kind = store.JobKind(k)
			j.TakenOver = expired[j.ID]
			jobs = append(jobs, j)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// RETURNING comes in no particular order: give the jobs in the order they
		// became due, the order a worker should handle them in.
		rank := make(map[string]int, len(ids))
		for i, id := range ids {
			rank[id] = i
		}
		slices.SortFunc(jobs, func(a, b store.Job) int { return rank[a.ID] - rank[b.ID] })
		return nil
	})
	return jobs, err
}

func (s *Store) RetryJob(ctx context.Context, jobID string, runAfter time.Time, lastError string) error {
	_, err := s.writer.ExecContext(ctx, `UPDATE jobs SET run_after = $1, locked_until = '', last_error = $2 WHERE id = $3`,
		formatTime(runAfter), lastError, jobID)
	return err
}

func (s *Store) PostponeJob(ctx context.Context, jobID string, runAfter time.Time) error {
	_, err := s.writer.ExecContext(ctx, `UPDATE jobs SET run_after = $1, locked_until = '',
		attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = $2`,
		formatTime(runAfter), jobID)
	return err
}

func (s *Store) ReleaseJobs(ctx context.Context, jobIDs ...string) error {
	return s.execEachJob(ctx, `UPDATE jobs SET locked_until = '', attempts = attempts - 1
		WHERE id = $1 AND attempts > 0`, jobIDs)
}

func (s *Store) DeleteJobs(ctx context.Context, jobIDs ...string) error {
	return s.execEachJob(ctx, `DELETE FROM jobs WHERE id = $1`, jobIDs)
}

// execEachJob runs query (one parameter, the job id) for each of jobIDs, all in
// one write transaction.
func (s *Store) execEachJob(ctx context.Context, query string, jobIDs []string) error {
	if len(jobIDs) == 0 {
		return nil
	}
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		for _, id := range jobIDs {
			if _, err := tx.ExecContext(ctx, query, id); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) CompleteDeliveries(ctx context.Context, cs []store.DeliveryCompletion) ([][]store.Run, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	var inserted [][]store.Run
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		inserted = make([][]store.Run, len(cs))
		start := s.nowUTC()
		for i, c := range cs {
			// One microsecond apart (the stored precision): ordering by time must
			// give the order in which the batch was decided.
			now := start.Add(time.Duration(i) * time.Microsecond)
			r := c.Result
			for _, run := range r.Runs {
				run.DeliveryID = r.DeliveryID
				ok, err := insertRun(ctx, tx, &run, now, true)
				if err != nil {
					return err
				}
				if ok {
					inserted[i] = append(inserted[i], run)
				}
			}
			if r.Closes != nil {
				if _, err := closePullRequestRuns(ctx, tx, *r.Closes, now); err != nil {
					return err
				}
			}
			if r.Rename != nil {
				if err := renameBindings(ctx, tx, *r.Rename, formatTime(now)); err != nil {
					return err
				}
			} else if r.RepositoryID != "" {
				if err := learnRepositoryID(ctx, tx, r.IntegrationID, r.Namespace, r.Repository, r.RepositoryID); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET processed_at = $1, outcome = $2,
				decision = $3, namespace = $4, repository = $5 WHERE id = $6`,
				formatTime(now), r.Outcome, r.Decision, r.Namespace, r.Repository, r.DeliveryID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = $1`, c.JobID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inserted, nil
}

// insertRun inserts run (filling ID, State, timestamps) and its status job. With
// skipDuplicate, a run the same delivery already made for the stack is skipped
// (ok=false) instead of failing.
func insertRun(ctx context.Context, tx *sql.Tx, run *store.Run, now time.Time, skipDuplicate bool) (bool, error) {
	if run.ID == "" {
		run.ID = "run-" + store.RandomToken() + store.RandomToken()
	}
	if run.State == "" {
		run.State = store.RunQueued
	}
	run.CreatedAt, run.UpdatedAt = now, now
	var pr any
	if run.PullRequest > 0 {
		pr = run.PullRequest
	}
	query := `INSERT INTO runs (id, stack_id, integration_id, namespace, repository, kind, commit_sha, branch, pull_request,
		state, result, message, delivery_id, status_error, trigger_reason, triggered_by, pull_request_title, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)`
	if skipDuplicate {
		query += ` ON CONFLICT DO NOTHING`
	}
	res, err := tx.ExecContext(ctx, query, run.ID, run.StackID, run.IntegrationID, run.Namespace, run.Repository,
		string(run.Kind), run.Commit, run.Branch, pr, string(run.State), string(run.Result), run.Message,
		run.DeliveryID, run.StatusError, run.TriggerReason, run.TriggeredBy, run.PullRequestTitle, formatTime(now))
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	return true, insertJob(ctx, tx, store.JobStatus, run.ID, now)
}

func (s *Store) CreateRun(ctx context.Context, r store.Run) (store.Run, error) {
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		_, err := insertRun(ctx, tx, &r, s.nowUTC(), false)
		if s.dialect.IsForeignKeyViolation != nil && s.dialect.IsForeignKeyViolation(err) {
			return notFound("stack", r.StackID)
		}
		return err
	})
	return r, err
}

const runColumns = `id, stack_id, integration_id, namespace, repository, kind, commit_sha, branch, pull_request,
	state, result, message, delivery_id, status_error, trigger_reason, triggered_by, pull_request_title,
	created_at, started_at, finished_at, updated_at`

func scanRun(row interface{ Scan(...any) error }) (store.Run, error) {
	var (
		r                                         store.Run
		kind, state, result                       string
		pr                                        sql.NullInt64
		createdAt, startedAt, finishedAt, updated string
	)
	err := row.Scan(&r.ID, &r.StackID, &r.IntegrationID, &r.Namespace, &r.Repository, &kind, &r.Commit, &r.Branch, &pr,
		&state, &result, &r.Message, &r.DeliveryID, &r.StatusError, &r.TriggerReason, &r.TriggeredBy, &r.PullRequestTitle,
		&createdAt, &startedAt, &finishedAt, &updated)
	if err != nil {
		return r, err
	}
	r.Kind, r.State, r.Result = store.RunKind(kind), store.RunState(state), store.RunResult(result)
	r.PullRequest = pr.Int64
	if r.CreatedAt, err = parseTime(createdAt); err != nil {
		return r, err
	}
	if startedAt != "" {
		if r.StartedAt, err = parseTime(startedAt); err != nil {
			return r, err
		}
	}
	if finishedAt != "" {
		if r.FinishedAt, err = parseTime(finishedAt); err != nil {
			return r, err
		}
	}
	r.UpdatedAt, err = parseTime(updated)
	return r, err
}

func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	r, err := scanRun(s.reader.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
	if err != nil {
		return r, noRows(err, "run", id)
	}
	return r, nil
}

func (s *Store) ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, string, error) {
	var (
		where []string
		args  []any
	)
	if f.SpaceIDs != nil {
		if len(f.SpaceIDs) == 0 {
			return []store.Run{}, "", nil
		}
		where = append(where, `stack_id IN (SELECT id FROM stacks WHERE space_id IN (`+placeholders(&args, f.SpaceIDs)+`))`)
	}
	if f.ReadableBy != "" {
		where = append(where, `stack_id IN (SELECT id FROM stacks WHERE space_id IN (`+readableSpaces(&args, f.ReadableBy)+`))`)
	}
	if f.StackID != "" {
		where = append(where, `stack_id = `+arg(&args, f.StackID))
	}
	if len(f.Commits) > 0 {
		where = append(where, `commit_sha IN (`+placeholders(&args, f.Commits)+`)`)
	}
	if f.PageToken != "" {
		createdAt, id, err := decodePageToken(f.PageToken)
		if err != nil {
			return nil, "", err
		}
		c := arg(&args, createdAt)
		where = append(where, `(created_at < `+c+` OR (created_at = `+c+` AND id < `+arg(&args, id)+`))`)
	}
	limit := f.PageSize
	if limit <= 0 {
		limit = defaultPageSize
	}
	query := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ` + arg(&args, limit+1)
	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	runs := []store.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, "", err
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	runs, next := page(runs, limit, func(r store.Run) (string, string) { return formatTime(r.CreatedAt), r.ID })
	return runs, next, nil
}

func (s *Store) FinishRun(ctx context.Context, id string, result store.RunResult, message string) (store.Run, error) {
	var out store.Run
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		current, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
		if err != nil {
			return noRows(err, "run", id)
		}
		if current.State == store.RunFinished {
			return &store.ConflictError{Field: "result", Reason: "the run already finished (" + string(current.Result) + ")"}
		}
		now := s.nowUTC()
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET state = $1, result = $2, message = $3, finished_at = $4, updated_at = $4
			WHERE id = $5`, string(store.RunFinished), string(result), message, formatTime(now), id); err != nil {
			return err
		}
		if err := insertJob(ctx, tx, store.JobStatus, id, now); err != nil {
			return err
		}
		current.State, current.Result, current.Message, current.FinishedAt, current.UpdatedAt = store.RunFinished, result, message, now, now
		out = current
		return nil
	})
	return out, err
}

func (s *Store) StartRun(ctx context.Context, id string) (store.Run, bool, error) {
	var (
		out     store.Run
		started bool
	)
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		current, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
		if err != nil {
			return noRows(err, "run", id)
		}
		switch current.State {
		case store.RunFinished:
			return &store.ConflictError{Field: "state", Reason: "the run already finished (" + string(current.Result) + ")"}
		case store.RunRunning:
			out = current
			return nil
		}
		now := s.nowUTC()
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET state = $1, started_at = $2, updated_at = $2 WHERE id = $3`,
			string(store.RunRunning), formatTime(now), id); err != nil {
			return err
		}
		if err := insertJob(ctx, tx, store.JobStatus, id, now); err != nil {
			return err
		}
		current.State, current.StartedAt, current.UpdatedAt = store.RunRunning, now, now
		out, started = current, true
		return nil
	})
	return out, started, err
}

func (s *Store) SetRunStatusError(ctx context.Context, id, message string) error {
	_, err := s.writer.ExecContext(ctx, `UPDATE runs SET status_error = $1 WHERE id = $2`, message, id)
	return err
}

func (s *Store) LatestPullRequestCommit(ctx context.Context, stackID, namespace, repository string, pr int64) (string, error) {
	var commit string
	err := s.reader.QueryRowContext(ctx, `SELECT commit_sha FROM runs WHERE stack_id = $1 AND namespace = $2 AND repository = $3
		AND pull_request = $4 AND kind = 'proposed' ORDER BY created_at DESC, id DESC LIMIT 1`,
		stackID, namespace, repository, pr).Scan(&commit)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return commit, err
}

func (s *Store) LatestBranchCommit(ctx context.Context, integrationID, namespace, repository, branch string) (string, error) {
	var commit string
	err := s.reader.QueryRowContext(ctx, `SELECT commit_sha FROM runs WHERE integration_id = $1 AND namespace = $2
		AND repository = $3 AND branch = $4 AND kind = 'tracked' ORDER BY created_at DESC, id DESC LIMIT 1`,
		integrationID, namespace, repository, branch).Scan(&commit)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return commit, err
}
