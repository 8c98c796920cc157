package orbitapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

const testAPIKey = "orbit_k1_c2VjcmV0LXBhcnQtb2YtdGhlLWtleS1kby1ub3QtbG9n"

// newTestClient starts handler on loopback and returns a client for it with fast,
// bounded retries.
//
//nolint:unparam // opts lets a test override the fast retry defaults
func newTestClient(t *testing.T, handler http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	opts = append([]Option{WithRetry(2, time.Millisecond, 2*time.Millisecond), WithRetryAfterMax(5 * time.Millisecond), WithVersion("1.2.3")}, opts...)
	c, err := NewClient(srv.URL, testAPIKey, opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message, field string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message, "field": field}})
}

func TestNewClientRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, endpoint, key, want string
	}{
		{"empty endpoint", "", "k", "endpoint is empty"},
		{"empty key", "https://orbit.example.com", " ", "API key is empty"},
		{"relative", "orbit.example.com", "k", "absolute http"},
		{"ftp", "ftp://orbit.example.com", "k", "absolute http"},
		{"userinfo", "https://user:pw@orbit.example.com", "k", "must not contain credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewClient(tt.endpoint, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewClient(%q) error = %v, want it to contain %q", tt.endpoint, err, tt.want)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Fatalf("error leaks URL credentials: %v", err)
			}
		})
	}
}

func TestEndpointWithAPIPrefixOrPath(t *testing.T) {
	t.Parallel()
	var gotPath atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath.Store(r.URL.EscapedPath())
		writeJSON(w, 200, Space{ID: "root"})
	}))
	t.Cleanup(srv.Close)
	for _, endpoint := range []string{srv.URL, srv.URL + "/", srv.URL + "/api/v1", srv.URL + "/orbit/api/v1/"} {
		c, err := NewClient(endpoint, testAPIKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Spaces.Get(context.Background(), "a b/c"); err != nil {
			t.Fatalf("%s: %v", endpoint, err)
		}
		want := "/api/v1/spaces/a%20b%2Fc"
		if strings.Contains(endpoint, "/orbit") {
			want = "/orbit" + want
		}
		if got := gotPath.Load(); got != want {
			t.Errorf("endpoint %q: path = %v, want %v", endpoint, got, want)
		}
	}
}

func TestCreateIntegrationWireFormat(t *testing.T) {
	t.Parallel()
	token := "ATBB-cloud-api-token-value"
	var gotBody map[string]any
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/integrations" {
			t.Errorf("got %s %s, want POST /api/v1/integrations", r.Method, r.URL.Path)
		}
		if got := r.URL.Query().Get("check_credentials"); got != "false" {
			t.Errorf("check_credentials = %q, want false", got)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+testAPIKey {
			t.Errorf("Authorization = %q", got)
		}
		if got := r.Header.Get("User-Agent"); got != "terraform-provider-orbit/1.2.3" {
			t.Errorf("User-Agent = %q", got)
		}
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q", got)
		}
		if err := json.NewDecoder(r.Body).Decode(&gotBody); err != nil {
			t.Errorf("decoding body: %v", err)
		}
		writeJSON(w, http.StatusCreated, map[string]any{
			"id": "int-1", "provider": "bitbucket_cloud", "name": "main", "is_default": true, "space_id": "root",
			"description": "", "labels": []string{"a", "b"}, "vcs_checks": "individual",
			"webhook_url": "https://orbit.example.com/webhooks/bitbucket-cloud/main", "webhook_secret": strings.Repeat("ab", 32),
			"email": "dev@example.com", "auth_method": "api_token",
			"created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:06Z",
		})
	})

	got, err := c.Integrations.Create(context.Background(), IntegrationRequest{
		Provider: ProviderBitbucketCloud, Name: "main", IsDefault: true,
		Email: "dev@example.com", APIToken: &token, SkipCredentialCheck: true,
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}

	wantBody := map[string]any{
		"provider": "bitbucket_cloud", "name": "main", "is_default": true, "description": "",
		"labels": []any{}, "email": "dev@example.com", "api_token": token,
	}
	if fmt.Sprint(gotBody) != fmt.Sprint(wantBody) {
		t.Errorf("request body = %v\nwant %v", gotBody, wantBody)
	}
	for _, absent := range []string{"space_id", "app_password", "access_token", "use_git_checkout", "vcs_checks", "SkipCredentialCheck"} {
		if _, ok := gotBody[absent]; ok {
			t.Errorf("request body carries %q; it must be left out when unset", absent)
		}
	}
	if got.ID != "int-1" || got.SpaceID != "root" || !got.IsDefault || String(got.AuthMethod) != AuthMethodAPIToken ||
		len(got.Labels) != 2 || got.UpdatedAt.Sub(got.CreatedAt.Time) != time.Second {
		t.Errorf("decoded integration = %+v", got)
	}
}

func TestUpdateWithoutCredentialKeepsItOffTheWire(t *testing.T) {
	t.Parallel()
	var raw []byte
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		raw, _ = io.ReadAll(r.Body)
		writeJSON(w, 200, Integration{ID: "int-1"})
	})
	useGit := false
	if _, err := c.Integrations.Update(context.Background(), "int-1", IntegrationRequest{
		Provider: ProviderBitbucketDataCenter, Name: "dc", SpaceID: "s1", Username: "svc",
		APIHost: "https://bb.example.com", UseGitCheckout: &useGit,
	}); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["access_token"]; ok {
		t.Errorf("update without a new token sent access_token: %s", raw)
	}
	if v, ok := body["use_git_checkout"]; !ok || v != false {
		t.Errorf("use_git_checkout = %v (present %v), want an explicit false", v, ok)
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		status                 int
		body                   string
		wantCode, wantField    string
		wantMessage            string
		notFound, conflict     bool
		unauthenticated, perms bool
	}{
		{name: "not found", status: 404, body: `{"error":{"code":"not_found","message":"integration not found"}}`,
			wantCode: "not_found", wantMessage: "integration not found", notFound: true},
		{name: "conflict on name", status: 409, body: `{"error":{"code":"conflict","message":"name already taken","field":"name"}}`,
			wantCode: "conflict", wantField: "name", wantMessage: "name already taken", conflict: true},
		{name: "bad argument", status: 400, body: `{"error":{"code":"invalid_argument","message":"bad vcs_checks","field":"vcs_checks"}}`,
			wantCode: "invalid_argument", wantField: "vcs_checks", wantMessage: "bad vcs_checks"},
		{name: "unauthenticated", status: 401, body: `{"error":{"code":"unauthenticated","message":"unknown key"}}`,
			wantCode: "unauthenticated", wantMessage: "unknown key", unauthenticated: true},
		{name: "forbidden", status: 403, body: `{"error":{"code":"permission_denied","message":"admin needed"}}`,
			wantCode: "permission_denied", wantMessage: "admin needed", perms: true},
		// Not orbit's body: a 404 from a proxy or another service says nothing about
		// the object, so it must never read as "deleted".
		{name: "html from a proxy", status: 404, body: "<html>nope</html>", wantMessage: "<html>nope</html>"},
		{name: "json 404 of another service", status: 404, body: `{"message":"Not Found"}`, wantMessage: `{"message":"Not Found"}`},
		{name: "orbit shape, another code", status: 404, body: `{"error":{"code":"gone","message":"x"}}`, wantCode: "gone", wantMessage: "x"},
		{name: "empty body", status: 400, body: "", wantMessage: "Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req-42")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := c.Integrations.Get(context.Background(), "int-1")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T) is not an *APIError", err, err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Code != tt.wantCode || apiErr.Field != tt.wantField ||
				apiErr.Message != tt.wantMessage || apiErr.RequestID != "req-42" {
				t.Errorf("APIError = %+v", apiErr)
			}
			if IsNotFound(err) != tt.notFound || IsConflict(err) != tt.conflict ||
				IsUnauthenticated(err) != tt.unauthenticated || IsPermissionDenied(err) != tt.perms {
				t.Errorf("predicates wrong for %v", err)
			}
			if !strings.Contains(err.Error(), "GET /api/v1/integrations/int-1") {
				t.Errorf("error %q does not name the call", err)
			}
		})
	}
	if IsNotFound(errors.New("not found")) || IsNotFound(nil) || IsNotFound(&APIError{StatusCode: 404}) {
		t.Error("IsNotFound must only match an *APIError with status 404 and code not_found")
	}
	wrapped := fmt.Errorf("reading: %w", &APIError{StatusCode: 404, Code: "not_found"})
	if !IsNotFound(wrapped) {
		t.Error("IsNotFound must see through wrapping")
	}
}

func TestRetryRules(t *testing.T) {
	t.Parallel()
	// RetryMax is 2 in newTestClient: a retried request is tried 3 times.
	tests := []struct {
		method       string
		status       int
		wantAttempts int32
	}{
		{"GET", 503, 3},
		{"GET", 500, 3},
		{"PUT", 502, 3},
		{"DELETE", 504, 3},
		{"GET", 429, 3},
		{"POST", 429, 3}, // throttled: the server did not process it
		{"POST", 503, 3}, // the Idempotency-Key makes a repeat safe
		{"POST", 500, 3},
		{"GET", 501, 1},
		{"GET", 400, 1},
		{"PUT", 409, 1},
		{"DELETE", 404, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.method, tt.status), func(t *testing.T) {
			t.Parallel()
			var attempts atomic.Int32
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				if r.Method != tt.method {
					t.Errorf("method %s, want %s", r.Method, tt.method)
				}
				// Every attempt carries the full body again.
				if r.Method == "POST" || r.Method == "PUT" {
					if b, _ := io.ReadAll(r.Body); !bytes.Contains(b, []byte(`"name":"n"`)) {
						t.Errorf("attempt %d body = %s", attempts.Load(), b)
					}
				}
				writeError(w, tt.status, "x", "failing on purpose", "")
			})
			ctx := context.Background()
			var err error
			switch tt.method {
			case "GET":
				_, err = c.Spaces.Get(ctx, "s1")
			case "PUT":
				_, err = c.Spaces.Update(ctx, "s1", SpaceRequest{Name: "n"})
			case "DELETE":
				err = c.Spaces.Delete(ctx, "s1")
			case "POST":
				_, err = c.Spaces.Create(ctx, SpaceRequest{Name: "n"})
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status {
				t.Fatalf("error = %v, want an *APIError with status %d", err, tt.status)
			}
			if got := attempts.Load(); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	var attempts atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			// An hour: the client must cap it (5ms in tests) rather than hang.
			w.Header().Set("Retry-After", "3600")
			writeError(w, http.StatusTooManyRequests, "rate_limited", "slow down", "")
			return
		}
		writeJSON(w, http.StatusCreated, Space{ID: "s1", Name: "n"})
	})
	done := make(chan struct{})
	var got *Space
	var err error
	go func() {
		defer close(done)
		got, err = c.Spaces.Create(context.Background(), SpaceRequest{Name: "n"})
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // a deadlock guard, not a timing assertion
		t.Fatal("Create did not return: Retry-After was not bounded")
	}
	if err != nil || got.ID != "s1" || attempts.Load() != 2 {
		t.Fatalf("Create = %+v, %v after %d attempts", got, err, attempts.Load())
	}
}

// TestTransportErrorsRetryEveryMethod: a dropped connection is retried for POST too,
// with the same Idempotency-Key on every attempt, so a create whose answer was lost is
// answered by orbit-server's stored answer instead of running twice.
func TestTransportErrorsRetryEveryMethod(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			var attempts atomic.Int32
			var keys sync.Map
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				keys.Store(r.Header.Get("Idempotency-Key"), true)
				// Drop the connection without an answer.
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			})
			var err error
			if method == "GET" {
				_, err = c.Spaces.Get(context.Background(), "s1")
			} else {
				_, err = c.Spaces.Create(context.Background(), SpaceRequest{Name: "n"})
			}
			if err == nil {
				t.Fatal("want an error for a dropped connection")
			}
			if strings.Contains(err.Error(), testAPIKey) {
				t.Errorf("error leaks the API key: %v", err)
			}
			if got := attempts.Load(); got != 3 {
				t.Errorf("attempts = %d, want 3", got)
			}
			var seen []string
			keys.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
			switch {
			case method == "GET" && (len(seen) != 1 || seen[0] != ""):
				t.Errorf("GET sent Idempotency-Key %q", seen)
			case method == "POST" && (len(seen) != 1 || len(seen[0]) != 36):
				t.Errorf("POST attempts sent Idempotency-Keys %q, want one UUID on every attempt", seen)
			}
		})
	}
}

// TestBackoffHonoursRetryAfterWithinBound: the client's Backoff hook is the retry
// policy with the client's options (the schedule itself is tested in package retry).
func TestBackoffHonoursRetryAfterWithinBound(t *testing.T) {
	t.Parallel()
	c, err := NewClient("https://orbit.example.com", "k", WithRetry(30, time.Second, 10*time.Second), WithRetryAfterMax(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	answer := func(status int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	inTenSeconds := time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name     string
		resp     *http.Response
		attempt  int
		min, max time.Duration
	}{
		{"seconds", answer(429, "7"), 0, 7 * time.Second, 7 * time.Second},
		{"capped", answer(429, "3600"), 0, 30 * time.Second, 30 * time.Second},
		{"http date", answer(503, inTenSeconds), 0, 8 * time.Second, 10 * time.Second},
		{"date in the past", answer(429, "Mon, 02 Jan 2006 15:04:05 GMT"), 0, 0, 0},
		{"no header: exponential", answer(429, ""), 2, 2 * time.Second, 4 * time.Second},
		{"garbage header: exponential", answer(429, "soon"), 1, time.Second, 2 * time.Second},
		{"500 ignores Retry-After", answer(500, "7"), 0, 500 * time.Millisecond, time.Second},
		{"exponential capped", nil, 20, 5 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		got := c.http.Backoff(0, 0, tt.attempt, tt.resp)
		if got < tt.min || got > tt.max {
			t.Errorf("%s: backoff = %v, want within [%v, %v]", tt.name, got, tt.min, tt.max)
		}
	}
}

func TestSecretsStayOutOfErrorsAndLogs(t *testing.T) {
	t.Parallel()
	token := "dc-access-token-must-stay-secret"
	// A misbehaving server (or proxy) that echoes the request body in its error.
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		writeError(w, 400, "invalid_argument", "bad request: "+string(b)+" auth "+r.Header.Get("Authorization"), "access_token")
	})
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	_, err := c.Integrations.Create(ctx, IntegrationRequest{
		Provider: ProviderBitbucketDataCenter, Name: "dc", SpaceID: "s1", Username: "svc",
		APIHost: "https://bb.example.com", AccessToken: &token,
	})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, secret := range []string{token, testAPIKey} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error string contains a secret: %v", err)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log contains a secret: %s", logs.String())
		}
	}
	if !strings.Contains(err.Error(), "bad request:") || !strings.Contains(err.Error(), "***") || !strings.Contains(err.Error(), `(field "access_token")`) {
		t.Errorf("error %q lost its message, mask or field", err)
	}

	entries, decodeErr := tflogtest.MultilineJSONDecode(&logs)
	if decodeErr != nil {
		t.Fatal(decodeErr)
	}
	var found bool
	for _, e := range entries {
		if e["@message"] == "orbit API request" {
			found = true
			if e["method"] != "POST" || e["path"] != "/api/v1/integrations" || e["status"] != float64(400) {
				t.Errorf("log entry = %v", e)
			}
			if _, ok := e["duration_ms"]; !ok {
				t.Errorf("log entry has no duration: %v", e)
			}
		}
	}
	if !found {
		t.Errorf("no request log entry in %s", logs.String())
	}
}

func TestListAllFollowsPagesAndFilters(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		q := r.URL.Query()
		if q.Get("provider") != "bitbucket_cloud" || q.Get("space_id") != "s1" || q.Get("name") != "" ||
			strings.Join(q["label"], ",") != "team:a,env:prod" {
			t.Errorf("query = %v", q)
		}
		switch q.Get("page_token") {
		case "":
			writeJSON(w, 200, map[string]any{"items": []Integration{{ID: "a"}, {ID: "b"}}, "next_page_token": "p2"})
		case "p2":
			writeJSON(w, 200, map[string]any{"items": []Integration{{ID: "c"}}, "next_page_token": "p3"})
		case "p3":
			writeJSON(w, 200, map[string]any{"items": []Integration{{ID: "d"}}})
		default:
			t.Errorf("unexpected page token %q", q.Get("page_token"))
		}
	})
	got, err := c.Integrations.ListAll(context.Background(), IntegrationListOptions{
		ListOptions: ListOptions{SpaceID: "s1", Labels: []string{"team:a", "env:prod"}},
		Provider:    ProviderBitbucketCloud,
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, i := range got {
		ids = append(ids, i.ID)
	}
	if strings.Join(ids, ",") != "a,b,c,d" || calls.Load() != 3 {
		t.Errorf("ListAll ids = %v after %d calls", ids, calls.Load())
	}
}

func TestListAllStopsOnRepeatedToken(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 200, map[string]any{"items": []Space{{ID: "x"}}, "next_page_token": "same"})
	})
	got, err := c.Spaces.ListAll(context.Background(), ListOptions{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || len(got) != 2 {
		t.Errorf("calls = %d, items = %d; a repeated token must end the loop", calls.Load(), len(got))
	}
}

func TestExtraIntegrationRoutes(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "POST /api/v1/integrations/i1/rotate-secret":
			writeJSON(w, 200, Integration{ID: "i1", WebhookSecret: "new"})
		case "GET /api/v1/integrations/i1/webhook":
			writeJSON(w, 200, IntegrationWebhook{IntegrationID: "i1", Provider: "bitbucket_cloud", WebhookSecret: "s", RequiredEvents: []string{"repo:push"}})
		case "POST /api/v1/integrations/i1/validate":
			writeJSON(w, 200, Validation{Valid: true, Reason: "skipped"})
		case "DELETE /api/v1/integrations/i1":
			w.WriteHeader(http.StatusNoContent)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(500)
		}
	})
	ctx := context.Background()
	rotated, err := c.Integrations.RotateSecret(ctx, "i1")
	if err != nil || rotated.WebhookSecret != "new" {
		t.Errorf("RotateSecret = %+v, %v", rotated, err)
	}
	hook, err := c.Integrations.Webhook(ctx, "i1")
	if err != nil || hook.WebhookSecret != "s" || len(hook.RequiredEvents) != 1 {
		t.Errorf("Webhook = %+v, %v", hook, err)
	}
	v, err := c.Integrations.Validate(ctx, "i1")
	if err != nil || !v.Valid || v.Reason != "skipped" {
		t.Errorf("Validate = %+v, %v", v, err)
	}
	if err := c.Integrations.Delete(ctx, "i1"); err != nil {
		t.Errorf("Delete: %v", err)
	}
}

func TestEveryPostCarriesAFreshIdempotencyKey(t *testing.T) {
	t.Parallel()
	var keys []string
	var mu sync.Mutex
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Method+" "+r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"id": "x"})
	})
	ctx := context.Background()
	_, _ = c.Spaces.Create(ctx, SpaceRequest{Name: "a"})
	_, _ = c.Spaces.Create(ctx, SpaceRequest{Name: "a"})
	_, _ = c.Stacks.Create(ctx, StackRequest{Name: "a"})
	_, _ = c.Integrations.Create(ctx, IntegrationRequest{Name: "a"})
	_, _ = c.Integrations.RotateSecret(ctx, "i")
	_, _ = c.Integrations.Validate(ctx, "i")
	_, _ = c.Spaces.Get(ctx, "a")
	seen := map[string]bool{}
	for _, k := range keys[:6] {
		key := strings.TrimPrefix(k, "POST ")
		if len(key) != 36 || seen[key] {
			t.Errorf("POST keys = %q: each POST needs its own UUID", keys)
		}
		seen[key] = true
	}
	if keys[6] != "GET " {
		t.Errorf("GET carried an Idempotency-Key: %q", keys[6])
	}
}

// TestRedactMasksOnlyWholeLongSecrets: the observed garbling with a short token, and
// the field that lost its attribute.
func TestRedactMasksOnlyWholeLongSecrets(t *testing.T) {
	t.Parallel()
	short := "t"
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusConflict, "conflict", "this provider already has a default integration", "is_default")
	})
	_, err := c.Integrations.Create(context.Background(), IntegrationRequest{Name: "a", APIToken: &short})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatal(err)
	}
	if apiErr.Message != "this provider already has a default integration" || apiErr.Field != "is_default" {
		t.Fatalf("message %q field %q were garbled by masking a short token", apiErr.Message, apiErr.Field)
	}
	tests := []struct{ in, want string }{
		{"token s3cr3t-t0ken-value here", "token *** here"},
		{"s3cr3t-t0ken-value-longer too", "*** too"}, // the longer secret wins
		{"short abc stays", "short abc stays"},
	}
	for _, tt := range tests {
		if got := redact(tt.in, []string{"abc", "s3cr3t-t0ken-value", "s3cr3t-t0ken-value-longer"}); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWhoamiTellsOrbitFromOtherServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                      string
		handler                   http.HandlerFunc
		notOrbit, unauthenticated bool
	}{
		{"orbit", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, Whoami{ID: "k_1", Name: "n", Spaces: []SpaceAccess{{SpaceID: "s", Role: "read"}}})
		}, false, false},
		{"plain 404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, true, false},
		{"html 200", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>welcome</html>") }, true, false},
		{"other json 200", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"status": "ok"}) }, true, false},
		{"orbit 401", func(w http.ResponseWriter, r *http.Request) { writeError(w, 401, "unauthenticated", "unknown key", "") }, false, true},
		{"orbit route missing", func(w http.ResponseWriter, r *http.Request) { writeError(w, 404, "not_found", "no such route", "") }, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, tt.handler)
			who, err := c.Whoami(context.Background())
			if errors.Is(err, ErrNotOrbitServer) != tt.notOrbit || IsUnauthenticated(err) != tt.unauthenticated {
				t.Fatalf("Whoami = %+v, %v", who, err)
			}
			if err == nil && (who.ID != "k_1" || who.Role("s") != "read" || who.Role("other") != "") {
				t.Fatalf("Whoami = %+v", who)
			}
		})
	}
	rootAdmin := Whoami{Spaces: []SpaceAccess{{SpaceID: "root", Role: "admin"}}}
	if !rootAdmin.Can("made-later", RoleAdmin) {
		t.Error("admin on root must be admin on every space")
	}
}
