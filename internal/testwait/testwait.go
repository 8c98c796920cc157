// Package testwait is the one way tests wait for something to happen: poll a
// condition until it holds or a deadline passes, never a fixed sleep.
package testwait

import (
	"testing"
	"time"
)

// Interval is how often For polls.
const Interval = 10 * time.Millisecond

// For polls cond until it reports true, and fails the test (naming what) when it
// has not within timeout.
func For(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// Until polls cond until it reports true (true) or timeout has passed (false).
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(Interval)
	}
}
