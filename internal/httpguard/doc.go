// Package httpguard bounds what an unauthenticated HTTP request can cost before it is
// authenticated: a gate on concurrent body reads that refuses rather than queues, a
// per-client failure limiter (token buckets, IPv6 by /64) to consult before reading a
// body, a body reader that never holds more than its limit, and a slog handler that
// lets a few lines per interval through and counts the rest.
//
// It knows nothing of orbit's API: callers turn a refusal into their own error body
// and set Retry-After with SetRetryAfter.
package httpguard

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// RetryAfterSeconds is wait as a Retry-After value: whole seconds, rounded up, at
// least 1.
func RetryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// SetRetryAfter sets the Retry-After header of a refusal to wait (see
// RetryAfterSeconds) and returns the seconds it set.
func SetRetryAfter(w http.ResponseWriter, wait time.Duration) int {
	seconds := RetryAfterSeconds(wait)
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	return seconds
}
