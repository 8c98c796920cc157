package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

func TestCloudAuth(t *testing.T) {
	t.Parallel()
	c := start(t)
	tests := []struct {
		name        string
		auth        auth
		wantStatus  int
		wantMessage string
	}{
		{"no credentials", nil, 401, "Unauthorized"},
		{"wrong token", basic(cloudEmail, "not-a-token"), 401, "Invalid credentials"},
		{"token of another user", basic(cloudEmail, otherToken), 401, "Invalid credentials"},
		{"username instead of email", basic("dev", cloudAdminToken), 401, "Invalid credentials"},
		{"app password", basic(appUser, appPassword), 401, "app passwords are no longer supported"},
		{"api token", cloudAdmin(), 200, ""},
		{"email is case-insensitive", basic(strings.ToUpper(cloudEmail), cloudReadToken), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do("GET", "/2.0/user", tt.auth, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantStatus == 200 {
				m := r.json(t)
				if m["uuid"] != "{11111111-2222-4333-8444-555555555555}" || m["display_name"] != "Dev Eloper" || m["type"] != "user" {
					t.Fatalf("unexpected user: %s", r.body)
				}
				return
			}
			if got := cloudErrorMessage(t, r); !strings.Contains(got, tt.wantMessage) {
				t.Fatalf("message %q does not contain %q", got, tt.wantMessage)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

func TestCloudScopes(t *testing.T) {
	t.Parallel()
	c := start(t)
	hooks := "/2.0/repositories/acme/infra/hooks"
	created := c.expect("POST", hooks, cloudAdmin(), map[string]any{"url": "https://ci.example.com/hook", "events": []string{"repo:push"}}, 201).json(t)
	hook := hooks + "/" + url.PathEscape(created["uuid"].(string))
	status := "/2.0/repositories/acme/infra/commit/0123456789abcdef0123456789abcdef01234567/statuses/build"
	statusBody := map[string]any{"type": "build", "key": "orbit", "state": "INPROGRESS", "url": "https://orbit.example.com/run/1"}

	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		want   int
	}{
		{"read lists hooks", "GET", hooks, cloudReadToken, nil, 200},
		{"read cannot create a hook", "POST", hooks, cloudReadToken, map[string]any{"url": "https://x.example.com", "events": []string{"repo:push"}}, 403},
		{"read cannot update a hook", "PUT", hook, cloudReadToken, map[string]any{"active": false}, 403},
		{"read cannot delete a hook", "DELETE", hook, cloudReadToken, nil, 403},
		{"write cannot create a hook", "POST", hooks, cloudWriteToken, map[string]any{"url": "https://x.example.com", "events": []string{"repo:push"}}, 403},
		// The description lists read:repository:bitbucket for posting a build status.
		{"read posts a build status", "POST", status, cloudReadToken, statusBody, 201},
		{"no read:repository cannot post a build status", "POST", status, cloudNoRepoToken, statusBody, 403},
		{"no read:repository cannot read the repository", "GET", "/2.0/repositories/acme/infra", cloudNoRepoToken, nil, 403},
		{"no read:repository lists no repositories", "GET", "/2.0/repositories/acme", cloudNoRepoToken, nil, 403},
		{"no read:repository reads the account", "GET", "/2.0/user", cloudNoRepoToken, nil, 200},
		{"no read:workspace cannot read a workspace", "GET", "/2.0/workspaces/acme", cloudNoRepoToken, nil, 403},
		{"write posts a build status", "POST", status, cloudWriteToken, statusBody, 201},
		{"missing repository is 404 before scope", "POST", "/2.0/repositories/acme/nope/hooks", cloudReadToken, map[string]any{"url": "https://x.example.com", "events": []string{"repo:push"}}, 404},
		{"workspace outside the user's access", "GET", "/2.0/repositories/acme/infra", otherToken, nil, 403},
		{"own workspace", "GET", "/2.0/repositories/other/secret", otherToken, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := cloudEmail
			if tt.token == otherToken {
				email = otherEmail
			}
			r := c.expect(tt.method, tt.path, basic(email, tt.token), tt.body, tt.want)
			if tt.want >= 400 {
				msg := cloudErrorMessage(t, r)
				if tt.want == 403 && strings.HasSuffix(tt.path, "hooks") && !strings.Contains(msg, "scope") {
					t.Fatalf("403 message should name the missing scope: %q", msg)
				}
			}
		})
	}
	// The read token's failed delete left the hook in place.
	c.expect("GET", hook, cloudAdmin(), nil, 200)
}

func TestCloudHookLifecycle(t *testing.T) {
	t.Parallel()
	c := start(t)
	hooks := "/2.0/repositories/acme/infra/hooks"
	r := c.expect("POST", hooks, cloudAdmin(), map[string]any{
		"description": "orbit", "url": "https://orbit.example.com/webhooks/bitbucket-cloud/main",
		"active": true, "secret": "s3cret", "events": []string{"repo:push", "pullrequest:created"},
		"skip_cert_verification": true,
	}, 201)
	created := r.json(t)
	uid, _ := created["uuid"].(string)
	if !strings.HasPrefix(uid, "{") || !strings.HasSuffix(uid, "}") {
		t.Fatalf("uuid %q is not braced", uid)
	}
	if _, leaked := created["secret"]; leaked || created["secret_set"] != true {
		t.Fatalf("create response must hide the secret and show secret_set: %s", r.body)
	}
	if created["skip_cert_verification"] != true || created["subject_type"] != "repository" {
		t.Fatalf("create response: %s", r.body)
	}
	if loc := r.header.Get("Location"); !strings.HasSuffix(loc, url.PathEscape(uid)) {
		t.Fatalf("Location %q does not name the hook", loc)
	}
	escaped := hooks + "/" + url.PathEscape(uid)
	// Both the escaped and the raw braces address the hook.
	c.expect("GET", escaped, cloudAdmin(), nil, 200)
	c.expect("GET", hooks+"/"+uid, cloudAdmin(), nil, 200)
	c.expect("GET", hooks+"/"+strings.Trim(uid, "{}"), cloudAdmin(), nil, 200)

	secretOf := func() string {
		for _, h := range c.sb.Hooks() {
			if h.ID == uid {
				return h.Secret
			}
		}
		t.Fatalf("hook %s not in sandbox", uid)
		return ""
	}
	steps := []struct {
		name       string
		body       string
		wantSecret string
	}{
		{"omitting secret keeps it", `{"description":"renamed"}`, "s3cret"},
		{"a new secret replaces it", `{"secret":"rotated"}`, "rotated"},
		{"empty secret removes it", `{"secret":""}`, ""},
		{"secret set again", `{"secret":"again"}`, "again"},
		{"null secret removes it", `{"secret":null}`, ""},
	}
	for _, st := range steps {
		r := c.expect("PUT", escaped, cloudAdmin(), st.body, 200)
		m := r.json(t)
		if _, leaked := m["secret"]; leaked {
			t.Fatalf("%s: response shows the secret", st.name)
		}
		if m["secret_set"] != (st.wantSecret != "") {
			t.Fatalf("%s: secret_set = %v", st.name, m["secret_set"])
		}
		if got := secretOf(); got != st.wantSecret {
			t.Fatalf("%s: stored secret %q, want %q", st.name, got, st.wantSecret)
		}
	}
	got := c.expect("GET", escaped, cloudAdmin(), nil, 200).json(t)
	if got["description"] != "renamed" || got["url"] != "https://orbit.example.com/webhooks/bitbucket-cloud/main" {
		t.Fatalf("partial updates lost fields: %v", got)
	}

	list := c.expect("GET", hooks, cloudAdmin(), nil, 200).json(t)
	if list["size"] != float64(1) {
		t.Fatalf("list size %v, want 1", list["size"])
	}
	c.expect("DELETE", escaped, cloudAdmin(), nil, 204)
	cloudErrorMessage(t, c.expect("GET", escaped, cloudAdmin(), nil, 404))
	c.expect("DELETE", escaped, cloudAdmin(), nil, 404)
	c.expect("PUT", escaped, cloudAdmin(), `{"active":false}`, 404)
}

func TestCloudHookValidation(t *testing.T) {
	t.Parallel()
	c := start(t)
	hooks := "/2.0/repositories/acme/infra/hooks"
	tests := []struct {
		name string
		body string
		want string
	}{
		{"missing url", `{"events":["repo:push"]}`, "url"},
		{"relative url", `{"url":"/hook","events":["repo:push"]}`, "url"},
		{"no events", `{"url":"https://x.example.com","events":[]}`, "events"},
		{"unknown event", `{"url":"https://x.example.com","events":["repo:refs_changed"]}`, "events"},
		{"not json", `nope`, "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.expect("POST", hooks, cloudAdmin(), tt.body, 400)
			cloudErrorMessage(t, r)
			if !strings.Contains(string(r.body), tt.want) {
				t.Fatalf("error does not name %q: %s", tt.want, r.body)
			}
		})
	}
	if n := len(c.sb.Hooks()); n != 0 {
		t.Fatalf("rejected creates stored %d hooks", n)
	}
}

func TestCloudPagination(t *testing.T) {
	t.Parallel()
	c := start(t)
	var repos []sandbox.CloudRepository
	for i := range 123 {
		repos = append(repos, sandbox.CloudRepository{Workspace: "big", Slug: fmt.Sprintf("repo-%03d", i)})
	}
	if err := c.sb.Seed(sandbox.Seed{Cloud: sandbox.CloudSeed{Workspaces: []sandbox.CloudWorkspace{{Slug: "big"}}, Repositories: repos}}); err != nil {
		t.Fatal(err)
	}

	first := c.expect("GET", "/2.0/repositories/big", cloudAdmin(), nil, 200).json(t)
	if first["pagelen"] != float64(10) || len(first["values"].([]any)) != 10 || first["size"] != float64(123) {
		t.Fatalf("default page: pagelen %v, %d values, size %v", first["pagelen"], len(first["values"].([]any)), first["size"])
	}

	capped := c.expect("GET", "/2.0/repositories/big?pagelen=500", cloudAdmin(), nil, 200).json(t)
	if capped["pagelen"] != float64(100) || len(capped["values"].([]any)) != 100 {
		t.Fatalf("pagelen over 100 not capped: pagelen %v, %d values", capped["pagelen"], len(capped["values"].([]any)))
	}

	seen := map[string]bool{}
	next := c.sb.URL + "/2.0/repositories/big?pagelen=50"
	pages := 0
	for next != "" {
		page := c.expect("GET", next, cloudAdmin(), nil, 200).json(t)
		pages++
		for _, v := range page["values"].([]any) {
			slug := v.(map[string]any)["slug"].(string)
			if seen[slug] {
				t.Fatalf("%s listed twice", slug)
			}
			seen[slug] = true
		}
		next, _ = page["next"].(string)
		if next != "" && !strings.HasPrefix(next, "http://") {
			t.Fatalf("next %q is not an absolute URL", next)
		}
		if pages > 10 {
			t.Fatal("next never ends")
		}
	}
	if len(seen) != 123 || pages != 3 {
		t.Fatalf("walked %d repositories in %d pages, want 123 in 3", len(seen), pages)
	}

	for _, bad := range []string{"0", "-1", "x"} {
		cloudErrorMessage(t, c.expect("GET", "/2.0/repositories/big?pagelen="+bad, cloudAdmin(), nil, 400))
	}
}

func TestCloudBuildStatuses(t *testing.T) {
	t.Parallel()
	c := start(t)
	commit := "0123456789abcdef0123456789abcdef01234567"
	base := "/2.0/repositories/acme/infra/commit/" + commit + "/statuses"
	post := func(body any, want int) response { return c.expect("POST", base+"/build", cloudAdmin(), body, want) }

	first := post(map[string]any{"type": "build", "key": "orbit/tracked", "state": "INPROGRESS", "url": "https://orbit.example.com/r/1", "name": "tracked"}, 201).json(t)
	if first["state"] != "INPROGRESS" || first["key"] != "orbit/tracked" || first["type"] != "build" {
		t.Fatalf("created status: %v", first)
	}
	post(map[string]any{"type": "build", "key": "orbit/tracked", "state": "SUCCESSFUL", "url": "https://orbit.example.com/r/1"}, 201)
	post(map[string]any{"type": "build", "key": "orbit/proposed", "state": "FAILED", "url": "https://orbit.example.com/r/2"}, 201)

	got := c.expect("GET", base+"/build/"+url.PathEscape("orbit/tracked"), cloudAdmin(), nil, 200).json(t)
	if got["state"] != "SUCCESSFUL" || got["name"] != "tracked" {
		t.Fatalf("updated status: %v", got)
	}
	list := c.expect("GET", base, cloudAdmin(), nil, 200).json(t)
	if list["size"] != float64(2) {
		t.Fatalf("same key must update, not add: size %v", list["size"])
	}
	c.expect("GET", base+"/build/unknown", cloudAdmin(), nil, 404)
	c.expect("PUT", base+"/build/"+url.PathEscape("orbit/proposed"), cloudAdmin(), map[string]any{"type": "build", "key": "orbit/proposed", "state": "STOPPED"}, 200)

	bad := []struct {
		name string
		body map[string]any
	}{
		{"key over 40", map[string]any{"type": "build", "key": strings.Repeat("k", 41), "state": "FAILED", "url": "https://x.example.com"}},
		{"no key", map[string]any{"type": "build", "state": "FAILED", "url": "https://x.example.com"}},
		{"bad state", map[string]any{"type": "build", "key": "k", "state": "CANCELLED", "url": "https://x.example.com"}},
		{"no url", map[string]any{"type": "build", "key": "k", "state": "FAILED"}},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			r := c.doInvalid("POST", base+"/build", cloudAdmin(), b.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			cloudErrorMessage(t, r)
		})
	}
	post(map[string]any{"type": "build", "key": strings.Repeat("k", 40), "state": "FAILED", "url": "https://x.example.com"}, 201)
}

func TestCloudNotFound(t *testing.T) {
	t.Parallel()
	c := start(t)
	for _, path := range []string{
		"/2.0/workspaces/nope",
		"/2.0/repositories/nope",
		"/2.0/repositories/acme/nope",
		"/2.0/repositories/acme/nope/hooks",
		"/2.0/repositories/acme/infra/hooks/%7B00000000-0000-4000-8000-000000000000%7D",
	} {
		cloudErrorMessage(t, c.expect("GET", path, cloudAdmin(), nil, 404))
	}
	ws := c.expect("GET", "/2.0/workspaces/acme", cloudAdmin(), nil, 200).json(t)
	if ws["slug"] != "acme" || ws["name"] != "Acme" {
		t.Fatalf("workspace: %v", ws)
	}
	repo := c.expect("GET", "/2.0/repositories/acme/infra", cloudAdmin(), nil, 200).json(t)
	if repo["full_name"] != "acme/infra" || repo["mainbranch"].(map[string]any)["name"] != "main" {
		t.Fatalf("repository: %v", repo)
	}
	// A repository can also be addressed by its {uuid}.
	c.expect("GET", "/2.0/repositories/acme/"+url.PathEscape(repo["uuid"].(string)), cloudAdmin(), nil, 200)
}

// The description documents q and sort on GET /2.0/repositories/{workspace}; the
// sandbox filters and orders as Bitbucket does, across pages.
func TestCloudRepositoryQueryAndSort(t *testing.T) {
	t.Parallel()
	c := start(t)
	repos := []sandbox.CloudRepository{
		{Workspace: "q", Slug: "billing-api", Name: "Billing API", ProjectKey: "PAY"},
		{Workspace: "q", Slug: "billing-web", Name: "Billing Web", ProjectKey: "PAY"},
		{Workspace: "q", Slug: "infra", Name: "Infra", ProjectKey: "PLAT"},
		{Workspace: "q", Slug: "notes", Name: "Notes"},
	}
	if err := c.sb.Seed(sandbox.Seed{Cloud: sandbox.CloudSeed{Workspaces: []sandbox.CloudWorkspace{{Slug: "q"}}, Repositories: repos}}); err != nil {
		t.Fatal(err)
	}
	slugs := func(query string) []string {
		t.Helper()
		var out []string
		next := "/2.0/repositories/q?pagelen=1&" + query
		for next != "" {
			page := c.expect("GET", next, cloudAdmin(), nil, 200).json(t)
			for _, v := range page["values"].([]any) {
				out = append(out, v.(map[string]any)["slug"].(string))
			}
			next, _ = page["next"].(string)
		}
		return out
	}
	for _, tc := range []struct{ query, want string }{
		{`q=` + url.QueryEscape(`project.key="PAY"`), "billing-api,billing-web"},
		{`q=` + url.QueryEscape(`name ~ "billing" AND slug != "billing-web"`), "billing-api"},
		{`q=` + url.QueryEscape(`(project.key = "PLAT" OR project.key = null)`), "infra,notes"},
		{`q=` + url.QueryEscape(`name !~ "BILL"`), "infra,notes"},
		{`sort=-slug`, "notes,infra,billing-web,billing-api"},
		{`sort=name&q=` + url.QueryEscape(`project.key="PAY"`), "billing-api,billing-web"},
		{``, "billing-api,billing-web,infra,notes"},
		// IN / NOT IN and unquoted datetimes, as the guide in the Cloud description shows.
		{`q=` + url.QueryEscape(`slug IN ("infra", "notes")`), "infra,notes"},
		{`q=` + url.QueryEscape(`project.key NOT IN ("PAY", null)`), "infra"},
		{`q=` + url.QueryEscape(`project.key IN (null)`), "notes"},
		{`q=` + url.QueryEscape(`created_on > 2020-01-01 AND slug IN ("infra")`), "infra"},
		{`q=` + url.QueryEscape(`created_on >= 2020-01-01T00:00:00.000+02:00`), "billing-api,billing-web,infra,notes"},
		{`q=` + url.QueryEscape(`created_on < 2020-01-01T10:00`), ""},
		{`q=` + url.QueryEscape(`updated_on <= 2999-03-04T14:08:59 AND name ~ "web"`), "billing-web"},
	} {
		if got := strings.Join(slugs(tc.query), ","); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.query, got, tc.want)
		}
	}
	for _, bad := range []string{`q=` + url.QueryEscape(`nosuchfield = "x"`), `q=` + url.QueryEscape(`name = `), `q=` + url.QueryEscape(`name = "x`), `sort=nosuchfield`,
		`q=` + url.QueryEscape(`slug IN "infra"`), `q=` + url.QueryEscape(`slug IN ("infra"`), `q=` + url.QueryEscape(`slug NOT ("infra")`), `q=` + url.QueryEscape(`created_on > 2020-13-45`)} {
		cloudErrorMessage(t, c.expect("GET", "/2.0/repositories/q?"+bad, cloudAdmin(), nil, 400))
	}
}

// Bitbucket Cloud answers collection paths with a trailing slash as without. The
// description has no such paths, so these requests bypass the contract check.
func TestCloudTrailingSlashCollections(t *testing.T) {
	t.Parallel()
	c := start(t)
	send := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, err := http.NewRequest(method, c.sb.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(cloudEmail, cloudAdminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != want {
			t.Fatalf("%s %s: status %d (want %d), body error %v", method, path, resp.StatusCode, want, err)
		}
		return out
	}
	list := send("GET", "/2.0/repositories/acme/", "", 200)
	if n := len(list["values"].([]any)); n != 2 {
		t.Fatalf("/2.0/repositories/acme/ listed %d repositories, want 2", n)
	}
	created := send("POST", "/2.0/repositories/acme/infra/hooks/", `{"url":"https://orbit.example.com/webhooks/bitbucket-cloud/x","events":["repo:push"],"active":true}`, 201)
	hooks := send("GET", "/2.0/repositories/acme/infra/hooks/", "", 200)
	if vals := hooks["values"].([]any); len(vals) != 1 || vals[0].(map[string]any)["uuid"] != created["uuid"] {
		t.Fatalf("hooks/ = %v, want the created hook", hooks["values"])
	}
}

// TestCloudScopeRefusal: a token lacking a scope the description lists for the
// operation gets Bitbucket's 403, naming the required and the granted scopes; every
// answer reports the token's scopes in X-OAuth-Scopes and the operation's in
// X-Accepted-OAuth-Scopes, as Atlassian's "fetch the scope of a token" article shows.
func TestCloudScopeRefusal(t *testing.T) {
	t.Parallel()
	c := start(t)
	status := "/2.0/repositories/acme/infra/commit/0123456789abcdef0123456789abcdef01234567/statuses/build"
	r := c.expect("POST", status, basic(cloudEmail, cloudNoRepoToken), map[string]any{"type": "build", "key": "k", "state": "INPROGRESS", "url": "https://orbit.example.com/r"}, 403)
	if msg := cloudErrorMessage(t, r); msg != "Your credentials lack one or more required privilege scopes." {
		t.Fatalf("message %q", msg)
	}
	detail, _ := r.json(t)["error"].(map[string]any)["detail"].(map[string]any)
	if fmt.Sprint(detail["required"]) != "[read:repository:bitbucket]" || fmt.Sprint(detail["granted"]) != "[read:pullrequest:bitbucket read:user:bitbucket]" {
		t.Fatalf("detail %v", detail)
	}
	if got := r.header.Get("X-OAuth-Scopes"); got != "read:pullrequest:bitbucket, read:user:bitbucket" {
		t.Fatalf("X-OAuth-Scopes %q", got)
	}
	if got := r.header.Get("X-Accepted-OAuth-Scopes"); got != "read:repository:bitbucket" {
		t.Fatalf("X-Accepted-OAuth-Scopes %q", got)
	}
	// Webhook creation needs both webhook scopes; a token with only one is refused.
	c.expect("POST", "/_sandbox/seed", nil, `{"cloud":{"users":[{"email":"`+cloudEmail+`","api_tokens":[{"token":"hook-reader","scopes":["read:webhook:bitbucket"]}]}]}}`, 204)
	c.expect("POST", "/2.0/repositories/acme/infra/hooks", basic(cloudEmail, "hook-reader"), map[string]any{"url": "https://x.example.com", "events": []string{"repo:push"}}, 403)
	c.expect("GET", "/2.0/repositories/acme/infra/hooks", basic(cloudEmail, "hook-reader"), nil, 200)
}
