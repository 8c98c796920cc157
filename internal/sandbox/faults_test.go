package sandbox_test

import (
	"encoding/json"
	"testing"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		fault          map[string]any
		path           string
		auth           auth
		wantStatuses   []int
		wantRetryAfter string
	}{
		{"429 with Retry-After for the next two", map[string]any{"status": 429, "retry_after": 7, "count": 2}, "/2.0/user", cloudAdmin(), []int{429, 429, 200}, "7"},
		{"429 without Retry-After", map[string]any{"status": 429}, "/2.0/user", cloudAdmin(), []int{429, 200}, ""},
		{"503 on Data Center", map[string]any{"status": 503, "count": 1}, "/rest/api/latest/projects", dcAdmin(), []int{503, 200}, ""},
		{"path filter skips other paths", map[string]any{"status": 500, "count": 5, "path_prefix": "/rest/"}, "/2.0/user", cloudAdmin(), []int{200, 200}, ""},
		{"method filter", map[string]any{"status": 502, "method": "POST"}, "/2.0/user", cloudAdmin(), []int{200}, ""},
		{"ratio fails half, spread evenly", map[string]any{"status": 504, "ratio": 0.5}, "/2.0/user", cloudAdmin(), []int{200, 504, 200, 504, 200, 504}, ""},
		{"latency only still answers", map[string]any{"latency_ms": 1}, "/2.0/user", cloudAdmin(), []int{200}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := start(t)
			c.expect("POST", "/_sandbox/faults", nil, tt.fault, 201)
			for i, want := range tt.wantStatuses {
				r := c.expect("GET", tt.path, tt.auth, nil, want)
				if want >= 400 {
					if got := r.header.Get("Retry-After"); got != tt.wantRetryAfter {
						t.Fatalf("request %d: Retry-After %q, want %q", i, got, tt.wantRetryAfter)
					}
					if tt.path == "/2.0/user" {
						cloudErrorMessage(t, r)
					} else {
						dcException(t, r)
					}
				}
			}
		})
	}
}

func TestFaultsNeverHitControl(t *testing.T) {
	t.Parallel()
	c := start(t)
	c.expect("POST", "/_sandbox/faults", nil, map[string]any{"status": 500, "ratio": 1}, 201)
	c.expect("GET", "/_sandbox/deliveries", nil, nil, 200)
	c.expect("GET", "/2.0/user", cloudAdmin(), nil, 500)
	c.expect("POST", "/_sandbox/faults", nil, map[string]any{"status": 500, "path_prefix": "/_sandbox"}, 400)
	c.expect("POST", "/_sandbox/faults", nil, map[string]any{"status": 418}, 400)
	c.expect("DELETE", "/_sandbox/faults", nil, nil, 204)
	c.expect("GET", "/2.0/user", cloudAdmin(), nil, 200)

	var log struct {
		Requests []struct {
			Path   string `json:"path"`
			Status int    `json:"status"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(c.expect("GET", "/_sandbox/requests", nil, nil, 200).body, &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Requests) != 2 || log.Requests[0].Status != 500 || log.Requests[1].Status != 200 {
		t.Fatalf("request log should hold the two API calls only: %+v", log.Requests)
	}
}

func TestControlSeedAndReset(t *testing.T) {
	t.Parallel()
	c := start(t)
	c.expect("POST", "/_sandbox/seed", nil, `{"cloud":{"repositories":[{"workspace":"missing","slug":"x"}]}}`, 400)
	c.expect("POST", "/_sandbox/seed", nil, `{"cloud":{"users":[{"email":"new@example.com","api_tokens":[{"token":"t","scopes":["superuser"]}]}]}}`, 400)
	c.expect("POST", "/_sandbox/seed", nil, `{"cloud":{"users":[{"email":"new@example.com","api_tokens":[{"token":"new-token","scopes":["read"]}]}]}}`, 204)
	c.expect("GET", "/2.0/user", basic("new@example.com", "new-token"), nil, 200)
	c.expect("POST", "/_sandbox/events", nil, `{"product":"cloud","workspace":"acme","repository":"infra","event":"repo:refs_changed"}`, 400)
	c.expect("POST", "/_sandbox/reset", nil, nil, 204)
	c.expect("GET", "/2.0/user", cloudAdmin(), nil, 401)
}
