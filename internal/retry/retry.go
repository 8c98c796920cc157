// Package retry is the one retry policy of Orbit's HTTP clients: the Bitbucket Cloud
// and Data Center clients (internal/bitbucket), the provider's webhook create that
// Bitbucket answers with a 5xx, and the orbit-server API client (internal/orbitapi).
// It imports nothing of Orbit's; those packages import it.
//
// Policy.Next is a pure function: from one failed answer (how many retries were made,
// how long the call has run, the answer's Retry-After) it computes the wait before the
// next attempt and whether to make it at all.
//
//   - With a Retry-After (seconds or an HTTP date, parsed by After, on a 429 or a 503
//     only), the wait is what the server asked for. One longer than MaxRetryAfter ends
//     the call (the caller sees the answer and its Retry-After), or, with
//     CapRetryAfter, is waited as MaxRetryAfter.
//   - Without one, the wait starts near MinBackoff and doubles per retry up to
//     MaxBackoff, each drawn at random from [w/2, w] (w the doubled ceiling) so that
//     clients limited together do not come back together.
//   - The call gives up after MaxRetries retries, or when the next wait (its ceiling,
//     so the decision does not depend on the random draw) would end past Window from
//     the first attempt.
//
// The Bitbucket clients' window (DefaultBitbucket): Bitbucket Cloud often answers
// several 429s in a row without Retry-After, and an apply of hundreds of hooks must
// ride them out, while a rate-limited call should start again at once when the limiter
// lets it. So the first waits are tens of milliseconds (25-50 ms, 50-100 ms, ...) and
// the attempt budget is large: 12 retries with ceilings 0.05, 0.1, 0.2, 0.4, 0.8, 1.6,
// 3.2, 6.4, 12.8, 15, 15, 15 s, inside a 60 s window. A call thus rides out about a
// minute of straight 429s, as before this policy (8 retries from 0.5 s, ≈ 60 s at
// most); the difference is that a lone 429 costs 25-50 ms instead of 0.25-0.5 s.
package retry

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy bounds the retries of one call. The zero Policy never retries.
type Policy struct {
	// MaxRetries after the first attempt; 0 disables retries.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff used when the answer
	// carries no Retry-After: the ceiling of retry k (0-based) is MinBackoff·2^k, at
	// most MaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured. A longer one ends the call,
	// unless CapRetryAfter, which waits MaxRetryAfter instead.
	MaxRetryAfter time.Duration
	CapRetryAfter bool
	// Window, when positive, bounds the whole call: no retry is made whose wait (its
	// ceiling) would end later than Window after the first attempt started.
	Window time.Duration
}

// DefaultBitbucket is the Bitbucket clients' policy (the package comment explains its
// numbers); the provider's webhook create rides out failed answers with it too.
var DefaultBitbucket = Policy{
	MaxRetries:    12,
	MinBackoff:    50 * time.Millisecond,
	MaxBackoff:    15 * time.Second,
	MaxRetryAfter: 60 * time.Second,
	Window:        60 * time.Second,
}

// Rand returns a uniformly random integer in [0, n), n > 0. Tests pass a fixed one.
type Rand func(n int64) int64

// Jitter is the random source of the clients.
var Jitter Rand = rand.Int64N

// Answer is the state of a call after a failed attempt.
type Answer struct {
	// Retries already made: 0 after the first attempt failed.
	Retries int
	// Elapsed since the first attempt started.
	Elapsed time.Duration
	// RetryAfter is the wait the answer asked for, when HasRetryAfter.
	RetryAfter    time.Duration
	HasRetryAfter bool
}

// Next returns the wait before the next attempt and whether to make that attempt.
// Whether to retry depends only on the policy and the answer, never on rnd, so a
// caller may ask twice (once to decide, once for the wait) and get one decision.
func (p Policy) Next(a Answer, rnd Rand) (time.Duration, bool) {
	if a.Retries < 0 || a.Retries >= p.MaxRetries {
		return 0, false
	}
	if a.HasRetryAfter {
		wait := max(a.RetryAfter, 0)
		if wait > p.MaxRetryAfter {
			if !p.CapRetryAfter {
				return 0, false
			}
			wait = p.MaxRetryAfter
		}
		if !p.within(a.Elapsed, wait) {
			return 0, false
		}
		return wait, true
	}
	ceiling := p.ceiling(a.Retries)
	if !p.within(a.Elapsed, ceiling) {
		return 0, false
	}
	if ceiling <= 0 {
		return 0, true
	}
	half := ceiling / 2
	return half + time.Duration(rnd(int64(ceiling-half)+1)), true
}

func (p Policy) within(elapsed, wait time.Duration) bool {
	return p.Window <= 0 || elapsed+wait <= p.Window
}

// ceiling is MinBackoff doubled retries times, at most MaxBackoff.
func (p Policy) ceiling(retries int) time.Duration {
	wait := p.MinBackoff
	for i := 0; i < retries && wait < p.MaxBackoff; i++ {
		wait *= 2
	}
	return min(wait, p.MaxBackoff)
}

// After parses a Retry-After header given as seconds or as an HTTP date (RFC 9110
// §10.2.3); a date in the past is a wait of zero. It is the only parser of the header.
func After(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 || secs > int64(1<<62/time.Second) {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// Of reads the answer's Retry-After for the policy: only a 429 or a 503 asks the
// client to come back later (RFC 6585 §4, RFC 9110 §15.6.4); on any other answer
// the header is ignored.
func Of(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	return After(resp.Header, now)
}
