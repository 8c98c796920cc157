package retry

import (
	"net/http"
	"testing"
	"time"
)

// lowest and highest are the two ends of the jitter.
func lowest(int64) int64    { return 0 }
func highest(n int64) int64 { return n - 1 }

func TestNext(t *testing.T) {
	t.Parallel()
	p := Policy{MaxRetries: 5, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxRetryAfter: 10 * time.Second}
	capped := p
	capped.CapRetryAfter = true
	windowed := p
	windowed.Window = 3 * time.Second
	ra := func(retries int, d time.Duration) Answer {
		return Answer{Retries: retries, RetryAfter: d, HasRetryAfter: true}
	}
	tests := []struct {
		name   string
		policy Policy
		answer Answer
		rnd    Rand
		want   time.Duration
		retry  bool
	}{
		{"first wait, top of the jitter", p, Answer{}, highest, 100 * time.Millisecond, true},
		{"first wait, bottom of the jitter", p, Answer{}, lowest, 50 * time.Millisecond, true},
		{"doubles per retry", p, Answer{Retries: 2}, highest, 400 * time.Millisecond, true},
		{"doubles per retry, bottom", p, Answer{Retries: 2}, lowest, 200 * time.Millisecond, true},
		{"stops at MaxBackoff", p, Answer{Retries: 4}, highest, time.Second, true},
		{"stops at MaxBackoff, bottom", p, Answer{Retries: 4}, lowest, 500 * time.Millisecond, true},
		{"attempt budget spent", p, Answer{Retries: 5}, highest, 0, false},
		{"negative retries", p, Answer{Retries: -1}, highest, 0, false},
		{"zero policy never retries", Policy{}, Answer{}, highest, 0, false},
		{"no backoff configured", Policy{MaxRetries: 1}, Answer{}, highest, 0, true},
		{"Retry-After honoured, no jitter", p, ra(0, 7*time.Second), lowest, 7 * time.Second, true},
		{"Retry-After zero", p, ra(3, 0), highest, 0, true},
		{"Retry-After at the cap", p, ra(0, 10*time.Second), highest, 10 * time.Second, true},
		{"Retry-After past the cap gives up", p, ra(0, 11*time.Second), highest, 0, false},
		{"Retry-After past the cap, capped", capped, ra(0, time.Hour), highest, 10 * time.Second, true},
		{"Retry-After does not lift the budget", p, ra(5, time.Second), highest, 0, false},
		{"inside the window", windowed, Answer{Retries: 4, Elapsed: 2 * time.Second}, lowest, 500 * time.Millisecond, true},
		// The ceiling (1 s) decides, whatever the draw: 2.5 s + 1 s ends past 3 s.
		{"past the window by the ceiling", windowed, Answer{Retries: 4, Elapsed: 2500 * time.Millisecond}, lowest, 0, false},
		{"Retry-After past the window", windowed, Answer{Elapsed: time.Second, RetryAfter: 2500 * time.Millisecond, HasRetryAfter: true}, highest, 0, false},
		{"Retry-After inside the window", windowed, Answer{Elapsed: time.Second, RetryAfter: 2 * time.Second, HasRetryAfter: true}, highest, 2 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, retry := tt.policy.Next(tt.answer, tt.rnd)
			if got != tt.want || retry != tt.retry {
				t.Fatalf("Next(%+v) = %v, %v; want %v, %v", tt.answer, got, retry, tt.want, tt.retry)
			}
			// The decision never depends on the draw, so the HTTP hooks may ask twice.
			for _, rnd := range []Rand{lowest, highest} {
				if _, again := tt.policy.Next(tt.answer, rnd); again != tt.retry {
					t.Fatalf("the decision changed with the random source: %v then %v", tt.retry, again)
				}
			}
		})
	}
}

// TestDefaultBitbucketSchedule holds the numbers the package comment promises: waits
// from tens of milliseconds, and a run of 429s without Retry-After ridden out for
// about a minute (the window before this policy: 8 retries from 0.5 s, 60.5 s at most).
func TestDefaultBitbucketSchedule(t *testing.T) {
	t.Parallel()
	p := DefaultBitbucket
	wantCeilingsMs := []int64{50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000, 15000}
	for i, ms := range wantCeilingsMs {
		want := time.Duration(ms) * time.Millisecond
		if got, _ := p.Next(Answer{Retries: i}, highest); got != want {
			t.Errorf("retry %d: ceiling %v, want %v", i, got, want)
		}
		if got, _ := p.Next(Answer{Retries: i}, lowest); got != want/2 {
			t.Errorf("retry %d: floor %v, want %v", i, got, want/2)
		}
	}
	if first, _ := p.Next(Answer{}, highest); first >= 100*time.Millisecond {
		t.Errorf("first wait up to %v, want tens of milliseconds", first)
	}
	// Straight 429s without Retry-After, answered instantly: how many retries and how
	// long the call rides them out, at either end of the jitter.
	for _, tc := range []struct {
		name               string
		rnd                Rand
		minRetries         int
		minTotal, maxTotal time.Duration
	}{
		{"longest waits", highest, 11, 50 * time.Second, 60 * time.Second},
		{"shortest waits", lowest, 12, 30 * time.Second, 60 * time.Second},
	} {
		var total time.Duration
		retries := 0
		for {
			wait, ok := p.Next(Answer{Retries: retries, Elapsed: total}, tc.rnd)
			if !ok {
				break
			}
			total += wait
			retries++
		}
		if retries < tc.minRetries || total < tc.minTotal || total > tc.maxTotal {
			t.Errorf("%s: gave up after %d retries and %v, want ≥ %d retries within [%v, %v]",
				tc.name, retries, total, tc.minRetries, tc.minTotal, tc.maxTotal)
		}
	}
}

func TestAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		want   time.Duration
		ok     bool
	}{
		{"absent", "", 0, false},
		{"seconds", "7", 7 * time.Second, true},
		{"seconds with spaces", " 7 ", 7 * time.Second, true},
		{"zero", "0", 0, true},
		{"negative", "-3", 0, false},
		{"overflowing", "99999999999999999", 0, false},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"garbage", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.header != "" {
				h.Set("Retry-After", tt.header)
			}
			got, ok := After(h, now)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("After(%q) = %v, %v; want %v, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestOfReadsRetryAfterOnlyOn429And503(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for status, want := range map[int]bool{429: true, 503: true, 500: false, 502: false, 504: false, 200: false} {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {"3"}}}
		if _, ok := Of(resp, now); ok != want {
			t.Errorf("status %d: Retry-After read %v, want %v", status, ok, want)
		}
	}
	if _, ok := Of(nil, now); ok {
		t.Error("a transport error (no answer) has no Retry-After")
	}
}
