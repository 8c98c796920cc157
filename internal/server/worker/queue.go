// Package worker drains the job queue: it turns each stored delivery into the runs
// it starts (dispatch.go) and posts the commit statuses of runs with retries
// (statuses.go), asking the integration's kind (vcs) how to read a delivery and
// how to post. It may import store, secrets and vcs; the API reaches it only
// through the interface api.Waker.
package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/metrics"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secrets"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/textcap"
)

// Queue tuning. A lease must outlast one job's work (a status post is bounded by
// statusPostTimeout), so that a live worker's job is not claimed again; a worker that
// died leaves its jobs to be claimed once the lease has run out.
const (
	DefaultQueueLease        = 60 * time.Second
	DefaultQueuePollInterval = time.Second
	deliveryClaimBatch       = 16
	statusClaimBatch         = 8
	statusWorkers            = 4
	maxRetryBackoff          = 10 * time.Minute
	// While deliveries are arriving, acknowledging them comes first: after each
	// claim it handled, a worker pauses for ingestYieldFactor times as long as the
	// claim took (at most maxIngestYield), so the queue keeps a steady share of the
	// machine and drains the backlog at full speed once the burst is over.
	ingestYieldFactor = 4
	maxIngestYield    = 250 * time.Millisecond
	ingestBusyWindow  = 100 * time.Millisecond
)

// Config is what the worker needs besides the store and the box.
type Config struct {
	// Lease and Poll tune the queue (0: DefaultQueueLease, DefaultQueuePollInterval).
	Lease, Poll time.Duration
	// PublicURL is where the runs a status links to are.
	PublicURL string
	// Status is what the kinds' status posters use.
	Status vcs.StatusEnv
	Logger *slog.Logger
	// Busy reports deliveries waiting for their commit (the receiver's); while it
	// does, the worker yields (see ingestYieldFactor).
	Busy func() bool
	// Metrics counts lease takeovers and status posts (nil: not counted).
	Metrics *metrics.Metrics
	// RunLink is the link a run's commit status carries (the run page's; see
	// package runpage); nil links to the run in the API.
	RunLink func(ctx context.Context, run store.Run) (string, error)
	// RunLinks makes the links of a batch of runs ahead of RunLink, in one
	// transaction (nil: RunLink makes each).
	RunLinks func(ctx context.Context, runIDs []string) error
	// AgentWait is how long a status job waits when no VCS agent of its
	// integration's pool is connected before it looks again (0: DefaultAgentWait).
	AgentWait time.Duration
}

// DefaultAgentWait is Config.AgentWait when unset.
const DefaultAgentWait = 30 * time.Second

// Worker runs the queue's workers.
type Worker struct {
	store     store.Store
	box       *secrets.Box
	logger    *slog.Logger
	publicURL string
	env       vcs.StatusEnv
	busy      func() bool
	metrics   *metrics.Metrics
	runLink   func(ctx context.Context, run store.Run) (string, error)
	runLinks  func(ctx context.Context, runIDs []string) error
	agentWait time.Duration
	queue     *queue
}

// New builds the worker; Start runs it.
func New(st store.Store, box *secrets.Box, cfg Config) *Worker {
	s := &Worker{store: st, box: box, logger: cfg.Logger, publicURL: cfg.PublicURL, env: cfg.Status, busy: cfg.Busy,
		metrics: cfg.Metrics, runLink: cfg.RunLink, runLinks: cfg.RunLinks, agentWait: cfg.AgentWait}
	if s.agentWait <= 0 {
		s.agentWait = DefaultAgentWait
	}
	s.env.Options = append(s.env.Options, bitbucket.WithRetryPolicy(statusRetryPolicy), bitbucket.WithLogger(cfg.Logger))
	s.queue = newQueue(s, cfg.Lease, cfg.Poll)
	return s
}

// Start launches the workers.
func (s *Worker) Start() { s.queue.start() }

// Stop cancels the workers and waits for them; their jobs' leases run out.
func (s *Worker) Stop() { s.queue.stop() }

// Wake tells the workers of kind that jobs are waiting (never blocks).
func (s *Worker) Wake(kind store.JobKind) { s.queue.wake(kind) }

// Handling is the number of claimed batches whose jobs are being handled now (a
// test waits for 0 to know that no post of a stale claim is still to come).
func (s *Worker) Handling() int64 { return s.queue.handling.Load() }

// queue runs the workers that drain the jobs table. Wake-ups come from this process
// (a commit just added jobs); the poll interval covers jobs added by other replicas
// and retries that became due.
type queue struct {
	s       *Worker
	lease   time.Duration
	poll    time.Duration
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	wakeups map[store.JobKind]chan struct{}
	// handlers take the jobs of one claim, so that their writes commit together.
	handlers map[store.JobKind]func(context.Context, []store.Job)
	// handling counts the claims whose handler is running.
	handling atomic.Int64
}

func newQueue(s *Worker, lease, poll time.Duration) *queue {
	if lease <= 0 {
		lease = DefaultQueueLease
	}
	if poll <= 0 {
		poll = DefaultQueuePollInterval
	}
	q := &queue{s: s, lease: lease, poll: poll, wakeups: map[store.JobKind]chan struct{}{
		store.JobDelivery: make(chan struct{}, 1),
		store.JobStatus:   make(chan struct{}, 1),
	}}
	q.handlers = map[store.JobKind]func(context.Context, []store.Job){
		store.JobDelivery: s.handleDeliveryJobs,
		store.JobStatus:   s.handleStatusJobs,
	}
	return q
}

// start launches the workers; stop cancels them and waits.
func (q *queue) start() {
	ctx, cancel := context.WithCancel(context.Background())
	q.cancel = cancel
	q.spawn(ctx, store.JobDelivery, deliveryClaimBatch)
	for range statusWorkers {
		q.spawn(ctx, store.JobStatus, statusClaimBatch)
	}
}

func (q *queue) stop() {
	if q.cancel != nil {
		q.cancel()
		q.wg.Wait()
	}
}

// wake tells the workers of kind that jobs are waiting (never blocks).
func (q *queue) wake(kind store.JobKind) {
	select {
	case q.wakeups[kind] <- struct{}{}:
	default:
	}
}

func (q *queue) spawn(ctx context.Context, kind store.JobKind, batch int) {
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			jobs, err := q.s.store.ClaimJobs(ctx, kind, batch, q.lease)
			if err != nil && ctx.Err() == nil {
				q.s.logger.Error("queue: claim jobs", "kind", string(kind), "error", err.Error())
			}
			if len(jobs) > 0 {
				q.s.metrics.LeaseTakeovers(kind, takenOver(jobs))
				began := time.Now()
				// On shutdown the handler stops between jobs and hands the rest back,
				// for another replica or the next start.
				q.handling.Add(1)
				q.handlers[kind](ctx, jobs)
				q.handling.Add(-1)
				if q.s.busy != nil && q.s.busy() {
					timer.Reset(min(ingestYieldFactor*time.Since(began), maxIngestYield))
					select {
					case <-ctx.Done():
					case <-timer.C:
					}
				}
			}
			if ctx.Err() != nil {
				return
			}
			if len(jobs) == batch {
				continue // probably more waiting
			}
			timer.Reset(q.poll)
			select {
			case <-ctx.Done():
				return
			case <-q.wakeups[kind]:
			case <-timer.C:
			}
		}
	}()
}

// takenOver counts the jobs claimed after another claim's lease ran out.
func takenOver(jobs []store.Job) int {
	n := 0
	for _, j := range jobs {
		if j.TakenOver {
			n++
		}
	}
	return n
}

// retryJob puts a job back for later (retryAfter); errors here only delay it (the
// lease expires).
func (s *Worker) retryJob(ctx context.Context, job store.Job, cause error) {
	s.rescheduleJob(ctx, job, cause, retryAfter(job.Attempts))
}

func (s *Worker) rescheduleJob(ctx context.Context, job store.Job, cause error, wait time.Duration) {
	msg := cause.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	if err := s.store.RetryJob(ctx, job.ID, time.Now().Add(wait), msg); err != nil && !errors.Is(err, context.Canceled) {
		s.logger.Error("queue: reschedule job", "job_id", job.ID, "error", err.Error())
	}
}

// postponeJob puts a job back for later without counting the claim as an
// attempt (its work could not start); errors here only delay it (the lease
// expires).
func (s *Worker) postponeJob(ctx context.Context, job store.Job, wait time.Duration) {
	if err := s.store.PostponeJob(ctx, job.ID, time.Now().Add(wait)); err != nil && !errors.Is(err, context.Canceled) {
		s.logger.Error("queue: postpone job", "job_id", job.ID, "error", err.Error())
	}
}

// releaseJobs hands claimed jobs back unstarted (shutdown, or a lease running
// out); not with ctx, which may be the cancelled one: they must not wait out the
// lease. Errors only delay them until the lease ends.
func (s *Worker) releaseJobs(ctx context.Context, jobs []store.Job) {
	if len(jobs) == 0 {
		return
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(5*time.Second, s.queue.lease/3))
	defer cancel()
	if err := s.store.ReleaseJobs(rctx, ids...); err != nil {
		s.logger.Warn("queue: hand back unstarted jobs; they wait out their lease", "jobs", len(ids), "error", err.Error())
	}
}

// handleDeliveryJobs dispatches the claimed deliveries into runs and completes them
// all in one transaction with the jobs' removal (one commit for the claim), so
// that a crash anywhere leaves either nothing done or all of it. Should that
// transaction fail, they are completed one by one, so that one bad delivery does
// not hold back the others.
func (s *Worker) handleDeliveryJobs(ctx context.Context, jobs []store.Job) {
	cache := newDispatchCache()
	var (
		done     []store.DeliveryCompletion
		doneJobs []store.Job // done[i] is of doneJobs[i]
		events   []string
		gone     []string
	)
	for i, job := range jobs {
		if ctx.Err() != nil {
			// Shutting down: what was dispatched is not completed; all go back.
			s.releaseJobs(ctx, append(doneJobs, jobs[i:]...))
			return
		}
		d, err := s.store.GetDelivery(ctx, job.SubjectID)
		if errors.Is(err, store.ErrNotFound) {
			gone = append(gone, job.ID) // its integration was deleted, and the delivery with it
			continue
		}
		if err != nil {
			s.retryJob(ctx, job, err)
			continue
		}
		result, err := s.dispatch(ctx, d, cache)
		if err != nil {
			s.logger.Error("dispatch delivery", "delivery_id", d.ID, "error", err.Error())
			s.retryJob(ctx, job, err)
			continue
		}
		// What one delivery makes us store stays small whatever it held.
		result.Outcome = textcap.String(result.Outcome, textcap.DefaultLimit)
		done = append(done, store.DeliveryCompletion{JobID: job.ID, Result: result})
		doneJobs, events = append(doneJobs, job), append(events, d.EventKey)
	}
	if err := s.store.DeleteJobs(ctx, gone...); err != nil {
		s.logger.Error("queue: delete jobs of deleted deliveries", "error", err.Error())
	}
	inserted, err := s.store.CompleteDeliveries(ctx, done)
	switch {
	case err != nil && ctx.Err() != nil:
		s.releaseJobs(ctx, doneJobs)
		return
	case err != nil && len(done) > 1:
		s.logger.Warn("queue: completing the batch failed; completing its deliveries one by one", "deliveries", len(done), "error", err.Error())
		inserted = make([][]store.Run, len(done))
		for i := range done {
			one, err := s.store.CompleteDeliveries(ctx, done[i:i+1])
			if err != nil {
				// What the later ones decided may rest on this one's runs (a
				// pull request's last commit): they are dispatched again, at once.
				s.retryJob(ctx, doneJobs[i], err)
				s.releaseJobs(ctx, doneJobs[i+1:])
				done = done[:i]
				break
			}
			inserted[i] = one[0]
		}
	case err != nil:
		s.retryJob(ctx, doneJobs[0], err)
		return
	}
	runs := 0
	for i, c := range done {
		runs += len(inserted[i])
		if c.Result.Closes != nil {
			runs++ // its canceled runs have status jobs
		}
		s.logger.Info("delivery dispatched", "delivery_id", c.Result.DeliveryID, "event", events[i],
			"runs", len(inserted[i]), "outcome", c.Result.Outcome)
	}
	if runs > 0 {
		s.queue.wake(store.JobStatus)
	}
}

// SetBusy sets what reports deliveries waiting for their commit (see Config.Busy),
// for a receiver built after the worker. Call it before Start.
func (s *Worker) SetBusy(busy func() bool) { s.busy = busy }
