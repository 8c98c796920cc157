package cloud_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox/contract"
)

// These tests run the client against the in-process sandbox, with every request and
// response checked against Atlassian's OpenAPI description of Bitbucket Cloud.

const (
	sbEmail      = "dev@example.com"
	sbAdminToken = "sb-cloud-admin-token"
	sbReadToken  = "sb-cloud-read-token"
	// sbNoRepoToken lacks read:repository:bitbucket, which posting a status needs.
	sbNoRepoToken = "sb-cloud-no-repository-token"
	sbWriteToken  = "sb-cloud-write-token"
	sbAppUser     = "devuser"
	sbAppPass     = "sb-legacy-app-pw"
	hookURL       = "https://orbit.example.com/webhooks/bitbucket-cloud/main"
)

var requiredEvents = []string{"repo:push", "pullrequest:created", "pullrequest:updated", "pullrequest:approved",
	"pullrequest:unapproved", "pullrequest:fulfilled", "pullrequest:comment_created"}

func startSandbox(t *testing.T) *sandbox.TestServer {
	t.Helper()
	sb := sandbox.StartTest(t)
	err := sb.Seed(sandbox.Seed{Cloud: sandbox.CloudSeed{
		Users: []sandbox.CloudUser{
			{
				Email: sbEmail, DisplayName: "Dev Eloper",
				APITokens: []sandbox.CloudAPIToken{
					{Token: sbAdminToken, Scopes: []string{"admin"}},
					{Token: sbWriteToken, Scopes: []string{"write"}},
					{Token: sbReadToken, Scopes: []string{"read"}},
					{Token: sbNoRepoToken, Scopes: []string{"read:user:bitbucket", "read:pullrequest:bitbucket"}},
				},
				AppPasswords: []sandbox.CloudAppPassword{{Username: sbAppUser, Password: sbAppPass}},
			},
			{
				Email: "outsider@example.com", Workspaces: []string{"other"},
				APITokens: []sandbox.CloudAPIToken{{Token: "sb-outsider-token", Scopes: []string{"admin"}}},
			},
		},
		Workspaces:   []sandbox.CloudWorkspace{{Slug: "acme", Name: "Acme"}, {Slug: "other", Name: "Other"}},
		Repositories: []sandbox.CloudRepository{{Workspace: "acme", Slug: "infra", MainBranch: "main"}, {Workspace: "acme", Slug: "big"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// client builds a Cloud client whose transport validates every exchange against the
// OpenAPI description; retries are kept short.
func client(t *testing.T, sb *sandbox.TestServer, cred cloud.Credential) *cloud.Client {
	t.Helper()
	hc := &http.Client{Transport: contract.Cloud(t).RoundTripper(t, http.DefaultTransport)}
	c, err := cloud.New(cred,
		bitbucket.WithBaseURL(sb.URL),
		bitbucket.WithHTTPClient(hc),
		bitbucket.WithRetryPolicy(bitbucket.RetryPolicy{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Second}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func storedSecret(t *testing.T, sb *sandbox.TestServer, uuid string) string {
	t.Helper()
	for _, h := range sb.Hooks() {
		if h.Product == "cloud" && h.ID == uuid {
			return h.Secret
		}
	}
	t.Fatalf("hook %s not in the sandbox", uuid)
	return ""
}

func TestSandboxHookLifecycle(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, cloud.APIToken(sbEmail, sbAdminToken))
	ctx := context.Background()

	created, err := c.CreateHook(ctx, "acme", "infra", cloud.CreateHookRequest{
		URL: hookURL, Description: "orbit", Active: true, Events: requiredEvents, Secret: "first-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.UUID, "{") || !created.SecretSet || !created.Active || len(created.Events) != len(requiredEvents) {
		t.Fatalf("created = %+v", created)
	}
	got, err := c.GetHook(ctx, "acme", "infra", created.UUID)
	if err != nil || got.URL != hookURL || !got.SecretSet {
		t.Fatalf("get = %+v, %v", got, err)
	}

	update := cloud.UpdateHookRequest{URL: hookURL, Description: "orbit (renamed)", Active: false, Events: []string{"repo:push"}}
	if _, err := c.UpdateHook(ctx, "acme", "infra", created.UUID, update); err != nil {
		t.Fatal(err)
	}
	if s := storedSecret(t, sb, created.UUID); s != "first-secret" {
		t.Fatalf("an update without a secret changed it to %q", s)
	}
	update.Secret = cloud.SetSecret("second-secret")
	if _, err := c.UpdateHook(ctx, "acme", "infra", created.UUID, update); err != nil {
		t.Fatal(err)
	}
	if s := storedSecret(t, sb, created.UUID); s != "second-secret" {
		t.Fatalf("secret = %q after SetSecret", s)
	}
	update.Secret = cloud.RemoveSecret()
	removed, err := c.UpdateHook(ctx, "acme", "infra", created.UUID, update)
	if err != nil {
		t.Fatal(err)
	}
	if removed.SecretSet || storedSecret(t, sb, created.UUID) != "" || removed.Active || removed.Description != "orbit (renamed)" {
		t.Fatalf("after RemoveSecret: %+v", removed)
	}

	if err := c.DeleteHook(ctx, "acme", "infra", created.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetHook(ctx, "acme", "infra", created.UUID); !bitbucket.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := c.DeleteHook(ctx, "acme", "infra", created.UUID); !bitbucket.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := c.ListHooks(ctx, "acme", "missing-repo"); !bitbucket.IsNotFound(err) {
		t.Fatalf("list on a missing repository: %v", err)
	}
}

func TestSandboxScopesAndCredentials(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	ctx := context.Background()
	create := cloud.CreateHookRequest{URL: hookURL, Active: true, Events: []string{"repo:push"}}

	read := client(t, sb, cloud.APIToken(sbEmail, sbReadToken))
	_, err := read.CreateHook(ctx, "acme", "infra", create)
	if !bitbucket.IsForbidden(err) {
		t.Fatalf("read token creating a hook: %v", err)
	}
	if apiErr, _ := bitbucket.AsAPIError(err); !strings.Contains(apiErr.Message, "scope") {
		t.Fatalf("message %q does not carry Bitbucket's explanation", apiErr.Message)
	}
	if _, err := read.ListHooks(ctx, "acme", "infra"); err != nil {
		t.Fatalf("read token listing hooks: %v", err)
	}

	bad := client(t, sb, cloud.APIToken(sbEmail, "not-a-token"))
	if _, err := bad.ListHooks(ctx, "acme", "infra"); !bitbucket.IsUnauthorized(err) || cloud.IsAppPasswordRejected(err) {
		t.Fatalf("bad token: %v", err)
	}

	legacy := client(t, sb, cloud.AppPassword(sbAppUser, sbAppPass))
	_, err = legacy.CreateHook(ctx, "acme", "infra", create)
	if !cloud.IsAppPasswordRejected(err) || !bitbucket.IsUnauthorized(err) {
		t.Fatalf("app password: %v", err)
	}
	for _, want := range []string{"stopped accepting app passwords on 2026-07-28", "API token", "email"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("app password error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), sbAppPass) {
		t.Fatal("app password leaked into the error")
	}
}

func TestSandboxCheckCredentials(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	tests := []struct {
		name   string
		cred   cloud.Credential
		target cloud.CheckTarget
		want   bitbucket.CheckReason
	}{
		{"admin token, repository", cloud.APIToken(sbEmail, sbAdminToken), cloud.CheckTarget{Workspace: "acme", Repository: "infra"}, bitbucket.ReasonOK},
		{"read token, workspace", cloud.APIToken(sbEmail, sbReadToken), cloud.CheckTarget{Workspace: "acme"}, bitbucket.ReasonOK},
		{"wrong token", cloud.APIToken(sbEmail, "wrong"), cloud.CheckTarget{}, bitbucket.ReasonBadCredentials},
		{"wrong email", cloud.APIToken("nobody@example.com", sbAdminToken), cloud.CheckTarget{}, bitbucket.ReasonBadCredentials},
		{"app password", cloud.AppPassword(sbAppUser, sbAppPass), cloud.CheckTarget{}, bitbucket.ReasonBadCredentials},
		{"missing repository", cloud.APIToken(sbEmail, sbAdminToken), cloud.CheckTarget{Workspace: "acme", Repository: "nope"}, bitbucket.ReasonNotFound},
		{"missing workspace", cloud.APIToken(sbEmail, sbAdminToken), cloud.CheckTarget{Workspace: "nope"}, bitbucket.ReasonNotFound},
		{"workspace not granted", cloud.APIToken("outsider@example.com", "sb-outsider-token"), cloud.CheckTarget{Workspace: "acme"}, bitbucket.ReasonMissingScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := client(t, sb, tt.cred).CheckCredentials(context.Background(), tt.target)
			if got.Reason != tt.want {
				t.Fatalf("check = %+v, want %s", got, tt.want)
			}
			if got.OK() && got.Account != "Dev Eloper" {
				t.Fatalf("account = %q", got.Account)
			}
		})
	}
}

func TestSandboxPagingBeyondOneHundred(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, cloud.APIToken(sbEmail, sbAdminToken))
	ctx := context.Background()
	const total = 230
	want := map[string]bool{}
	for i := range total {
		h, err := c.CreateHook(ctx, "acme", "big", cloud.CreateHookRequest{
			URL: fmt.Sprintf("https://orbit.example.com/hooks/%d", i), Active: true, Events: []string{"repo:push"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want[h.UUID] = true
	}
	hooks, err := c.ListHooks(ctx, "acme", "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) != total {
		t.Fatalf("listed %d hooks, want %d", len(hooks), total)
	}
	for _, h := range hooks {
		if !want[h.UUID] {
			t.Fatalf("unexpected or duplicate hook %s", h.UUID)
		}
		delete(want, h.UUID)
	}
	var pages int
	for _, r := range sb.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/acme/big/hooks") {
			pages++
		}
	}
	if pages != 3 {
		t.Fatalf("%d list requests, want 3 (pages of 100)", pages)
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
	tests := []struct {
		name      string
		fault     sandbox.Fault
		call      func(c *cloud.Client) error
		method    string
		wantCalls int
		wantErr   func(error) bool
	}{
		{
			name:   "429 with Retry-After recovered for GET",
			fault:  sandbox.Fault{Status: 429, RetryAfter: &one, Count: 1, Method: "GET", PathPrefix: "/2.0/repositories/acme/infra/hooks"},
			call:   func(c *cloud.Client) error { _, err := c.ListHooks(context.Background(), "acme", "infra"); return err },
			method: "GET", wantCalls: 2,
		},
		{
			name:   "429 without Retry-After recovered for GET",
			fault:  sandbox.Fault{Status: 429, Count: 2, Method: "GET", PathPrefix: "/2.0/repositories/acme/infra/hooks"},
			call:   func(c *cloud.Client) error { _, err := c.ListHooks(context.Background(), "acme", "infra"); return err },
			method: "GET", wantCalls: 3,
		},
		{
			name:   "503 recovered for GET",
			fault:  sandbox.Fault{Status: 503, Count: 2, Method: "GET", PathPrefix: "/2.0/repositories/acme/infra/hooks"},
			call:   func(c *cloud.Client) error { _, err := c.ListHooks(context.Background(), "acme", "infra"); return err },
			method: "GET", wantCalls: 3,
		},
		{
			name:  "503 not retried for POST",
			fault: sandbox.Fault{Status: 503, Count: 1, Method: "POST", PathPrefix: "/2.0/repositories/acme/infra/hooks"},
			call: func(c *cloud.Client) error {
				_, err := c.CreateHook(context.Background(), "acme", "infra", cloud.CreateHookRequest{URL: hookURL, Events: []string{"repo:push"}})
				return err
			},
			method: "POST", wantCalls: 1,
			wantErr: func(err error) bool { a, ok := bitbucket.AsAPIError(err); return ok && a.StatusCode == 503 },
		},
		{
			name:  "429 retried for POST",
			fault: sandbox.Fault{Status: 429, RetryAfter: &one, Count: 1, Method: "POST", PathPrefix: "/2.0/repositories/acme/infra/hooks"},
			call: func(c *cloud.Client) error {
				_, err := c.CreateHook(context.Background(), "acme", "infra", cloud.CreateHookRequest{URL: hookURL, Events: []string{"repo:push"}})
				return err
			},
			method: "POST", wantCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t)
			c := client(t, sb, cloud.APIToken(sbEmail, sbAdminToken))
			sb.AddFault(tt.fault)
			err := tt.call(c)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr != nil && !tt.wantErr(err) {
				t.Fatalf("err = %v", err)
			}
			if got := countRequests(sb, tt.method, "/acme/infra/hooks"); got != tt.wantCalls {
				t.Fatalf("%d %s requests, want %d", got, tt.method, tt.wantCalls)
			}
			if tt.method == "POST" && tt.wantErr != nil && len(sb.Hooks()) != 0 {
				t.Fatal("a failed POST left a hook behind")
			}
			if tt.method == "POST" && tt.wantErr == nil && len(sb.Hooks()) != 1 {
				t.Fatalf("a retried POST left %d hooks, want 1", len(sb.Hooks()))
			}
		})
	}
}

func TestSandboxBuildStatuses(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, cloud.APIToken(sbEmail, sbWriteToken))
	ctx := context.Background()
	const commit = "4f1c2a9e8b7d6c5a4f3e2d1c0b9a8f7e6d5c4b3a"
	in := cloud.BuildStatusRequest{Key: "orbit-stack-01hzx", State: cloud.StateInProgress, Name: "orbit: network", URL: "https://orbit.example.com/stacks/network/runs/1", Refname: "main"}
	if _, err := c.SetBuildStatus(ctx, "acme", "infra", commit, in); err != nil {
		t.Fatal(err)
	}
	in.State = cloud.StateSuccessful
	updated, err := c.SetBuildStatus(ctx, "acme", "infra", commit, in)
	if err != nil || updated.State != cloud.StateSuccessful {
		t.Fatalf("update = %+v, %v", updated, err)
	}
	got, err := c.GetBuildStatus(ctx, "acme", "infra", commit, in.Key)
	if err != nil || got.State != cloud.StateSuccessful || got.URL != in.URL {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := c.GetBuildStatus(ctx, "acme", "infra", commit, "never-posted"); !bitbucket.IsNotFound(err) {
		t.Fatalf("missing key: %v", err)
	}
	// The description lists read:repository:bitbucket for posting a status.
	read := client(t, sb, cloud.APIToken(sbEmail, sbReadToken))
	if _, err := read.CreateBuildStatus(ctx, "acme", "infra", commit, in); err != nil {
		t.Fatalf("read token posting a status: %v", err)
	}
	noRepo := client(t, sb, cloud.APIToken(sbEmail, sbNoRepoToken))
	_, err = noRepo.CreateBuildStatus(ctx, "acme", "infra", commit, in)
	if apiErr, ok := bitbucket.AsAPIError(err); !bitbucket.IsForbidden(err) || !ok || !strings.Contains(apiErr.Message, "required scopes read:repository:bitbucket") {
		t.Fatalf("token without read:repository posting a status: %v", err)
	}
}

// TestSandboxChangedPaths: a range's and a pull request's paths, renames with both
// paths, in pages of the largest size; an unknown commit is a 404.
func TestSandboxChangedPaths(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, cloud.APIToken(sbEmail, sbReadToken))
	ctx := context.Background()
	repo, err := c.GetRepository(ctx, "acme", "infra")
	if err != nil || repo.MainBranch == nil {
		t.Fatalf("repository: %+v %v", repo, err)
	}
	h := func(b byte) string { return strings.Repeat(string(b), 40) }
	ev := sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "feature"}
	ev.Commits = []sandbox.Commit{{Hash: h('a'), Files: []string{"envs/prod/main.tf", "old.tf -> new.tf"}}}
	if _, err := sb.Fire(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got, err := c.ChangedPaths(ctx, "acme", "infra", h('a'), "main")
	if err != nil || fmt.Sprint(got) != "[envs/prod/main.tf old.tf new.tf]" {
		t.Fatalf("ChangedPaths = %v, %v", got, err)
	}
	pr := sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:created",
		PullRequest: &sandbox.PullRequest{ID: 3, SourceBranch: "topic", SourceCommit: h('b')},
		Commits:     []sandbox.Commit{{Hash: h('b'), Files: []string{"modules/vpc/x.tf"}}}}
	if _, err := sb.Fire(ctx, pr); err != nil {
		t.Fatal(err)
	}
	got, err = c.PullRequestChangedPaths(ctx, "acme", "infra", 3)
	if err != nil || fmt.Sprint(got) != "[modules/vpc/x.tf]" {
		t.Fatalf("PullRequestChangedPaths = %v, %v", got, err)
	}
	for _, r := range sb.Requests() {
		if strings.Contains(r.Path, "/diffstat/") && !strings.Contains(r.Query, "pagelen=5000") {
			t.Errorf("diffstat asked without the largest page: %s?%s", r.Path, r.Query)
		}
	}
	if _, err := c.ChangedPaths(ctx, "acme", "infra", h('c'), h('a')); !bitbucket.IsNotFound(err) {
		t.Fatalf("unknown commit: %v, want a 404", err)
	}
}

// TestSandboxGetBranch: GET .../refs/branches/{name} names the branch's head; a branch
// (or repository) that does not exist is bitbucket.IsNotFound.
func TestSandboxGetBranch(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t)
	c := client(t, sb, cloud.APIToken(sbEmail, sbReadToken))
	ctx := context.Background()
	head := strings.Repeat("c", 40)
	if _, err := sb.Fire(ctx, sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push",
		Branch: "feature/x", Commits: []sandbox.Commit{{Hash: head}}}); err != nil {
		t.Fatal(err)
	}
	b, err := c.GetBranch(ctx, "acme", "infra", "feature/x")
	if err != nil || b.Name != "feature/x" || b.Target.Hash != head {
		t.Fatalf("GetBranch feature/x = %+v, %v", b, err)
	}
	for _, tc := range [][2]string{{"infra", "nope"}, {"nope", "main"}} {
		if _, err := c.GetBranch(ctx, "acme", tc[0], tc[1]); !bitbucket.IsNotFound(err) {
			t.Errorf("GetBranch acme/%s %s: %v, want a 404", tc[0], tc[1], err)
		}
	}
}
