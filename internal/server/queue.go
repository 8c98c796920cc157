package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Queue tuning. A lease must outlast one job's work (a status post is bounded by
// statusPostTimeout), so that a live worker's job is not claimed again; a worker that
// died leaves its jobs to be claimed once the lease has run out.
const (
	DefaultQueueLease        = 60 * time.Second
	DefaultQueuePollInterval = time.Second
	deliveryClaimBatch       = 64
	statusClaimBatch         = 8
	statusWorkers            = 4
	maxRetryBackoff          = 10 * time.Minute
)

// queue runs the workers that drain the jobs table. Wake-ups come from this process
// (a commit just added jobs); the poll interval covers jobs added by other replicas
// and retries that became due.
type queue struct {
	s        *Server
	lease    time.Duration
	poll     time.Duration
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	wakeups  map[store.JobKind]chan struct{}
	handlers map[store.JobKind]func(context.Context, store.Job)
}

func newQueue(s *Server, lease, poll time.Duration) *queue {
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
	q.handlers = map[store.JobKind]func(context.Context, store.Job){
		store.JobDelivery: s.handleDeliveryJob,
		store.JobStatus:   s.handleStatusJob,
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
			for _, job := range jobs {
				if ctx.Err() != nil {
					return // the lease runs out and another worker (or the next start) takes it
				}
				q.handlers[kind](ctx, job)
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

// retryAfter is the backoff before attempt n+1: exponential from 1 s, capped, with
// jitter so that jobs failing together do not come back together.
func retryAfter(attempts int) time.Duration {
	backoff := time.Second << min(attempts, 20)
	if backoff > maxRetryBackoff || backoff <= 0 {
		backoff = maxRetryBackoff
	}
	return backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
}

// retryJob puts a job back for later; errors here only delay it (the lease expires).
func (s *Server) retryJob(ctx context.Context, job store.Job, cause error) {
	msg := cause.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	if err := s.store.RetryJob(ctx, job.ID, time.Now().Add(retryAfter(job.Attempts)), msg); err != nil && !errors.Is(err, context.Canceled) {
		s.logger.Error("queue: reschedule job", "job_id", job.ID, "error", err.Error())
	}
}

// handleDeliveryJob dispatches one stored delivery into runs, in one transaction with
// the job's removal, so that a crash anywhere leaves either nothing done or all of it.
func (s *Server) handleDeliveryJob(ctx context.Context, job store.Job) {
	d, err := s.store.GetDelivery(ctx, job.SubjectID)
	if errors.Is(err, store.ErrNotFound) {
		_ = s.store.DeleteJob(ctx, job.ID) // its integration was deleted, and the delivery with it
		return
	}
	if err != nil {
		s.retryJob(ctx, job, err)
		return
	}
	result, err := s.dispatch(ctx, d)
	if err != nil {
		s.logger.Error("dispatch delivery", "delivery_id", d.ID, "error", err.Error())
		s.retryJob(ctx, job, err)
		return
	}
	inserted, err := s.store.CompleteDelivery(ctx, job.ID, result)
	if err != nil {
		s.retryJob(ctx, job, err)
		return
	}
	s.logger.Info("delivery dispatched", "delivery_id", d.ID, "event", d.EventKey, "runs", len(inserted), "outcome", result.Outcome)
	if len(inserted) > 0 {
		s.queue.wake(store.JobStatus)
	}
}
