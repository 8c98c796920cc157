package worker

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

// TestStatusRetryAfter: a throttled post comes back when Bitbucket asked (on 429 and
// 503 only), at most StatusRetryAfterCap; anything else follows the backoff.
func TestStatusRetryAfter(t *testing.T) {
	t.Parallel()
	throttled := func(status int, after time.Duration) error {
		return fmt.Errorf("posting: %w", &bitbucket.APIError{StatusCode: status, RetryAfter: after})
	}
	for _, tc := range []struct {
		name     string
		attempts int
		cause    error
		min, max time.Duration
	}{
		{"429 Retry-After 3", 1, throttled(http.StatusTooManyRequests, 3*time.Second), 3 * time.Second, 3 * time.Second},
		{"503 Retry-After 30 late", 9, throttled(http.StatusServiceUnavailable, 30*time.Second), 30 * time.Second, 30 * time.Second},
		{"Retry-After over the cap", 1, throttled(http.StatusTooManyRequests, 2*time.Hour), StatusRetryAfterCap, StatusRetryAfterCap},
		{"429 without Retry-After", 1, throttled(http.StatusTooManyRequests, 0), time.Second, 2 * time.Second},
		{"500 with Retry-After ignored", 2, throttled(http.StatusInternalServerError, time.Minute), 2 * time.Second, 4 * time.Second},
		{"transport error", 3, errors.New("connection reset"), 4 * time.Second, 8 * time.Second},
		{"late transport error", 14, errors.New("connection reset"), maxRetryBackoff / 2, maxRetryBackoff},
	} {
		got := statusRetryAfter(tc.attempts, tc.cause)
		if got < tc.min || got > tc.max {
			t.Errorf("%s: wait %s, want in [%s, %s]", tc.name, got, tc.min, tc.max)
		}
	}
	if StatusRetryWindow != 14*10*time.Minute {
		t.Errorf("StatusRetryWindow = %s; API.md documents 140 min", StatusRetryWindow)
	}
}
