package auth

import (
	"fmt"
	"testing"
	"time"
)

func exhaust(l *Limiter, client string) {
	for range int(l.burst) {
		l.Failed(client)
	}
}

// An IPv6 client can use any address of its /64: they all count as one.
func TestAuthLimitCountsIPv6BySite(t *testing.T) {
	l := NewLimiter(3, time.Hour)
	exhaust(l, "2001:db8:1:2::1")
	if l.RetryAfter("2001:db8:1:2::ffff") == 0 {
		t.Error("another address of the same /64 is not limited")
	}
	if l.RetryAfter("2001:db8:1:3::1") != 0 {
		t.Error("another /64 is limited")
	}
	exhaust(l, "192.0.2.1")
	if l.RetryAfter("192.0.2.2") != 0 {
		t.Error("IPv4 neighbours share a bucket")
	}
}

// Failures from ever new addresses must not grow the limiter without bound: past
// its size, clients it has no room for share one bucket, which limits them too.
func TestAuthLimitIsBounded(t *testing.T) {
	l := NewLimiter(2, time.Hour)
	l.max = 100
	for i := range 5000 {
		l.Failed(fmt.Sprintf("2001:db8:%x::1", i))
	}
	if n := len(l.clients); n > l.max+1 {
		t.Fatalf("the limiter tracks %d clients, want at most %d", n, l.max+1)
	}
	if l.RetryAfter("2001:db8:ffff::1") == 0 {
		t.Error("a new client beyond the limiter's size is not limited while the others are")
	}
	// Once the tracked clients' allowance has refilled, there is room again.
	now := time.Now().Add(10 * time.Hour)
	l.now = func() time.Time { return now }
	l.Failed("198.51.100.7")
	if _, ok := l.clients["198.51.100.7"]; !ok {
		t.Error("a new client is not tracked after the others refilled")
	}
	if l.RetryAfter("198.51.100.8") != 0 {
		t.Error("a fresh client is limited after the others refilled")
	}
}
