package retry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

func any429(_ context.Context, resp *http.Response, _ error) (bool, error) {
	return resp != nil && resp.StatusCode == http.StatusTooManyRequests, nil
}

// TestHooksCountTheCallsRetries: CheckRetry counts the retries of the call that Begin
// started, so the budget and the schedule follow the call, not the client.
func TestHooksCountTheCallsRetries(t *testing.T) {
	t.Parallel()
	var c retryablehttp.Client
	Policy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}.Hooks(&c, any429)
	if c.RetryMax != 2 {
		t.Fatalf("RetryMax = %d, want the policy's 2", c.RetryMax)
	}
	busy := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{}}
	ctx := Begin(context.Background())
	for i, want := range []bool{true, true, false} {
		if got, err := c.CheckRetry(ctx, busy, nil); got != want || err != nil {
			t.Fatalf("answer %d: retry %v, %v; want %v", i+1, got, err, want)
		}
	}
	// Another call starts with its budget whole.
	if got, _ := c.CheckRetry(Begin(context.Background()), busy, nil); !got {
		t.Fatal("a new call was refused a retry")
	}
	canceled, cancel := context.WithCancel(Begin(context.Background()))
	cancel()
	if got, err := c.CheckRetry(canceled, busy, nil); got || err == nil {
		t.Fatalf("canceled call: retry %v, %v; want no retry and the context's error", got, err)
	}
}

func TestHooksOverHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		policy       Policy
		retryable    Retryable
		retryAfter   string
		failures     int32
		wantAttempts int32
		wantStatus   int
	}{
		{"rides out 429s without Retry-After", Policy{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}, any429, "", 3, 4, 200},
		{"gives up after the budget", Policy{MaxRetries: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}, any429, "", 5, 3, 429},
		{"honours Retry-After within the cap", Policy{MaxRetries: 3, MaxRetryAfter: time.Second}, any429, "0", 1, 2, 200},
		{"gives up on Retry-After past the cap", Policy{MaxRetries: 3, MaxRetryAfter: time.Second}, any429, "3600", 1, 1, 429},
		// Retry-After: 60 fits the cap but not the window: the answer comes back at once.
		{"gives up when the wait ends past the window", Policy{MaxRetries: 3, MaxRetryAfter: time.Hour, Window: time.Second}, any429, "60", 1, 1, 429},
		{"the client's judgement first", Policy{MaxRetries: 3}, func(context.Context, *http.Response, error) (bool, error) { return false, nil }, "", 1, 1, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var attempts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if attempts.Add(1) <= tt.failures {
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					w.WriteHeader(http.StatusTooManyRequests)
				}
			}))
			t.Cleanup(srv.Close)
			c := &retryablehttp.Client{HTTPClient: srv.Client(), ErrorHandler: retryablehttp.PassthroughErrorHandler}
			tt.policy.Hooks(c, tt.retryable)
			req, err := retryablehttp.NewRequestWithContext(Begin(context.Background()), http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || attempts.Load() != tt.wantAttempts {
				t.Fatalf("status %d after %d attempts; want %d after %d", resp.StatusCode, attempts.Load(), tt.wantStatus, tt.wantAttempts)
			}
		})
	}
}
