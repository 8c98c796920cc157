package httpguard

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// FailureLimit configures a FailureLimiter: Burst failures at once, then one more
// every Interval. MaxClients bounds the clients tracked (memory); Now is the clock
// (time.Now when nil; tests inject their own).
type FailureLimit struct {
	Burst      int
	Interval   time.Duration
	MaxClients int
	Now        func() time.Time
}

// DefaultMaxClients is FailureLimit.MaxClients when unset.
const DefaultMaxClients = 10000

// overflowKey is the bucket the clients share that the limiter has no room for.
const overflowKey = "\x00overflow"

// FailureLimiter limits failures (a wrong API key, a wrong webhook signature) per
// client address with token buckets: each failure takes a token, one comes back
// every interval, up to the burst. Ask RetryAfter before doing the work a failure
// costs (reading a body, looking a key up): a client without tokens is refused with
// the wait it returns. One type serves each use with its own parameters.
//
// Memory is bounded: beyond MaxClients, clients whose allowance has refilled are
// forgotten (looked for at most once an interval); while every tracked client is
// still limited, new ones share one bucket.
type FailureLimiter struct {
	mu        sync.Mutex
	burst     float64
	interval  time.Duration
	now       func() time.Time
	max       int
	clients   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewFailureLimiter makes a limiter; Burst and Interval must be positive.
func NewFailureLimiter(cfg FailureLimit) *FailureLimiter {
	if cfg.Burst <= 0 || cfg.Interval <= 0 {
		panic("httpguard: FailureLimit needs a positive Burst and Interval")
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &FailureLimiter{burst: float64(cfg.Burst), interval: cfg.Interval, now: cfg.Now, max: cfg.MaxClients,
		clients: map[string]*bucket{}}
}

// ClientKey is what a client address counts as: an IPv6 address by its /64 (one
// site's addresses: a client can pick any address in it), anything else as is.
func ClientKey(client string) string {
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

// lookup finds the bucket of key, or the overflow bucket when key is not tracked and
// there is no room for it; nil when there is none yet. Callers hold mu.
func (l *FailureLimiter) lookup(key string) (string, *bucket) {
	if b, ok := l.clients[key]; ok || len(l.clients) < l.max {
		return key, b
	}
	return overflowKey, l.clients[overflowKey]
}

// refill brings b up to now; callers hold mu.
func (l *FailureLimiter) refill(b *bucket, now time.Time) {
	b.tokens = math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.interval))
	b.at = now
}

// RetryAfter is how long client must wait before its next attempt; 0: go ahead.
func (l *FailureLimiter) RetryAfter(client string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, b := l.lookup(ClientKey(client))
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
func (l *FailureLimiter) Failed(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	key := ClientKey(client)
	if _, ok := l.clients[key]; !ok && len(l.clients) >= l.max && now.Sub(l.lastSweep) >= l.interval {
		l.lastSweep = now
		for k, b := range l.clients {
			if l.refill(b, now); b.tokens >= l.burst {
				delete(l.clients, k)
			}
		}
	}
	key, b := l.lookup(key)
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.clients[key] = b
	}
	l.refill(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

// Tracked is how many buckets the limiter holds (a gauge).
func (l *FailureLimiter) Tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
