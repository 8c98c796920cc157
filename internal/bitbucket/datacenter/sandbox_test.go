package datacenter_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox/contract"
)

// These tests run the client against the in-process sandbox, with every request and
// response checked against Atlassian's OpenAPI description of Bitbucket Data Center.

const (
	sbAdminToken = "sb-dc-admin-token"
	sbReadToken  = "sb-dc-read-token"
	sbOtherToken = "sb-dc-other-project-token"
	hookURL      = "https://orbit.example.com/webhooks/bitbucket-datacenter/main"
)

var requiredEvents = []string{"repo:refs_changed", "pr:opened", "pr:from_ref_updated", "pr:modified",
	"pr:reviewer:approved", "pr:reviewer:unapproved", "pr:merged", "pr:comment:added"}

func startSandbox(t *testing.T) *sandbox.TestServer {
	t.Helper()
	sb := sandbox.StartTest(t)
	err := sb.Seed(sandbox.Seed{DataCenter: sandbox.DataCenterSeed{
		Users: []sandbox.DataCenterUser{{
			Name: "admin", DisplayName: "Admin",
			Tokens: []sandbox.DataCenterToken{
				{Token: sbAdminToken, Permission: "REPO_ADMIN", Project: "PLAT"},
				{Token: sbReadToken, Permission: "REPO_READ", Project: "PLAT"},
				{Token: sbOtherToken, Permission: "PROJECT_ADMIN", Project: "OTHER"},
			},
		}},
		Projects:     []sandbox.DataCenterProject{{Key: "PLAT", Name: "Platform"}, {Key: "OTHER", Name: "Other"}},
		Repositories: []sandbox.DataCenterRepository{{Project: "PLAT", Slug: "infra"}, {Project: "PLAT", Slug: "big"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

func client(t *testing.T, sb *sandbox.TestServer, token string) *datacenter.Client {
	t.Helper()
	hc := &http.Client{Transport: contract.DataCenter(t).RoundTripper(t, http.DefaultTransport)}
	c, err := datacenter.New(bitbucket.Secret(token),
		bitbucket.WithBaseURL(sb.URL),
		bitbucket.WithHTTPClient(hc),
		bitbucket.WithRetryPolicy(bitbucket.RetryPolicy{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Second}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func storedSecret(t *testing.T, sb *sandbox.TestServer, id int64) string {
	t.Helper()
	for _, h := range sb.Hooks() {
		if h.Product == "datacenter" && h.ID == fmt.Sprint(id) {
			return h.Secret
		}
	}
	t.Fatalf("webhook %d not in the sandbox", id)
	return ""
}

func TestSandboxWebhookLifecycle(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, sbAdminToken)
	ctx := context.Background()

	created, err := c.CreateWebhook(ctx, "PLAT", "infra", datacenter.CreateWebhookRequest{
		Name: "orbit", URL: hookURL, Active: true, Events: requiredEvents, SSLVerificationRequired: true, Secret: "first-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID <= 0 || !created.Active || len(created.Events) != len(requiredEvents) {
		t.Fatalf("created = %+v", created)
	}
	got, err := c.GetWebhook(ctx, "PLAT", "infra", created.ID)
	if err != nil || got.URL != hookURL || got.Name != "orbit" {
		t.Fatalf("get = %+v, %v", got, err)
	}

	update := datacenter.UpdateWebhookRequest{Name: "orbit-2", URL: hookURL, Active: false, Events: []string{"repo:refs_changed"}}
	if _, err := c.UpdateWebhook(ctx, "PLAT", "infra", created.ID, update); err != nil {
		t.Fatal(err)
	}
	if s := storedSecret(t, sb, created.ID); s != "first-secret" {
		t.Fatalf("an update without a secret changed it to %q", s)
	}
	update.Secret = datacenter.SetSecret("second-secret")
	if _, err := c.UpdateWebhook(ctx, "PLAT", "infra", created.ID, update); err != nil {
		t.Fatal(err)
	}
	if s := storedSecret(t, sb, created.ID); s != "second-secret" {
		t.Fatalf("secret = %q after SetSecret", s)
	}
	update.Secret = datacenter.RemoveSecret()
	updated, err := c.UpdateWebhook(ctx, "PLAT", "infra", created.ID, update)
	if err != nil {
		t.Fatal(err)
	}
	if storedSecret(t, sb, created.ID) != "" || updated.Name != "orbit-2" || updated.Active {
		t.Fatalf("after RemoveSecret: %+v", updated)
	}

	if err := c.DeleteWebhook(ctx, "PLAT", "infra", created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetWebhook(ctx, "PLAT", "infra", created.ID); !bitbucket.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := c.DeleteWebhook(ctx, "PLAT", "infra", created.ID); !bitbucket.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestSandboxPermissions(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	ctx := context.Background()
	create := datacenter.CreateWebhookRequest{Name: "orbit", URL: hookURL, Active: true, Events: []string{"repo:refs_changed"}}

	// Data Center answers 401 (not 403) for a valid token without REPO_ADMIN.
	_, err := client(t, sb, sbReadToken).CreateWebhook(ctx, "PLAT", "infra", create)
	apiErr, ok := bitbucket.AsAPIError(err)
	if !ok || !bitbucket.IsUnauthorized(err) || !strings.HasSuffix(apiErr.Exception, "AuthorisationException") || apiErr.Message == "" {
		t.Fatalf("read token creating a webhook: %v", err)
	}
	_, err = client(t, sb, "unknown-token").ListWebhooks(ctx, "PLAT", "infra")
	apiErr, ok = bitbucket.AsAPIError(err)
	if !ok || !bitbucket.IsUnauthorized(err) || strings.HasSuffix(apiErr.Exception, "AuthorisationException") {
		t.Fatalf("unknown token: %v", err)
	}
	if _, err := client(t, sb, sbAdminToken).ListWebhooks(ctx, "PLAT", "nope"); !bitbucket.IsNotFound(err) {
		t.Fatalf("missing repository: %v", err)
	}
}

func TestSandboxCheckCredentials(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	tests := []struct {
		name   string
		token  string
		target datacenter.CheckTarget
		want   bitbucket.CheckReason
	}{
		{"admin token, repository", sbAdminToken, datacenter.CheckTarget{ProjectKey: "PLAT", Repository: "infra"}, bitbucket.ReasonOK},
		{"read token, project", sbReadToken, datacenter.CheckTarget{ProjectKey: "PLAT"}, bitbucket.ReasonOK},
		{"no target", sbReadToken, datacenter.CheckTarget{}, bitbucket.ReasonOK},
		{"unknown token", "nope", datacenter.CheckTarget{}, bitbucket.ReasonBadCredentials},
		{"missing repository", sbAdminToken, datacenter.CheckTarget{ProjectKey: "PLAT", Repository: "nope"}, bitbucket.ReasonNotFound},
		{"missing project", sbAdminToken, datacenter.CheckTarget{ProjectKey: "NOPE"}, bitbucket.ReasonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := client(t, sb, tt.token).CheckCredentials(context.Background(), tt.target)
			if got.Reason != tt.want || got.Message == "" {
				t.Fatalf("check = %+v, want %s", got, tt.want)
			}
		})
	}
	t.Run("token of another project", func(t *testing.T) {
		t.Parallel()
		got := client(t, sb, sbOtherToken).CheckCredentials(context.Background(), datacenter.CheckTarget{ProjectKey: "PLAT", Repository: "infra"})
		if got.OK() {
			t.Fatalf("a token restricted to OTHER passed for PLAT/infra: %+v", got)
		}
	})
}

func TestSandboxPaging(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, sbAdminToken)
	ctx := context.Background()
	const total = 230
	want := map[int64]bool{}
	for i := range total {
		h, err := c.CreateWebhook(ctx, "PLAT", "big", datacenter.CreateWebhookRequest{
			Name: fmt.Sprintf("hook-%d", i), URL: fmt.Sprintf("https://orbit.example.com/hooks/%d", i), Active: true, Events: []string{"repo:refs_changed"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want[h.ID] = true
	}
	hooks, err := c.ListWebhooks(ctx, "PLAT", "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != total {
		t.Fatalf("listed %d webhooks, want %d", len(hooks), total)
	}
	for _, h := range hooks {
		if !want[h.ID] {
			t.Fatalf("unexpected or duplicate webhook %d", h.ID)
		}
		delete(want, h.ID)
	}
	if pages := countRequests(sb, http.MethodGet, "/PLAT/repos/big/webhooks"); pages != 3 {
		t.Fatalf("%d list requests, want 3 (limit 100)", pages)
	}
}

func countRequests(sb *sandbox.TestServer, method, suffix string) int {
	n := 0
	for _, r := range sb.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

func TestSandboxFaults(t *testing.T) {
	t.Parallel()
	one := 1
	const prefix = "/rest/api/latest/projects/PLAT/repos/infra/webhooks"
	createHook := func(c *datacenter.Client) error {
		_, err := c.CreateWebhook(context.Background(), "PLAT", "infra", datacenter.CreateWebhookRequest{Name: "o", URL: hookURL, Events: []string{"repo:refs_changed"}})
		return err
	}
	listHooks := func(c *datacenter.Client) error {
		_, err := c.ListWebhooks(context.Background(), "PLAT", "infra")
		return err
	}
	tests := []struct {
		name      string
		fault     sandbox.Fault
		call      func(c *datacenter.Client) error
		method    string
		wantCalls int
		wantErr   bool
	}{
		{"429 Retry-After recovered for GET", sandbox.Fault{Status: 429, RetryAfter: &one, Count: 1, Method: "GET", PathPrefix: prefix}, listHooks, "GET", 2, false},
		{"503 recovered for GET", sandbox.Fault{Status: 503, Count: 2, Method: "GET", PathPrefix: prefix}, listHooks, "GET", 3, false},
		{"503 not retried for POST", sandbox.Fault{Status: 503, Count: 1, Method: "POST", PathPrefix: prefix}, createHook, "POST", 1, true},
		{"429 retried for POST", sandbox.Fault{Status: 429, RetryAfter: &one, Count: 1, Method: "POST", PathPrefix: prefix}, createHook, "POST", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t)
			c := client(t, sb, sbAdminToken)
			sb.AddFault(tt.fault)
			err := tt.call(c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if got := countRequests(sb, tt.method, "/PLAT/repos/infra/webhooks"); got != tt.wantCalls {
				t.Fatalf("%d %s requests, want %d", got, tt.method, tt.wantCalls)
			}
		})
	}
}

func TestSandboxBuildStatus(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, sbReadToken) // Data Center lets REPO_READ post build statuses
	ctx := context.Background()
	const commit = "4f1c2a9e8b7d6c5a4f3e2d1c0b9a8f7e6d5c4b3a"
	in := datacenter.BuildStatusRequest{Key: "orbit-stack-01hzx", State: datacenter.StateInProgress, Name: "orbit: network", URL: "https://orbit.example.com/runs/1", Ref: "refs/heads/main"}
	if err := c.SetBuildStatus(ctx, "PLAT", "infra", commit, in); err != nil {
		t.Fatal(err)
	}
	in.State = datacenter.StateFailed
	if err := c.SetBuildStatus(ctx, "PLAT", "infra", commit, in); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBuildStatus(ctx, "PLAT", "infra", commit, in.Key)
	if err != nil || got.State != datacenter.StateFailed || got.URL != in.URL || got.Ref != "refs/heads/main" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := c.GetBuildStatus(ctx, "PLAT", "infra", commit, "never-posted"); !bitbucket.IsNotFound(err) {
		t.Fatalf("missing key: %v", err)
	}
}

// TestSandboxChangedPaths: compare/changes of a push (to left out: the default
// branch) over several pages of the largest size, moves with both paths, a pull
// request's changes; an unknown commit is a 404.
func TestSandboxChangedPaths(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, sbReadToken)
	ctx := context.Background()
	h := func(b byte) string { return strings.Repeat(string(b), 40) }
	files := []string{"old.tf -> new.tf"}
	for i := range 1500 {
		files = append(files, fmt.Sprintf("envs/e%04d/main.tf", i))
	}
	ev := sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed", Branch: "feature",
		Commits: []sandbox.Commit{{Hash: h('a'), Files: files}}}
	if _, err := sb.Fire(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got, err := c.CompareChangedPaths(ctx, "PLAT", "infra", h('a'), "")
	if err != nil || len(got) != 1502 || !slices.Contains(got, "old.tf") || !slices.Contains(got, "new.tf") || !slices.Contains(got, "envs/e1499/main.tf") {
		t.Fatalf("CompareChangedPaths: %d paths, %v", len(got), err)
	}
	pages := 0
	for _, r := range sb.Requests() {
		if strings.HasSuffix(r.Path, "/compare/changes") {
			pages++
			if !strings.Contains(r.Query, "limit=1000") {
				t.Errorf("changes asked without the largest page: %s", r.Query)
			}
		}
	}
	if pages != 2 {
		t.Errorf("%d pages for 1501 changes, want 2", pages)
	}
	pr := sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "pr:opened",
		PullRequest: &sandbox.PullRequest{ID: 3, SourceBranch: "topic", SourceCommit: h('b')},
		Commits:     []sandbox.Commit{{Hash: h('b'), Files: []string{"modules/vpc/x.tf"}}}}
	if _, err := sb.Fire(ctx, pr); err != nil {
		t.Fatal(err)
	}
	got, err = c.PullRequestChangedPaths(ctx, "PLAT", "infra", 3)
	if err != nil || fmt.Sprint(got) != "[modules/vpc/x.tf]" {
		t.Fatalf("PullRequestChangedPaths = %v, %v", got, err)
	}
	if _, err := c.CompareChangedPaths(ctx, "PLAT", "infra", h('c'), h('a')); !bitbucket.IsNotFound(err) {
		t.Fatalf("unknown commit: %v, want a 404", err)
	}
}

// TestSandboxBranch: Branch finds the exact name among filterText's substring matches
// and names its latest commit; a missing branch or repository is bitbucket.IsNotFound.
func TestSandboxBranch(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, sbReadToken)
	ctx := context.Background()
	heads := map[string]string{"release": strings.Repeat("a", 40), "pre-release": strings.Repeat("b", 40), "release-2": strings.Repeat("c", 40)}
	for branch, head := range heads {
		if _, err := sb.Fire(ctx, sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed",
			Branch: branch, Commits: []sandbox.Commit{{Hash: head}}}); err != nil {
			t.Fatal(err)
		}
	}
	for branch, head := range heads {
		b, err := c.Branch(ctx, "PLAT", "infra", branch)
		if err != nil || b.DisplayID != branch || b.LatestCommit != head {
			t.Errorf("Branch %s = %+v, %v", branch, b, err)
		}
	}
	for _, tc := range [][2]string{{"infra", "releas"}, {"nope", "main"}} {
		if _, err := c.Branch(ctx, "PLAT", tc[0], tc[1]); !bitbucket.IsNotFound(err) {
			t.Errorf("Branch PLAT/%s %s: %v, want a 404", tc[0], tc[1], err)
		}
	}
}
