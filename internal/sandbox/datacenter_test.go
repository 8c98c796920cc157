package sandbox_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/access"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

const dcRepoPath = "/rest/api/latest/projects/PLAT/repos/infra"

func TestDataCenterAuth(t *testing.T) {
	t.Parallel()
	c := start(t)
	tests := []struct {
		name   string
		auth   auth
		want   int
		wantEx string
	}{
		{"no token", nil, 401, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"},
		{"unknown token", bearer("nope"), 401, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"},
		{"token as basic password", basic("admin", dcAdminToken), 401, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"},
		{"bearer token", dcAdmin(), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.expect("GET", "/rest/api/latest/projects", tt.auth, nil, tt.want)
			if tt.want != 200 {
				if got := dcException(t, r); got != tt.wantEx {
					t.Fatalf("exceptionName %q, want %q", got, tt.wantEx)
				}
			}
		})
	}
}

func TestDataCenterVisibility(t *testing.T) {
	t.Parallel()
	c := start(t)
	projectKeys := func(token string) []string {
		page := c.expect("GET", "/rest/api/latest/projects", bearer(token), nil, 200).json(t)
		var keys []string
		for _, v := range page["values"].([]any) {
			keys = append(keys, v.(map[string]any)["key"].(string))
		}
		return keys
	}
	if got := strings.Join(projectKeys(dcAdminToken), ","); got != "PLAT" {
		t.Fatalf("project token sees %s, want PLAT", got)
	}
	if got := strings.Join(projectKeys(dcReadToken), ","); got != "OPS,PLAT" {
		t.Fatalf("unrestricted token sees %s, want OPS,PLAT", got)
	}
	c.expect("GET", "/rest/api/latest/projects/PLAT", dcAdmin(), nil, 200)
	if ex := dcException(t, c.expect("GET", "/rest/api/latest/projects/OPS", dcAdmin(), nil, 404)); ex != "com.atlassian.bitbucket.project.NoSuchProjectException" {
		t.Fatalf("exceptionName %q", ex)
	}
	if ex := dcException(t, c.expect("GET", "/rest/api/latest/projects/PLAT/repos/nope", dcAdmin(), nil, 404)); ex != "com.atlassian.bitbucket.repository.NoSuchRepositoryException" {
		t.Fatalf("exceptionName %q", ex)
	}
	repo := c.expect("GET", dcRepoPath, dcAdmin(), nil, 200).json(t)
	if repo["slug"] != "infra" || repo["project"].(map[string]any)["key"] != "PLAT" {
		t.Fatalf("repository: %v", repo)
	}
	// 1.0 and latest are the same API.
	c.expect("GET", "/rest/api/1.0/projects/PLAT/repos/infra", dcAdmin(), nil, 200)
	// A repository token reaches only its repository.
	c.expect("GET", dcRepoPath, bearer(dcRepoAdminToken), nil, 200)
	c.expect("GET", "/rest/api/latest/projects/PLAT/repos/app", bearer(dcRepoAdminToken), nil, 404)
}

// GET .../default-branch answers a RestMinimalRef to REPO_READ, 401 without a token and
// 404 (NoSuchRepositoryException) for a repository that does not exist or is not visible.
func TestDataCenterDefaultBranch(t *testing.T) {
	t.Parallel()
	c := start(t)
	if err := c.sb.Seed(sandbox.Seed{DataCenter: sandbox.DataCenterSeed{Repositories: []sandbox.DataCenterRepository{
		{Project: "PLAT", Slug: "legacy", DefaultBranch: "develop"},
	}}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{dcRepoPath: "main", "/rest/api/latest/projects/PLAT/repos/legacy": "develop"} {
		ref := c.expect("GET", path+"/default-branch", bearer(dcReadToken), nil, 200).json(t)
		if ref["id"] != "refs/heads/"+want || ref["displayId"] != want || ref["type"] != "BRANCH" {
			t.Fatalf("%s: default branch %v, want %s", path, ref, want)
		}
	}
	c.expect("GET", "/rest/api/1.0/projects/PLAT/repos/infra/default-branch", dcAdmin(), nil, 200)
	if ex := dcException(t, c.expect("GET", dcRepoPath+"/default-branch", nil, nil, 401)); ex != "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException" {
		t.Fatalf("no token: exceptionName %q", ex)
	}
	for _, path := range []string{"/rest/api/latest/projects/PLAT/repos/nope/default-branch", "/rest/api/latest/projects/PLAT/repos/app/default-branch"} {
		a := dcAdmin()
		if strings.Contains(path, "/app/") {
			a = bearer(dcRepoAdminToken) // a token of another repository
		}
		if ex := dcException(t, c.expect("GET", path, a, nil, 404)); ex != "com.atlassian.bitbucket.repository.NoSuchRepositoryException" {
			t.Fatalf("%s: exceptionName %q", path, ex)
		}
	}
}

func TestDataCenterWebhookPermissions(t *testing.T) {
	t.Parallel()
	c := start(t)
	hook := map[string]any{"name": "orbit", "url": "https://orbit.example.com/hook", "events": []string{"repo:refs_changed"}}
	tests := []struct {
		name  string
		token string
		repo  string
		want  int
	}{
		{"REPO_READ cannot create", dcReadToken, dcRepoPath, 401},
		{"PROJECT_ADMIN creates", dcAdminToken, dcRepoPath, 200},
		{"repository token creates on its repository", dcRepoAdminToken, dcRepoPath, 200},
		{"repository token cannot see another repository", dcRepoAdminToken, "/rest/api/latest/projects/PLAT/repos/app", 404},
		{"REPO_READ cannot list", dcReadToken, dcRepoPath, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, body := "POST", any(hook)
			if strings.Contains(tt.name, "list") {
				method, body = "GET", nil
			}
			r := c.expect(method, tt.repo+"/webhooks", bearer(tt.token), body, tt.want)
			if tt.want == 401 {
				if ex := dcException(t, r); ex != "com.atlassian.bitbucket.AuthorisationException" {
					t.Fatalf("exceptionName %q, want AuthorisationException", ex)
				}
			}
		})
	}
}

func TestDataCenterWebhookLifecycle(t *testing.T) {
	t.Parallel()
	c := start(t)
	hooks := dcRepoPath + "/webhooks"
	created := c.expect("POST", hooks, dcAdmin(), map[string]any{
		"name": "orbit", "url": "https://orbit.example.com/webhooks/bitbucket-datacenter/main",
		"events": []string{"repo:refs_changed", "pr:opened"}, "active": true,
		"configuration": map[string]any{"secret": "s3cret"},
	}, 200).json(t) // Data Center answers a create with 200
	id, ok := created["id"].(float64)
	if !ok || id != float64(int(id)) {
		t.Fatalf("id %v is not an integer", created["id"])
	}
	if strings.Contains(fmt.Sprint(created), "s3cret") {
		t.Fatalf("create response shows the secret: %v", created)
	}
	path := fmt.Sprintf("%s/%d", hooks, int(id))
	got := c.expect("GET", path, dcAdmin(), nil, 200).json(t)
	if got["name"] != "orbit" || got["sslVerificationRequired"] != true || got["active"] != true {
		t.Fatalf("get: %v", got)
	}
	updated := c.expect("PUT", path, dcAdmin(), map[string]any{"name": "orbit-2", "events": []string{"repo:refs_changed"}}, 200).json(t)
	if updated["name"] != "orbit-2" || len(updated["events"].([]any)) != 1 || updated["url"] != created["url"] {
		t.Fatalf("update: %v", updated)
	}
	if c.sb.Hooks()[0].Secret != "s3cret" {
		t.Fatal("update without configuration dropped the secret")
	}
	c.expect("PUT", path, dcAdmin(), map[string]any{"configuration": map[string]any{}}, 200)
	if c.sb.Hooks()[0].Secret != "" {
		t.Fatal("an empty configuration must remove the secret")
	}
	c.expect("DELETE", path, dcAdmin(), nil, 204)
	if ex := dcException(t, c.expect("GET", path, dcAdmin(), nil, 404)); !strings.Contains(ex, "NoSuchWebhook") {
		t.Fatalf("exceptionName %q", ex)
	}
	c.expect("DELETE", path, dcAdmin(), nil, 404)
	c.expect("GET", hooks+"/not-a-number", dcAdmin(), nil, 404)

	for _, bad := range []map[string]any{
		{"url": "https://x.example.com", "events": []string{"repo:refs_changed"}},
		{"name": "n", "url": "ftp://x.example.com", "events": []string{"repo:refs_changed"}},
		{"name": "n", "url": "https://x.example.com", "events": []string{"repo:push"}},
	} {
		r := c.expect("POST", hooks, dcAdmin(), bad, 400)
		dcException(t, r)
	}
}

func TestDataCenterPaging(t *testing.T) {
	t.Parallel()
	c := start(t)
	var repos []sandbox.DataCenterRepository
	for i := range 30 {
		repos = append(repos, sandbox.DataCenterRepository{Project: "PLAT", Slug: fmt.Sprintf("r%02d", i)})
	}
	if err := c.sb.Seed(sandbox.Seed{DataCenter: sandbox.DataCenterSeed{Repositories: repos}}); err != nil {
		t.Fatal(err)
	}
	const total = 32 // the seeded infra and app, plus 30
	first := c.expect("GET", "/rest/api/latest/projects/PLAT/repos", dcAdmin(), nil, 200).json(t)
	if first["limit"] != float64(25) || first["size"] != float64(25) || first["isLastPage"] != false || first["nextPageStart"] != float64(25) {
		t.Fatalf("first page: limit %v size %v isLastPage %v nextPageStart %v", first["limit"], first["size"], first["isLastPage"], first["nextPageStart"])
	}
	capped := c.expect("GET", "/rest/api/latest/projects/PLAT/repos?limit=5000", dcAdmin(), nil, 200).json(t)
	if capped["limit"] != float64(1000) || capped["isLastPage"] != true {
		t.Fatalf("limit not capped: %v", capped["limit"])
	}
	if _, ok := capped["nextPageStart"]; ok {
		t.Fatal("last page carries nextPageStart")
	}

	seen := map[string]bool{}
	start, pages := 0, 0
	for {
		page := c.expect("GET", fmt.Sprintf("/rest/api/latest/projects/PLAT/repos?limit=7&start=%d", start), dcAdmin(), nil, 200).json(t)
		pages++
		for _, v := range page["values"].([]any) {
			seen[v.(map[string]any)["slug"].(string)] = true
		}
		if page["isLastPage"] == true {
			break
		}
		start = int(page["nextPageStart"].(float64))
		if pages > 10 {
			t.Fatal("paging never ends")
		}
	}
	if len(seen) != total || pages != 5 {
		t.Fatalf("walked %d repositories in %d pages, want %d in 5", len(seen), pages, total)
	}
	dcException(t, c.expect("GET", "/rest/api/latest/projects/PLAT/repos?limit=0", dcAdmin(), nil, 400))
}

func TestDataCenterBuildStatuses(t *testing.T) {
	t.Parallel()
	c := start(t)
	commit := "823b2230a56056231c9425d63758fa87078a66b4"
	builds := dcRepoPath + "/commits/" + commit + "/builds"
	c.expect("POST", builds, bearer(dcReadToken), map[string]any{"key": "orbit/tracked", "state": "INPROGRESS", "url": "https://orbit.example.com/r/1", "ref": "refs/heads/main"}, 204)
	c.expect("POST", builds, dcAdmin(), map[string]any{"key": "orbit/tracked", "state": "SUCCESSFUL", "url": "https://orbit.example.com/r/1"}, 204)
	c.expect("POST", "/rest/api/1.0/projects/PLAT/repos/infra/commits/"+commit+"/builds", dcAdmin(), map[string]any{"key": "orbit/proposed", "state": "CANCELLED", "url": "https://orbit.example.com/r/2"}, 204)

	got := c.expect("GET", builds+"?key=orbit/tracked", dcAdmin(), nil, 200).json(t)
	if got["state"] != "SUCCESSFUL" {
		t.Fatalf("status: %v", got)
	}
	c.expect("GET", builds+"?key=unknown", dcAdmin(), nil, 404)
	list := c.expect("GET", "/rest/build-status/latest/commits/"+commit, dcAdmin(), nil, 200).json(t)
	if list["size"] != float64(2) || list["isLastPage"] != true {
		t.Fatalf("commit statuses: %v", list)
	}
	for _, bad := range []map[string]any{
		{"state": "FAILED", "url": "https://x.example.com"},
		{"key": "k", "state": "STOPPED", "url": "https://x.example.com"},
		{"key": "k", "state": "FAILED"},
	} {
		dcException(t, c.expectInvalid("POST", builds, dcAdmin(), bad, 400))
	}
	c.expect("POST", "/rest/api/latest/projects/OPS/repos/tools/commits/"+commit+"/builds", dcAdmin(), map[string]any{"key": "k", "state": "FAILED", "url": "https://x.example.com"}, 404)
}

// TestDataCenterRepositorySearch: GET /rest/api/latest/repos lists the repositories a
// token may see, and with permission=... those it holds that permission on, as the
// description of the resource says; a token for a project without repositories sees
// none.
func TestDataCenterRepositorySearch(t *testing.T) {
	t.Parallel()
	c := start(t)
	c.expect("POST", "/_sandbox/seed", nil, `{"datacenter":{"projects":[{"key":"EMPTY"}],"users":[{"name":"admin","tokens":[{"token":"empty-project","permission":"PROJECT_ADMIN","project":"EMPTY"}]}]}}`, 204)
	slugs := func(token, query string) string {
		page := c.expect("GET", "/rest/api/latest/repos"+query, bearer(token), nil, 200).json(t)
		var out []string
		for _, v := range page["values"].([]any) {
			r := v.(map[string]any)
			out = append(out, r["project"].(map[string]any)["key"].(string)+"/"+r["slug"].(string))
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct{ token, query, want string }{
		{dcReadToken, "?permission=REPO_READ", "OPS/tools,PLAT/app,PLAT/infra"},
		{dcReadToken, "?permission=REPO_ADMIN", ""},
		{dcRepoAdminToken, "?permission=REPO_ADMIN", "PLAT/infra"},
		{dcAdminToken, "?permission=REPO_READ&projectkey=plat", "PLAT/app,PLAT/infra"},
		{"empty-project", "?permission=REPO_READ", ""},
	} {
		if got := slugs(tt.token, tt.query); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.token, tt.query, got, tt.want)
		}
	}
}

// TestDataCenterPermissionsFollowAccessTable: for every Data Center operation of the
// access table (held to Atlassian's descriptions), a token holding the permission the
// description names is let through, and a REPO_READ token on a REPO_ADMIN operation
// gets the description's 401 (AuthorisationException).
func TestDataCenterPermissionsFollowAccessTable(t *testing.T) {
	t.Parallel()
	c := start(t)
	const commit = "0123456789abcdef0123456789abcdef01234567"
	path := strings.NewReplacer("{projectKey}", "PLAT", "{repositorySlug}", "infra", "{commitId}", commit, "{pullRequestId}", "1")
	bodies := map[string]any{
		"/builds":   map[string]any{"key": "k", "state": "INPROGRESS", "url": "https://orbit.example.com/r"},
		"/webhooks": map[string]any{"name": "n", "url": "https://orbit.example.com/hook", "events": []string{"repo:refs_changed"}},
	}
	for _, op := range access.DataCenter {
		var body any
		for suffix, b := range bodies {
			if op.Method == "POST" && strings.HasSuffix(op.Path, suffix) {
				body = b
			}
		}
		p := "/rest" + path.Replace(op.Path)
		if strings.HasSuffix(op.Path, "/compare/changes") {
			p += "?from=" + commit
		}
		holder := map[string]string{access.RepoRead: dcReadToken, access.RepoAdmin: dcAdminToken, access.ProjectView: dcReadToken, "": dcReadToken}[op.Permission]
		if r := c.do(op.Method, p, bearer(holder), body); r.status == 401 || r.status == 403 {
			t.Errorf("%s %s with %s: %d %s", op.Method, op.Path, op.Permission, r.status, r.body)
		}
		if op.Permission == access.RepoAdmin {
			r := c.expect(op.Method, p, bearer(dcReadToken), body, 401)
			if ex := dcException(t, r); ex != "com.atlassian.bitbucket.AuthorisationException" {
				t.Errorf("%s %s: exceptionName %q", op.Method, op.Path, ex)
			}
		}
	}
}
