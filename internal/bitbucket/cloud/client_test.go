package cloud

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/bbtest"
)

const (
	testEmail = "dev@example.com"
	testToken = "cloud-unit-token-7f3a"
)

func cloudError(w http.ResponseWriter, status int, msg string) {
	bbtest.WriteJSON(w, status, map[string]any{"type": "error", "error": map[string]any{"message": msg}})
}

func newTestClient(t *testing.T, base string, cred Credential, opts ...bitbucket.Option) *Client {
	t.Helper()
	c, err := New(cred, append([]bitbucket.Option{bitbucket.WithBaseURL(base), bitbucket.WithRetryPolicy(bbtest.FastRetry)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hookJSON(uuid string) map[string]any {
	return map[string]any{"type": "webhook_subscription", "uuid": uuid, "url": "https://orbit.example.com/webhooks/bitbucket-cloud/main",
		"description": "orbit", "active": true, "events": []string{"repo:push"}, "secret_set": true, "skip_cert_verification": false,
		"subject_type": "repository", "created_at": "2026-08-01T10:00:00Z"}
}

func TestAuthHeaderAndUserAgent(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		bbtest.WriteJSON(w, 200, map[string]any{"type": "user", "display_name": "Dev", "uuid": "{u}"})
	})
	c := newTestClient(t, f.URL+"/2.0/", APIToken(testEmail, testToken), bitbucket.WithUserAgent(bitbucket.UserAgent("1.2.3")))
	u, err := c.CurrentUser(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.DisplayName != "Dev" {
		t.Fatalf("user = %+v", u)
	}
	req := f.Requests()[0]
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testEmail+":"+testToken))
	if got := req.Header.Get("Authorization"); got != wantAuth {
		t.Fatalf("Authorization = %q, want %q", got, wantAuth)
	}
	if got := req.Header.Get("User-Agent"); got != "terraform-provider-orbit/1.2.3" {
		t.Fatalf("User-Agent = %q", got)
	}
	if req.EscapedPath != "/2.0/user" {
		t.Fatalf("path = %q (a base URL ending in /2.0 must not double it)", req.EscapedPath)
	}
}

func TestHookPathsEscapeUUID(t *testing.T) {
	t.Parallel()
	const uuid = "{6c9f7e3a-1b2c-4d5e-8f90-0a1b2c3d4e5f}"
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			bbtest.WriteJSON(w, 200, hookJSON(uuid))
		}
	})
	c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
	ctx := context.Background()
	want := "/2.0/repositories/acme/my%20repo/hooks/%7B6c9f7e3a-1b2c-4d5e-8f90-0a1b2c3d4e5f%7D"

	// With or without braces, the same path.
	if _, err := c.GetHook(ctx, "acme", "my repo", uuid); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetHook(ctx, "acme", "my repo", strings.Trim(uuid, "{}")); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteHook(ctx, "acme", "my repo", uuid); err != nil {
		t.Fatal(err)
	}
	for i, req := range f.Requests() {
		if req.EscapedPath != want {
			t.Errorf("request %d: path %q, want %q", i, req.EscapedPath, want)
		}
	}
}

func TestCreateHookBody(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		bbtest.WriteJSON(w, http.StatusCreated, hookJSON("{new}"))
	})
	c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
	h, err := c.CreateHook(context.Background(), "acme", "infra", CreateHookRequest{
		URL: "https://orbit.example.com/webhooks/bitbucket-cloud/main", Description: "orbit", Active: true,
		Events: []string{"repo:push", "pullrequest:created"}, Secret: "hook-secret-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.UUID != "{new}" || !h.SecretSet || h.CreatedAt.IsZero() {
		t.Fatalf("hook = %+v", h)
	}
	req := f.Requests()[0]
	if req.Method != http.MethodPost || req.EscapedPath != "/2.0/repositories/acme/infra/hooks" {
		t.Fatalf("%s %s", req.Method, req.EscapedPath)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["secret"] != "hook-secret-1" || body["url"] != "https://orbit.example.com/webhooks/bitbucket-cloud/main" || body["active"] != true {
		t.Fatalf("body = %s", req.Body)
	}
	if req.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("Content-Type = %q", req.Header.Get("Content-Type"))
	}
}

func TestCreateHookWithoutSecretOmitsIt(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) { bbtest.WriteJSON(w, 201, hookJSON("{x}")) })
	c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
	if _, err := c.CreateHook(context.Background(), "acme", "infra", CreateHookRequest{URL: "https://x.example.com/h", Events: []string{"repo:push"}}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(f.Requests()[0].Body, []byte(`"secret"`)) {
		t.Fatalf("body carries a secret field: %s", f.Requests()[0].Body)
	}
}

func TestUpdateHookSecretSemantics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		secret     SecretUpdate
		wantSecret any // absent when nil and wantAbsent
		wantAbsent bool
	}{
		{"zero value keeps", SecretUpdate{}, nil, true},
		{"keep", KeepSecret(), nil, true},
		{"set", SetSecret("rotated-secret"), "rotated-secret", false},
		{"remove sends null", RemoveSecret(), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) { bbtest.WriteJSON(w, 200, hookJSON("{h}")) })
			c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
			_, err := c.UpdateHook(context.Background(), "acme", "infra", "{h}", UpdateHookRequest{
				URL: "https://x.example.com/h", Active: true, Events: []string{"repo:push"}, Secret: tt.secret,
			})
			if err != nil {
				t.Fatal(err)
			}
			req := f.Requests()[0]
			if req.Method != http.MethodPut || req.EscapedPath != "/2.0/repositories/acme/infra/hooks/%7Bh%7D" {
				t.Fatalf("%s %s", req.Method, req.EscapedPath)
			}
			var body map[string]any
			if err := json.Unmarshal(req.Body, &body); err != nil {
				t.Fatal(err)
			}
			got, present := body["secret"]
			if present == tt.wantAbsent {
				t.Fatalf("secret present=%v in %s", present, req.Body)
			}
			if present && got != tt.wantSecret {
				t.Fatalf("secret = %#v, want %#v", got, tt.wantSecret)
			}
			if present && got == "" {
				t.Fatal("an empty secret was sent")
			}
		})
	}
}

func TestUpdateHookRefusesEmptySecret(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) { bbtest.WriteJSON(w, 200, hookJSON("{h}")) })
	c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
	_, err := c.UpdateHook(context.Background(), "acme", "infra", "{h}", UpdateHookRequest{
		URL: "https://x.example.com/h", Events: []string{"repo:push"}, Secret: SetSecret(""),
	})
	var vErr *bitbucket.ValidationError
	if !errors.As(err, &vErr) || vErr.Field != "secret" {
		t.Fatalf("err = %v, want a validation error on secret", err)
	}
	if len(f.Requests()) != 0 {
		t.Fatal("a request was sent")
	}
}

func TestListHooksFollowsNext(t *testing.T) {
	t.Parallel()
	var base string
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		page := r.URL.Query().Get("page")
		var values []any
		next := ""
		switch page {
		case "":
			for i := range 100 {
				values = append(values, hookJSON(fmt.Sprintf("{a%d}", i)))
			}
			next = base + "/2.0/repositories/acme/infra/hooks?pagelen=100&page=2"
		case "2":
			for i := range 100 {
				values = append(values, hookJSON(fmt.Sprintf("{b%d}", i)))
			}
			next = base + "/2.0/repositories/acme/infra/hooks?pagelen=100&page=3"
		case "3":
			values = append(values, hookJSON("{c0}"))
		}
		body := map[string]any{"pagelen": 100, "values": values}
		if next != "" {
			body["next"] = next
		}
		bbtest.WriteJSON(w, 200, body)
	})
	base = f.URL
	c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
	hooks, err := c.ListHooks(context.Background(), "acme", "infra")
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 201 || hooks[0].UUID != "{a0}" || hooks[200].UUID != "{c0}" {
		t.Fatalf("got %d hooks", len(hooks))
	}
	reqs := f.Requests()
	if len(reqs) != 3 || reqs[0].Query != "pagelen=100" {
		t.Fatalf("requests: %d, first query %q", len(reqs), reqs[0].Query)
	}
	for _, r := range reqs {
		if r.Header.Get("Authorization") == "" {
			t.Fatal("a page request had no credentials")
		}
	}

	// Stopping early stops fetching.
	count := 0
	for _, err := range c.Hooks(context.Background(), "acme", "infra") {
		if err != nil {
			t.Fatal(err)
		}
		count++
		if count == 5 {
			break
		}
	}
	if got := len(f.Requests()); got != 4 {
		t.Fatalf("breaking after 5 hooks made %d requests in total, want 4", got)
	}
}

func TestListHooksStopsOnRepeatedNext(t *testing.T) {
	t.Parallel()
	var base string
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		bbtest.WriteJSON(w, 200, map[string]any{"values": []any{hookJSON("{x}")}, "next": base + "/2.0/repositories/acme/infra/hooks?page=2"})
	})
	base = f.URL
	c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
	hooks, err := c.ListHooks(context.Background(), "acme", "infra")
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 2 {
		t.Fatalf("got %d hooks, want 2 (first page, page 2, then the repeated link stops)", len(hooks))
	}
}

func TestErrorsAreTyped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		check  func(error) bool
		sends  int // a 429 is retried even for a POST, until MaxRetries
	}{
		{404, bitbucket.IsNotFound, 1},
		{401, bitbucket.IsUnauthorized, 1},
		{403, bitbucket.IsForbidden, 1},
		{429, bitbucket.IsRateLimited, bbtest.FastRetry.MaxRetries + 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) { cloudError(w, tt.status, "bitbucket says no") })
			c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
			_, err := c.CreateHook(context.Background(), "acme", "infra", CreateHookRequest{URL: "https://x.example.com/h", Events: []string{"repo:push"}})
			if !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			apiErr, _ := bitbucket.AsAPIError(err)
			if apiErr.Message != "bitbucket says no" || apiErr.Product != bitbucket.ProductCloud || apiErr.StatusCode != tt.status {
				t.Fatalf("APIError = %+v", apiErr)
			}
			if len(f.Requests()) != tt.sends {
				t.Fatalf("POST sent %d times, want %d", len(f.Requests()), tt.sends)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	type step struct {
		status     int
		retryAfter string
	}
	tests := []struct {
		name      string
		call      func(c *Client) error
		steps     []step // answers before success
		wantCalls int
		wantErr   func(error) bool
	}{
		{
			name:      "GET 429 without Retry-After backs off and succeeds",
			call:      func(c *Client) error { _, err := c.GetHook(context.Background(), "acme", "infra", "{h}"); return err },
			steps:     []step{{429, ""}, {429, ""}},
			wantCalls: 3,
		},
		{
			name:      "GET 429 with Retry-After seconds",
			call:      func(c *Client) error { _, err := c.GetHook(context.Background(), "acme", "infra", "{h}"); return err },
			steps:     []step{{429, "0"}},
			wantCalls: 2,
		},
		{
			name:      "GET 429 with Retry-After HTTP date",
			call:      func(c *Client) error { _, err := c.GetHook(context.Background(), "acme", "infra", "{h}"); return err },
			steps:     []step{{429, time.Now().Add(-time.Second).UTC().Format(http.TimeFormat)}},
			wantCalls: 2,
		},
		{
			name:      "GET 503 then success",
			call:      func(c *Client) error { _, err := c.GetHook(context.Background(), "acme", "infra", "{h}"); return err },
			steps:     []step{{503, ""}},
			wantCalls: 2,
		},
		{
			name: "PUT 502 and 504 then success",
			call: func(c *Client) error {
				_, err := c.UpdateHook(context.Background(), "acme", "infra", "{h}", UpdateHookRequest{URL: "https://x.example.com/h", Events: []string{"repo:push"}})
				return err
			},
			steps:     []step{{502, ""}, {504, ""}},
			wantCalls: 3,
		},
		{
			name:      "DELETE 503 then success",
			call:      func(c *Client) error { return c.DeleteHook(context.Background(), "acme", "infra", "{h}") },
			steps:     []step{{503, ""}},
			wantCalls: 2,
		},
		{
			name: "POST 503 is not retried",
			call: func(c *Client) error {
				_, err := c.CreateHook(context.Background(), "acme", "infra", CreateHookRequest{URL: "https://x.example.com/h", Events: []string{"repo:push"}})
				return err
			},
			steps:     []step{{503, ""}},
			wantCalls: 1,
			wantErr:   func(err error) bool { a, ok := bitbucket.AsAPIError(err); return ok && a.StatusCode == 503 },
		},
		{
			name: "POST 429 is retried (the rate limiter refused it unapplied)",
			call: func(c *Client) error {
				_, err := c.CreateBuildStatus(context.Background(), "acme", "infra", "abc123", BuildStatusRequest{Key: "orbit", State: StateInProgress, URL: "https://o.example.com/r/1"})
				return err
			},
			steps:     []step{{429, "0"}},
			wantCalls: 2,
		},
		{
			name:      "GET gives up after MaxRetries",
			call:      func(c *Client) error { _, err := c.GetHook(context.Background(), "acme", "infra", "{h}"); return err },
			steps:     []step{{503, ""}, {503, ""}, {503, ""}, {503, ""}, {503, ""}},
			wantCalls: 4,
			wantErr:   func(err error) bool { a, ok := bitbucket.AsAPIError(err); return ok && a.StatusCode == 503 },
		},
		{
			name:      "Retry-After beyond the bound is not waited for",
			call:      func(c *Client) error { _, err := c.GetHook(context.Background(), "acme", "infra", "{h}"); return err },
			steps:     []step{{429, "3600"}},
			wantCalls: 1,
			wantErr: func(err error) bool {
				a, ok := bitbucket.AsAPIError(err)
				return ok && a.StatusCode == 429 && a.RetryAfter == time.Hour
			},
		},
		{
			name:      "GET 500 is not retried",
			call:      func(c *Client) error { _, err := c.GetHook(context.Background(), "acme", "infra", "{h}"); return err },
			steps:     []step{{500, ""}},
			wantCalls: 1,
			wantErr:   func(err error) bool { a, ok := bitbucket.AsAPIError(err); return ok && a.StatusCode == 500 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n <= len(tt.steps) {
					s := tt.steps[n-1]
					if s.retryAfter != "" {
						w.Header().Set("Retry-After", s.retryAfter)
					}
					cloudError(w, s.status, "try later")
					return
				}
				switch r.Method {
				case http.MethodDelete:
					w.WriteHeader(204)
				case http.MethodPost:
					bbtest.WriteJSON(w, 201, hookJSON("{h}"))
				default:
					bbtest.WriteJSON(w, 200, hookJSON("{h}"))
				}
			})
			c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
			err := tt.call(c)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr != nil && !tt.wantErr(err) {
				t.Fatalf("err = %v", err)
			}
			if got := len(f.Requests()); got != tt.wantCalls {
				t.Fatalf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestRetryRespectsContext(t *testing.T) {
	t.Parallel()
	answered := make(chan struct{}, 1)
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		cloudError(w, 503, "down")
		select {
		case answered <- struct{}{}:
		default:
		}
	})
	slow := bitbucket.RetryPolicy{MaxRetries: 5, MinBackoff: time.Hour, MaxBackoff: time.Hour, MaxRetryAfter: time.Hour}
	c, err := New(APIToken(testEmail, testToken), bitbucket.WithBaseURL(f.URL), bitbucket.WithRetryPolicy(slow))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.GetHook(ctx, "acme", "infra", "{h}"); done <- err }()
	// Cancel once the first attempt has been answered; the client then waits up to an
	// hour unless it honours the context. The minutes below guard against a hang; they
	// time nothing.
	select {
	case <-answered:
	case <-time.After(time.Minute):
		t.Fatal("the first attempt was never answered")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("GetHook kept waiting after its context was canceled")
	}
	if n := len(f.Requests()); n != 1 {
		t.Fatalf("%d attempts, want 1 (the cancel came during the first wait)", n)
	}
}

func TestAppPasswordRejection(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		cloudError(w, 401, "Bitbucket app passwords are no longer supported.")
	})
	c := newTestClient(t, f.URL, AppPassword("devuser", "legacy-app-pw"))
	_, err := c.ListHooks(context.Background(), "acme", "infra")
	if !IsAppPasswordRejected(err) || !bitbucket.IsUnauthorized(err) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"2026-07-28", "API token", "email", "devuser"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "legacy-app-pw") {
		t.Fatal("error leaks the app password")
	}
	got := c.CheckCredentials(context.Background(), CheckTarget{})
	if got.Reason != bitbucket.ReasonBadCredentials || !strings.Contains(got.Message, "2026-07-28") {
		t.Fatalf("check = %+v", got)
	}

	// An API token's 401 is a plain 401, not the app password message.
	c2 := newTestClient(t, f.URL, APIToken(testEmail, testToken))
	_, err = c2.ListHooks(context.Background(), "acme", "infra")
	if IsAppPasswordRejected(err) || !bitbucket.IsUnauthorized(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestBuildStatuses(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case r.Method == http.MethodPut && n == 1:
			cloudError(w, 404, "No such build status")
		case r.Method == http.MethodPost:
			bbtest.WriteJSON(w, 201, map[string]any{"type": "build", "key": "orbit/tracked", "state": "INPROGRESS", "url": "https://o.example.com/r/1"})
		default:
			bbtest.WriteJSON(w, 200, map[string]any{"type": "build", "key": "orbit/tracked", "state": "SUCCESSFUL", "url": "https://o.example.com/r/1"})
		}
	})
	c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
	ctx := context.Background()
	in := BuildStatusRequest{Key: "orbit/tracked", State: StateInProgress, URL: "https://o.example.com/r/1", Name: "orbit"}
	if _, err := c.SetBuildStatus(ctx, "acme", "infra", "abc123", in); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetBuildStatus(ctx, "acme", "infra", "abc123", in); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBuildStatus(ctx, "acme", "infra", "abc123", "orbit/tracked")
	if err != nil || got.State != StateSuccessful {
		t.Fatalf("got %+v, %v", got, err)
	}
	reqs := f.Requests()
	want := []struct{ method, path string }{
		{"PUT", "/2.0/repositories/acme/infra/commit/abc123/statuses/build/orbit%2Ftracked"},
		{"POST", "/2.0/repositories/acme/infra/commit/abc123/statuses/build"},
		{"PUT", "/2.0/repositories/acme/infra/commit/abc123/statuses/build/orbit%2Ftracked"},
		{"GET", "/2.0/repositories/acme/infra/commit/abc123/statuses/build/orbit%2Ftracked"},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		if reqs[i].Method != w.method || reqs[i].EscapedPath != w.path {
			t.Errorf("request %d: %s %s, want %s %s", i, reqs[i].Method, reqs[i].EscapedPath, w.method, w.path)
		}
	}
	var body map[string]any
	_ = json.Unmarshal(reqs[1].Body, &body)
	if body["key"] != "orbit/tracked" || body["state"] != "INPROGRESS" || body["url"] != "https://o.example.com/r/1" || body["type"] != "build" {
		t.Fatalf("POST body = %s", reqs[1].Body)
	}
}

func TestBuildStatusValidation(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) { t.Error("no request expected") })
	c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
	tests := []struct {
		name  string
		in    BuildStatusRequest
		field string
	}{
		{"key too long", BuildStatusRequest{Key: strings.Repeat("k", 41), State: StateFailed, URL: "https://x"}, "key"},
		{"key empty", BuildStatusRequest{State: StateFailed, URL: "https://x"}, "key"},
		{"bad state", BuildStatusRequest{Key: "k", State: "CANCELLED", URL: "https://x"}, "state"},
		{"no url", BuildStatusRequest{Key: "k", State: StateFailed}, "url"},
	}
	for _, tt := range tests {
		_, err := c.CreateBuildStatus(context.Background(), "acme", "infra", "abc", tt.in)
		var vErr *bitbucket.ValidationError
		if !errors.As(err, &vErr) || vErr.Field != tt.field {
			t.Errorf("%s: err = %v, want field %s", tt.name, err, tt.field)
		}
	}
}

func TestCheckCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request)
		target CheckTarget
		want   bitbucket.CheckReason
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) {
			bbtest.WriteJSON(w, 200, map[string]any{"type": "x", "display_name": "Dev", "slug": "acme"})
		}, CheckTarget{Workspace: "acme", Repository: "infra"}, bitbucket.ReasonOK},
		{"bad credentials", func(w http.ResponseWriter, r *http.Request) { cloudError(w, 401, "Invalid credentials") }, CheckTarget{}, bitbucket.ReasonBadCredentials},
		{"missing scope", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/2.0/user" {
				bbtest.WriteJSON(w, 200, map[string]any{"display_name": "Dev"})
				return
			}
			cloudError(w, 403, "Your credentials lack one or more required privilege scopes.")
		}, CheckTarget{Workspace: "acme"}, bitbucket.ReasonMissingScope},
		{"repository not found", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/2.0/repositories/") {
				cloudError(w, 404, "Repository acme/nope not found")
				return
			}
			bbtest.WriteJSON(w, 200, map[string]any{"display_name": "Dev"})
		}, CheckTarget{Workspace: "acme", Repository: "nope"}, bitbucket.ReasonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) { tt.handle(w, r) })
			c := newTestClient(t, f.URL, APIToken(testEmail, testToken))
			got := c.CheckCredentials(context.Background(), tt.target)
			if got.Reason != tt.want || got.Message == "" {
				t.Fatalf("check = %+v, want %s", got, tt.want)
			}
			if strings.Contains(got.Message, testToken) {
				t.Fatal("message leaks the token")
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		addr := srv.URL
		srv.Close() // nothing listens there any more
		c := newTestClient(t, addr, APIToken(testEmail, testToken))
		got := c.CheckCredentials(context.Background(), CheckTarget{})
		if got.Reason != bitbucket.ReasonUnreachable {
			t.Fatalf("check = %+v", got)
		}
	})
}

func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	const hookSecret = "hook-secret-do-not-print"
	basic := base64.StdEncoding.EncodeToString([]byte(testEmail + ":" + testToken))
	// A hostile or buggy server that echoes the request back in its error message.
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		body, _ := json.Marshal(r.Header)
		status := 400
		if n <= 2 {
			status = 503
		}
		cloudError(w, status, fmt.Sprintf("echo %s auth=%s raw=%s", body, r.Header.Get("Authorization"), strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")))
	})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newTestClient(t, f.URL, APIToken(testEmail, testToken), bitbucket.WithLogger(logger))

	_, err1 := c.UpdateHook(context.Background(), "acme", "infra", "{h}", UpdateHookRequest{
		URL: "https://x.example.com/h", Events: []string{"repo:push"}, Secret: SetSecret(hookSecret),
	})
	_, err2 := c.CreateHook(context.Background(), "acme", "infra", CreateHookRequest{URL: "https://x.example.com/h", Events: []string{"repo:push"}, Secret: hookSecret})
	in := CreateHookRequest{URL: "https://x.example.com/h", Events: []string{"repo:push"}, Secret: hookSecret}
	printed := fmt.Sprintf("%v %+v %#v %s", in, in, in, APIToken(testEmail, testToken))
	logger.Info("request", "in", in, "secret", in.Secret)

	if err1 == nil || err2 == nil {
		t.Fatal("expected errors")
	}
	if logs.Len() == 0 {
		t.Fatal("no logs captured; the test would prove nothing")
	}
	for _, text := range []string{err1.Error(), err2.Error(), logs.String(), printed} {
		for _, secret := range []string{testToken, basic, hookSecret} {
			if strings.Contains(text, secret) {
				t.Errorf("leak of %q in %q", secret, text)
			}
		}
	}
}
