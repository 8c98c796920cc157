package worker

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/retry"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// When a failed job comes back: the one retry policy (package retry), applied by the
// queue, never by sleeping inside a lease.
//
// A job waits, after its n-th failed attempt, a random time in [w/2, w] with
// w = 2 s·2^(n-1), at most 10 min (1-2 s, 2-4 s, ... 5-10 min).
//
// A status post that Bitbucket throttles (429 or 503 with Retry-After) comes back
// after the Retry-After it was given, up to StatusRetryAfterCap; a longer one is
// waited as the cap. The status client itself waits only a Retry-After of at most
// statusClientRetryAfter (inside the post's time budget); a longer one ends the
// post, and the job is rescheduled here instead. A status post has maxStatusAttempts
// attempts, so its whole retry window is at most StatusRetryWindow: 14 waits of at
// most 10 min each (≈ 67 min when Bitbucket sends no Retry-After: 2+4+...+512 s, then
// 10 min five times).
const (
	jobMinBackoff = 2 * time.Second
	// StatusRetryAfterCap is the longest Retry-After a status job honours as given.
	StatusRetryAfterCap = maxRetryBackoff
	// StatusRetryWindow bounds the time between a status job's first attempt and its
	// last: (maxStatusAttempts-1) waits of at most maxRetryBackoff each.
	StatusRetryWindow = (maxStatusAttempts - 1) * maxRetryBackoff
	// statusClientRetryAfter is the longest Retry-After the status client sleeps
	// inside a lease.
	statusClientRetryAfter = 2 * time.Second
)

// jobPolicy: delivery jobs are retried until they succeed; status jobs until
// maxStatusAttempts (handleStatusJob gives up then, and says so on the run).
var (
	jobPolicy = retry.Policy{MaxRetries: math.MaxInt, MinBackoff: jobMinBackoff, MaxBackoff: maxRetryBackoff}

	statusJobPolicy = retry.Policy{MaxRetries: maxStatusAttempts - 1, MinBackoff: jobMinBackoff, MaxBackoff: maxRetryBackoff,
		MaxRetryAfter: StatusRetryAfterCap, CapRetryAfter: true}
)

// retryAfter is the wait before attempt n+1 of a job that failed n times.
func retryAfter(attempts int) time.Duration {
	wait, _ := jobPolicy.Next(retry.Answer{Retries: max(attempts-1, 0)}, retry.Jitter)
	return wait
}

// statusRetryAfter is the wait before the next attempt of a status job whose post
// failed with cause: the Retry-After Bitbucket gave on a 429 or 503 (at most
// StatusRetryAfterCap), or the backoff.
func statusRetryAfter(attempts int, cause error) time.Duration {
	answer := retry.Answer{Retries: max(attempts-1, 0)}
	var apiErr *bitbucket.APIError
	if errors.As(cause, &apiErr) && apiErr.RetryAfter > 0 &&
		(apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode == http.StatusServiceUnavailable) {
		answer.RetryAfter, answer.HasRetryAfter = apiErr.RetryAfter, true
	}
	wait, ok := statusJobPolicy.Next(answer, retry.Jitter)
	if !ok {
		// Past the attempts: handleStatusJob gives up before asking; should it not,
		// the longest wait.
		return maxRetryBackoff
	}
	return wait
}

// retryStatusJob puts a status job back for when Bitbucket asked, or the backoff.
func (s *Worker) retryStatusJob(ctx context.Context, job store.Job, cause error) {
	s.rescheduleJob(ctx, job, cause, statusRetryAfter(job.Attempts, cause))
}
