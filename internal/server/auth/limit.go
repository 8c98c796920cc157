package auth

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
)

// Defaults of the failed-authentication limit (Config.AuthFailureBurst and
// AuthFailureInterval): 20 failures at once, then one more every 3 seconds.
const (
	DefaultAuthFailureBurst    = 20
	DefaultAuthFailureInterval = 3 * time.Second
	// maxTrackedClients bounds the limiter's memory. Beyond it, clients whose
	// allowance has refilled are forgotten (looked for at most once an interval);
	// while every tracked client is still limited, new ones share one bucket.
	maxTrackedClients = 10000
)

// overflowClient is the bucket shared by the clients the limiter has no room for.
const overflowClient = "\x00overflow"

// Limiter limits failed authentications per client address with a token bucket:
// each failure takes a token, one comes back every interval, burst at most. A client
// without tokens is answered 429 before its key is even looked at. An IPv6 client
// counts by its /64 (one site's addresses), since it can pick any address in it.
type Limiter struct {
	mu        sync.Mutex
	burst     float64
	interval  time.Duration
	now       func() time.Time
	clients   map[string]*authBucket
	max       int
	lastSweep time.Time
}

type authBucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter allows burst failures, then one per interval (0: the defaults).
func NewLimiter(burst int, interval time.Duration) *Limiter {
	if burst <= 0 {
		burst = DefaultAuthFailureBurst
	}
	if interval <= 0 {
		interval = DefaultAuthFailureInterval
	}
	return &Limiter{burst: float64(burst), interval: interval, now: time.Now, clients: map[string]*authBucket{},
		max: maxTrackedClients}
}

// limitKey is what client counts as: an IPv6 address by its /64, anything else as is.
func limitKey(client string) string {
	addr, err := netip.ParseAddr(client)
	if err != nil || !addr.Is6() || addr.Is4In6() {
		return client
	}
	prefix, err := addr.Prefix(64)
	if err != nil {
		return client
	}
	return prefix.String()
}

// bucket finds the bucket of key, or the overflow bucket when key is not
// tracked and there is no room for it; nil when there is none yet. Callers hold mu.
func (l *Limiter) bucket(key string) (string, *authBucket) {
	if b, ok := l.clients[key]; ok || len(l.clients) < l.max {
		return key, b
	}
	return overflowClient, l.clients[overflowClient]
}

// refill brings b up to date; callers hold mu.
func (l *Limiter) refill(b *authBucket, now time.Time) {
	b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.interval))
	b.at = now
}

// RetryAfter is how long client must wait before its next attempt (0: go ahead).
func (l *Limiter) RetryAfter(client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, b := l.bucket(limitKey(client))
	if b == nil {
		return 0
	}
	l.refill(b, l.now())
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.interval))
}

// Failed takes a token from client.
func (l *Limiter) Failed(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	key := limitKey(client)
	if _, ok := l.clients[key]; !ok && len(l.clients) >= l.max && now.Sub(l.lastSweep) >= l.interval {
		l.lastSweep = now
		l.forgetRefilled(now)
	}
	key, b := l.bucket(key)
	if b == nil {
		b = &authBucket{tokens: l.burst, at: now}
		l.clients[key] = b
	}
	l.refill(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

func (l *Limiter) forgetRefilled(now time.Time) {
	for client, b := range l.clients {
		if l.refill(b, now); b.tokens >= l.burst {
			delete(l.clients, client)
		}
	}
}

// RateLimited is the 429 for a client that failed authentication too often.
func RateLimited(w http.ResponseWriter, wait time.Duration) *httpx.Error {
	seconds := int(math.Ceil(wait.Seconds()))
	if seconds < 1 {
		seconds = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	return &httpx.Error{Status: http.StatusTooManyRequests, Code: httpx.CodeRateLimited,
		Message: "too many failed authentications from this address; retry after " + strconv.Itoa(seconds) + "s"}
}
