package sandbox_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

func hashOf(c byte) string { return strings.Repeat(string(c), 40) }

// TestCloudBranchesAndBranchingModel: GET .../refs/branches (paged, q), .../refs/branches/{name}
// and .../branching-model follow the pushes the control API fired (Cloud description:
// paginated_branches, branch, branching_model).
func TestCloudBranchesAndBranchingModel(t *testing.T) {
	t.Parallel()
	c := start(t)
	repo := "/2.0/repositories/acme/infra"
	initial := c.expect("GET", repo+"/refs/branches/main", cloudAdmin(), nil, 200).json(t)
	if hash, _ := at(initial, "target", "hash").(string); len(hash) != 40 {
		t.Fatalf("main has no head: %v", initial)
	}
	c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "main", Commits: []sandbox.Commit{{Hash: hashOf('a')}}})
	c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "feature/x", Commits: []sandbox.Commit{{Hash: hashOf('b')}}})
	c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "release/1", Commits: []sandbox.Commit{{Hash: hashOf('c')}}})

	var names []string
	for next := repo + "/refs/branches?pagelen=1"; next != ""; {
		page := c.expect("GET", next, cloudReadToken2(), nil, 200).json(t)
		for _, v := range page["values"].([]any) {
			names = append(names, v.(map[string]any)["name"].(string))
		}
		next, _ = page["next"].(string)
	}
	if got := strings.Join(names, ","); got != "feature/x,main,release/1" {
		t.Fatalf("branches = %s", got)
	}
	page := c.expect("GET", repo+"/refs/branches?q="+url.QueryEscape(`name ~ "feat" OR target.hash = "`+hashOf('c')+`"`)+"&sort=-name", cloudAdmin(), nil, 200).json(t)
	if got := fmt.Sprintf("%v %v", at(page, "values", "0", "name"), page["size"]); got != "release/1 2" {
		t.Fatalf("filtered branches: %s", got)
	}
	feature := c.expect("GET", repo+"/refs/branches/"+url.PathEscape("feature/x"), cloudAdmin(), nil, 200).json(t)
	if at(feature, "target", "hash") != hashOf('b') || at(feature, "target", "parents", "0", "hash") != hashOf('a') {
		t.Fatalf("feature/x: %v (a new branch starts from main's head)", at(feature, "target"))
	}
	cloudErrorMessage(t, c.expect("GET", repo+"/refs/branches/nope", cloudAdmin(), nil, 404))
	cloudErrorMessage(t, c.expect("GET", "/2.0/repositories/acme/nope/refs/branches", cloudAdmin(), nil, 404))
	c.expect("GET", repo+"/refs/branches", nil, nil, 401)

	model := c.expect("GET", repo+"/branching-model", cloudAdmin(), nil, 200).json(t)
	if at(model, "development", "name") != "main" || at(model, "development", "branch", "target", "hash") != hashOf('a') {
		t.Fatalf("branching model: %v", model["development"])
	}
	if kinds := len(model["branch_types"].([]any)); kinds != 4 {
		t.Fatalf("branch types: %d", kinds)
	}
}

func cloudReadToken2() auth { return basic(cloudEmail, cloudReadToken) }

// TestCloudAccountListings: GET /user/emails, /user/workspaces and the deprecated
// /workspaces and /user/permissions/workspaces list what the caller can reach.
func TestCloudAccountListings(t *testing.T) {
	t.Parallel()
	c := start(t)
	emails := c.expect("GET", "/2.0/user/emails", cloudAdmin(), nil, 200).json(t)
	if at(emails, "values", "0", "email") != cloudEmail || at(emails, "values", "0", "is_primary") != true {
		t.Fatalf("emails: %v", emails)
	}
	slugs := func(path string, a auth, field ...string) string {
		t.Helper()
		var out []string
		for _, v := range c.expect("GET", path, a, nil, 200).json(t)["values"].([]any) {
			out = append(out, at(v, field...).(string))
		}
		return strings.Join(out, ",")
	}
	other := basic(otherEmail, otherToken)
	for _, tc := range []struct {
		path  string
		a     auth
		field []string
		want  string
	}{
		{"/2.0/workspaces", cloudAdmin(), []string{"slug"}, "acme,other"},
		{"/2.0/workspaces", other, []string{"slug"}, "other"},
		{"/2.0/workspaces?q=" + url.QueryEscape(`slug IN ("acme")`), cloudAdmin(), []string{"slug"}, "acme"},
		{"/2.0/user/permissions/workspaces", other, []string{"workspace", "slug"}, "other"},
		{"/2.0/user/permissions/workspaces?q=" + url.QueryEscape(`workspace.slug = "acme"`), cloudAdmin(), []string{"workspace", "slug"}, "acme"},
		{"/2.0/user/workspaces", cloudAdmin(), []string{"workspace", "slug"}, "acme,other"},
		{"/2.0/user/workspaces", other, []string{"workspace", "slug"}, "other"},
	} {
		if got := slugs(tc.path, tc.a, tc.field...); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.path, got, tc.want)
		}
	}
	c.expect("GET", "/2.0/workspaces", nil, nil, 401)
}

// TestCloudPushListsFiveCommits: a Cloud push change lists the 5 newest commits and
// says truncated when there were more (Atlassian's event payload documentation; the
// real push, testdata payloads/cloud/push.json, carries the truncated flag).
func TestCloudPushListsFiveCommits(t *testing.T) {
	t.Parallel()
	c := start(t)
	rc := newReceiver(t)
	c.cloudHook([]string{"repo:push"}, nil, true, rc.URL)
	var commits []sandbox.Commit
	for i := range 7 {
		commits = append(commits, sandbox.Commit{Hash: hashOf(byte('1' + i)), Message: fmt.Sprint("change ", i)})
	}
	for _, tc := range []struct {
		commits   []sandbox.Commit
		listed    int
		truncated bool
	}{{commits, 5, true}, {commits[:5], 5, false}, {commits[:1], 1, false}} {
		change := at(decodeBody(t, c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Commits: tc.commits})[0]), "push", "changes", "0")
		listed := at(change, "commits").([]any)
		newest := tc.commits[len(tc.commits)-1].Hash
		if len(listed) != tc.listed || at(change, "truncated") != tc.truncated || at(listed[0], "hash") != newest || at(change, "new", "target", "hash") != newest {
			t.Errorf("%d commits pushed: %d listed, truncated %v, first %v", len(tc.commits), len(listed), at(change, "truncated"), at(listed[0], "hash"))
		}
	}
}

// TestDataCenterDeprecatedDefaultBranch: GET .../branches/default (deprecated, still in
// the DC 9.2 description) answers a RestBranch with the default branch's latest commit.
func TestDataCenterDeprecatedDefaultBranch(t *testing.T) {
	t.Parallel()
	c := start(t)
	path := dcRepoPath + "/branches/default"
	before := c.expect("GET", path, bearer(dcReadToken), nil, 200).json(t)
	if before["id"] != "refs/heads/main" || before["isDefault"] != true || len(fmt.Sprint(before["latestCommit"])) != 40 {
		t.Fatalf("default branch: %v", before)
	}
	c.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed", Commits: []sandbox.Commit{{Hash: hashOf('e')}}})
	c.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed", Branch: "other", Commits: []sandbox.Commit{{Hash: hashOf('f')}}})
	after := c.expect("GET", "/rest/api/1.0/projects/PLAT/repos/infra/branches/default", dcAdmin(), nil, 200).json(t)
	if after["latestCommit"] != hashOf('e') || after["displayId"] != "main" {
		t.Fatalf("after a push to main: %v", after)
	}
	c.expect("GET", path, nil, nil, 401)
	if ex := dcException(t, c.expect("GET", "/rest/api/latest/projects/PLAT/repos/nope/branches/default", dcAdmin(), nil, 404)); !strings.HasSuffix(ex, "NoSuchRepositoryException") {
		t.Fatalf("unknown repository: %s", ex)
	}
}

// TestDataCenterListBranches: GET .../branches (getBranches in the DC 9.2
// description) filters by filterText (substring, any case), boosts the exact match
// first, pages, and answers 404 for an unknown repository.
func TestDataCenterListBranches(t *testing.T) {
	t.Parallel()
	c := start(t)
	path := dcRepoPath + "/branches"
	for b, h := range map[string]byte{"release": 'b', "release-2": 'c', "pre-release": 'd'} {
		c.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed", Branch: b, Commits: []sandbox.Commit{{Hash: hashOf(h)}}})
	}
	page := c.expect("GET", path+"?filterText=RELEASE&boostMatches=true&details=false", bearer(dcReadToken), nil, 200).json(t)
	values := page["values"].([]any)
	var names []string
	for _, v := range values {
		names = append(names, fmt.Sprint(v.(map[string]any)["displayId"]))
	}
	if strings.Join(names, ",") != "release,release-2,pre-release" || page["isLastPage"] != true {
		t.Fatalf("filterText=RELEASE boosted: %v (page %v)", names, page)
	}
	if first := values[0].(map[string]any); first["latestCommit"] != hashOf('b') || first["id"] != "refs/heads/release" || first["isDefault"] != false {
		t.Fatalf("release: %v", first)
	}
	page = c.expect("GET", path+"?filterText=release&limit=1&start=1", bearer(dcReadToken), nil, 200).json(t)
	if got := page["values"].([]any); len(got) != 1 || page["isLastPage"] != false || page["nextPageStart"] != float64(2) {
		t.Fatalf("second page of one: %v", page)
	}
	all := c.expect("GET", path, bearer(dcReadToken), nil, 200).json(t)
	if n := len(all["values"].([]any)); n != 4 {
		t.Fatalf("every branch: %d, want 4 (main and three pushed)", n)
	}
	c.expect("GET", path, nil, nil, 401)
	if ex := dcException(t, c.expect("GET", "/rest/api/latest/projects/PLAT/repos/nope/branches", dcAdmin(), nil, 404)); !strings.HasSuffix(ex, "NoSuchRepositoryException") {
		t.Fatalf("unknown repository: %s", ex)
	}
}
