package datacenter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/bbtest"
)

const testToken = "dc-unit-token-91bd"

func dcError(w http.ResponseWriter, status int, msg, exception string) {
	bbtest.WriteJSON(w, status, map[string]any{"errors": []any{map[string]any{"context": nil, "message": msg, "exceptionName": exception}}})
}

func newTestClient(t *testing.T, base string, opts ...bitbucket.Option) *Client {
	t.Helper()
	c, err := New(testToken, append([]bitbucket.Option{bitbucket.WithBaseURL(base), bitbucket.WithRetryPolicy(bbtest.FastRetry)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func webhookJSON(id int) map[string]any {
	return map[string]any{"id": id, "name": "orbit", "url": "https://orbit.example.com/webhooks/bitbucket-datacenter/main",
		"active": true, "events": []string{"repo:refs_changed"}, "sslVerificationRequired": true, "scopeType": "repository",
		"configuration": map[string]any{"createdBy": "bitbucket"}, "createdDate": 1754000000000, "updatedDate": 1754000000000}
}

func TestNewRequiresBaseURLAndToken(t *testing.T) {
	t.Parallel()
	var vErr *bitbucket.ValidationError
	if _, err := New(testToken); !errors.As(err, &vErr) || vErr.Field != "base_url" {
		t.Fatalf("err = %v", err)
	}
	if _, err := New("", bitbucket.WithBaseURL("https://bitbucket.example.com")); !errors.As(err, &vErr) || vErr.Field != "access_token" {
		t.Fatalf("err = %v", err)
	}
}

func TestWebhookCRUDWireFormat(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			bbtest.WriteJSON(w, http.StatusOK, webhookJSON(12))
		default:
			bbtest.WriteJSON(w, http.StatusOK, webhookJSON(12))
		}
	})
	c := newTestClient(t, f.URL+"/context/", bitbucket.WithUserAgent("terraform-provider-orbit/0.1.0"))
	ctx := context.Background()

	created, err := c.CreateWebhook(ctx, "PLAT", "infra", CreateWebhookRequest{
		Name: "orbit", URL: "https://orbit.example.com/webhooks/bitbucket-datacenter/main", Active: true,
		Events: []string{"repo:refs_changed", "pr:opened"}, SSLVerificationRequired: true, Secret: "dc-hook-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID != 12 || !created.SSLVerificationRequired || created.Secret != "" {
		t.Fatalf("created = %+v", created)
	}
	if _, err := c.GetWebhook(ctx, "PLAT", "infra", 12); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateWebhook(ctx, "PLAT", "infra", 12, UpdateWebhookRequest{Name: "orbit", URL: "https://orbit.example.com/x", Events: []string{"pr:opened"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteWebhook(ctx, "PLAT", "infra", 12); err != nil {
		t.Fatal(err)
	}

	reqs := f.Requests()
	want := []struct{ method, path string }{
		{"POST", "/context/rest/api/latest/projects/PLAT/repos/infra/webhooks"},
		{"GET", "/context/rest/api/latest/projects/PLAT/repos/infra/webhooks/12"},
		{"PUT", "/context/rest/api/latest/projects/PLAT/repos/infra/webhooks/12"},
		{"DELETE", "/context/rest/api/latest/projects/PLAT/repos/infra/webhooks/12"},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, w := range want {
		if reqs[i].Method != w.method || reqs[i].EscapedPath != w.path {
			t.Errorf("request %d: %s %s, want %s %s", i, reqs[i].Method, reqs[i].EscapedPath, w.method, w.path)
		}
		if got := reqs[i].Header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("request %d: Authorization %q", i, got)
		}
		if got := reqs[i].Header.Get("User-Agent"); got != "terraform-provider-orbit/0.1.0" {
			t.Errorf("request %d: User-Agent %q", i, got)
		}
	}
	var body struct {
		Name          string            `json:"name"`
		Events        []string          `json:"events"`
		SSL           bool              `json:"sslVerificationRequired"`
		Configuration map[string]string `json:"configuration"`
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Name != "orbit" || !body.SSL || body.Configuration["secret"] != "dc-hook-secret" || len(body.Events) != 2 {
		t.Fatalf("create body = %s", reqs[0].Body)
	}
}

func TestUpdateWebhookSecretSemantics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret SecretUpdate
		want   string // configuration JSON, "" when absent
	}{
		{"zero value keeps", SecretUpdate{}, ""},
		{"set", SetSecret("new-secret"), `{"secret":"new-secret"}`},
		{"remove", RemoveSecret(), `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) { bbtest.WriteJSON(w, 200, webhookJSON(3)) })
			c := newTestClient(t, f.URL)
			if _, err := c.UpdateWebhook(context.Background(), "PLAT", "infra", 3, UpdateWebhookRequest{
				Name: "orbit", URL: "https://orbit.example.com/x", Events: []string{"pr:opened"}, Secret: tt.secret,
			}); err != nil {
				t.Fatal(err)
			}
			var body map[string]json.RawMessage
			if err := json.Unmarshal(f.Requests()[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if got := string(body["configuration"]); got != tt.want {
				t.Fatalf("configuration = %q, want %q", got, tt.want)
			}
		})
	}
	c := newTestClient(t, "https://bitbucket.invalid")
	_, err := c.UpdateWebhook(context.Background(), "PLAT", "infra", 3, UpdateWebhookRequest{Name: "o", URL: "https://x.example.com", Events: []string{"pr:opened"}, Secret: SetSecret("")})
	var vErr *bitbucket.ValidationError
	if !errors.As(err, &vErr) || vErr.Field != "secret" {
		t.Fatalf("empty secret: err = %v", err)
	}
}

func TestOlderServerSecretIsRead(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		h := webhookJSON(5)
		h["configuration"] = map[string]any{"secret": "returned-by-old-server"}
		bbtest.WriteJSON(w, 200, h)
	})
	c := newTestClient(t, f.URL)
	h, err := c.GetWebhook(context.Background(), "PLAT", "infra", 5)
	if err != nil {
		t.Fatal(err)
	}
	if h.Secret.Reveal() != "returned-by-old-server" {
		t.Fatal("secret from configuration not read")
	}
	if s := fmt.Sprintf("%v %+v", h, h); strings.Contains(s, "returned-by-old-server") {
		t.Fatalf("printing a webhook leaks its secret: %s", s)
	}
}

// pager serves total webhooks in pages of at most limit, with a configurable quirk.
func pager(total, maxLimit int, quirk string) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		limit = min(limit, maxLimit)
		var values []any
		for i := start; i < min(start+limit, total); i++ {
			values = append(values, webhookJSON(i+1))
		}
		last := start+limit >= total
		page := map[string]any{"start": start, "limit": limit, "size": len(values), "values": values, "isLastPage": last}
		if !last {
			switch quirk {
			case "no nextPageStart":
				// some endpoints omit it: the client must stop, not loop on start=0
			case "stuck":
				page["nextPageStart"] = start
			default:
				page["nextPageStart"] = start + len(values)
			}
		}
		bbtest.WriteJSON(w, 200, page)
	}
}

func TestListWebhooksPaging(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		total     int
		maxLimit  int
		quirk     string
		wantHooks int
		wantCalls int
	}{
		{"single page", 3, 100, "", 3, 1},
		{"three pages capped at 25", 60, 25, "", 60, 3},
		{"exact multiple", 200, 100, "", 200, 2},
		{"page without nextPageStart stops", 60, 25, "no nextPageStart", 25, 1},
		{"nextPageStart not advancing stops", 60, 25, "stuck", 25, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := bbtest.NewFake(t, pager(tt.total, tt.maxLimit, tt.quirk))
			c := newTestClient(t, f.URL)
			hooks, err := c.ListWebhooks(context.Background(), "PLAT", "infra")
			if err != nil {
				t.Fatal(err)
			}
			if len(hooks) != tt.wantHooks {
				t.Fatalf("%d hooks, want %d", len(hooks), tt.wantHooks)
			}
			for i, h := range hooks {
				if h.ID != int64(i+1) {
					t.Fatalf("hook %d has id %d", i, h.ID)
				}
			}
			reqs := f.Requests()
			if len(reqs) != tt.wantCalls {
				t.Fatalf("%d calls, want %d", len(reqs), tt.wantCalls)
			}
			if reqs[0].Query != "limit=100&start=0" {
				t.Fatalf("first query %q", reqs[0].Query)
			}
		})
	}
}

func TestBuildStatus(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		bbtest.WriteJSON(w, 200, map[string]any{"key": "orbit-stack-1", "state": "SUCCESSFUL", "url": "https://o.example.com/r/1"})
	})
	c := newTestClient(t, f.URL)
	ctx := context.Background()
	err := c.SetBuildStatus(ctx, "PLAT", "infra", "0a1b2c", BuildStatusRequest{Key: "orbit-stack-1", State: StateInProgress, URL: "https://o.example.com/r/1", Ref: "refs/heads/main"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBuildStatus(ctx, "PLAT", "infra", "0a1b2c", "orbit-stack-1")
	if err != nil || got.State != StateSuccessful {
		t.Fatalf("got %+v, %v", got, err)
	}
	reqs := f.Requests()
	if reqs[0].Method != "POST" || reqs[0].EscapedPath != "/rest/api/latest/projects/PLAT/repos/infra/commits/0a1b2c/builds" {
		t.Fatalf("%s %s", reqs[0].Method, reqs[0].EscapedPath)
	}
	if reqs[1].EscapedPath != "/rest/api/latest/projects/PLAT/repos/infra/commits/0a1b2c/builds" || reqs[1].Query != "key=orbit-stack-1" {
		t.Fatalf("get: %s ? %s", reqs[1].EscapedPath, reqs[1].Query)
	}
	var body map[string]any
	_ = json.Unmarshal(reqs[0].Body, &body)
	if body["key"] != "orbit-stack-1" || body["state"] != "INPROGRESS" || body["ref"] != "refs/heads/main" {
		t.Fatalf("body = %s", reqs[0].Body)
	}

	for _, bad := range []BuildStatusRequest{
		{Key: strings.Repeat("k", 41), State: StateFailed, URL: "https://x"},
		{Key: "k", State: StateStoppedNotDC, URL: "https://x"},
		{Key: "k", State: StateFailed, URL: "https://x", Ref: "main"},
	} {
		if err := c.SetBuildStatus(ctx, "PLAT", "infra", "0a1b2c", bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if len(f.Requests()) != 2 {
		t.Fatal("invalid build statuses reached the server")
	}
}

// StateStoppedNotDC is Cloud's STOPPED, which Data Center does not know.
const StateStoppedNotDC BuildState = "STOPPED"

func TestRetriesOnlyIdempotent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		call      func(c *Client) error
		status    int
		header    string
		wantCalls int
		wantErr   bool
	}{
		{"GET 429 Retry-After", func(c *Client) error { _, err := c.GetWebhook(context.Background(), "PLAT", "infra", 1); return err }, 429, "0", 2, false},
		{"GET 503", func(c *Client) error { _, err := c.GetWebhook(context.Background(), "PLAT", "infra", 1); return err }, 503, "", 2, false},
		{"DELETE 502", func(c *Client) error { return c.DeleteWebhook(context.Background(), "PLAT", "infra", 1) }, 502, "", 2, false},
		{"POST webhook 503", func(c *Client) error {
			_, err := c.CreateWebhook(context.Background(), "PLAT", "infra", CreateWebhookRequest{Name: "o", URL: "https://x.example.com", Events: []string{"pr:opened"}})
			return err
		}, 503, "", 1, true},
		{"POST build 429 is retried (refused unapplied)", func(c *Client) error {
			return c.SetBuildStatus(context.Background(), "PLAT", "infra", "abc", BuildStatusRequest{Key: "k", State: StateFailed, URL: "https://x"})
		}, 429, "0", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					if tt.header != "" {
						w.Header().Set("Retry-After", tt.header)
					}
					dcError(w, tt.status, "busy", "")
					return
				}
				if r.Method == http.MethodDelete {
					w.WriteHeader(204)
					return
				}
				bbtest.WriteJSON(w, 200, webhookJSON(1))
			})
			c := newTestClient(t, f.URL)
			err := tt.call(c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if got := len(f.Requests()); got != tt.wantCalls {
				t.Fatalf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestErrorMessageAndHelpers(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.Method {
		case http.MethodGet:
			dcError(w, 404, "Repository PLAT/nope does not exist.", "com.atlassian.bitbucket.repository.NoSuchRepositoryException")
		default:
			dcError(w, 401, "You are not permitted to access this resource", "com.atlassian.bitbucket.AuthorisationException")
		}
	})
	c := newTestClient(t, f.URL)
	_, err := c.GetWebhook(context.Background(), "PLAT", "nope", 1)
	apiErr, ok := bitbucket.AsAPIError(err)
	if !ok || !bitbucket.IsNotFound(err) || apiErr.Message != "Repository PLAT/nope does not exist." || apiErr.Product != bitbucket.ProductDataCenter {
		t.Fatalf("err = %v", err)
	}
	err = c.DeleteWebhook(context.Background(), "PLAT", "infra", 1)
	if !bitbucket.IsUnauthorized(err) || !strings.HasSuffix(mustAPI(t, err).Exception, "AuthorisationException") {
		t.Fatalf("err = %v", err)
	}
}

func mustAPI(t *testing.T, err error) *bitbucket.APIError {
	t.Helper()
	a, ok := bitbucket.AsAPIError(err)
	if !ok {
		t.Fatalf("not an APIError: %v", err)
	}
	return a
}

func TestCheckCredentials(t *testing.T) {
	t.Parallel()
	okPage := map[string]any{"values": []any{map[string]any{"key": "PLAT", "id": 1}}, "isLastPage": true, "start": 0, "size": 1, "limit": 1}
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request)
		target CheckTarget
		want   bitbucket.CheckReason
	}{
		{"ok", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/rest/api/latest/projects" {
				bbtest.WriteJSON(w, 200, okPage)
				return
			}
			bbtest.WriteJSON(w, 200, map[string]any{"key": "PLAT", "slug": "infra"})
		}, CheckTarget{ProjectKey: "PLAT", Repository: "infra"}, bitbucket.ReasonOK},
		{"bad token", func(w http.ResponseWriter, r *http.Request) {
			dcError(w, 401, "Authentication failed. Please check your credentials and try again.", "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException")
		}, CheckTarget{}, bitbucket.ReasonBadCredentials},
		{"no permission on repository", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/rest/api/latest/projects" {
				bbtest.WriteJSON(w, 200, okPage)
				return
			}
			dcError(w, 401, "You are not permitted to access this resource", "com.atlassian.bitbucket.AuthorisationException")
		}, CheckTarget{ProjectKey: "PLAT", Repository: "infra"}, bitbucket.ReasonMissingScope},
		{"project missing", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/rest/api/latest/projects" {
				bbtest.WriteJSON(w, 200, okPage)
				return
			}
			dcError(w, 404, "Project NOPE does not exist.", "com.atlassian.bitbucket.project.NoSuchProjectException")
		}, CheckTarget{ProjectKey: "NOPE"}, bitbucket.ReasonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) { tt.handle(w, r) })
			c := newTestClient(t, f.URL)
			got := c.CheckCredentials(context.Background(), tt.target)
			if got.Reason != tt.want || got.Message == "" || strings.Contains(got.Message, testToken) {
				t.Fatalf("check = %+v, want %s", got, tt.want)
			}
		})
	}
}

func TestTokenNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	f := bbtest.NewFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		status := 400
		if n == 1 {
			status = 503
		}
		dcError(w, status, "echo "+r.Header.Get("Authorization"), "")
	})
	var logs bytes.Buffer
	c := newTestClient(t, f.URL, bitbucket.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	_, err := c.GetWebhook(context.Background(), "PLAT", "infra", 1)
	if err == nil || logs.Len() == 0 {
		t.Fatalf("err = %v, logs %d bytes", err, logs.Len())
	}
	for _, text := range []string{err.Error(), logs.String()} {
		if strings.Contains(text, testToken) {
			t.Fatalf("token leaked in %q", text)
		}
	}
}
