package retry

import (
	"context"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// call is one logical call's progress, carried in the context of its requests.
type call struct {
	start   time.Time
	answers int
}

type callKey struct{}

// Begin marks ctx as the context of one call (all its attempts): the hooks of
// Policy.Hooks count that call's retries and time its Window from here. A context
// without Begin is a call that started at its first answer with no retry made.
func Begin(ctx context.Context) context.Context {
	return context.WithValue(ctx, callKey{}, &call{start: time.Now()})
}

// Retryable is the client's own judgement of an answer (which statuses, which
// methods, which transport errors may be tried again); the policy decides the rest.
type Retryable func(ctx context.Context, resp *http.Response, err error) (bool, error)

// Hooks sets c's CheckRetry, Backoff and RetryMax from the policy. CheckRetry asks
// retryable first, then Policy.Next; Backoff returns Next's wait. A call's requests
// must carry a context from Begin for the Window and the retry count to apply.
func (p Policy) Hooks(c *retryablehttp.Client, retryable Retryable) {
	c.RetryMax = max(p.MaxRetries, 0)
	c.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return false, ctxErr
		}
		ok, checkErr := retryable(ctx, resp, err)
		if !ok || checkErr != nil {
			return ok, checkErr
		}
		a := Answer{}
		if c, found := ctx.Value(callKey{}).(*call); found {
			a.Retries, a.Elapsed = c.answers, time.Since(c.start)
			c.answers++
		}
		a.RetryAfter, a.HasRetryAfter = Of(resp, time.Now())
		_, retry := p.Next(a, Jitter)
		return retry, nil
	}
	c.Backoff = func(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
		a := Answer{Retries: attempt}
		a.RetryAfter, a.HasRetryAfter = Of(resp, time.Now())
		wait, _ := p.Next(a, Jitter)
		return wait
	}
}
