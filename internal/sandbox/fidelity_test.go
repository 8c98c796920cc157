package sandbox_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// hasKey reports whether key appears as an object key anywhere in v.
func hasKey(v any, key string) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if k == key || hasKey(child, key) {
				return true
			}
		}
	case []any:
		for _, child := range x {
			if hasKey(child, key) {
				return true
			}
		}
	}
	return false
}

// at walks a decoded JSON value by object keys and array indexes ("0").
func at(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			if p != "0" || len(x) == 0 {
				return nil
			}
			v = x[0]
		default:
			return nil
		}
	}
	return v
}

func decodeBody(t *testing.T, d sandbox.Delivery) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(d.RequestBody), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCloudPushPayloadFidelity holds the Cloud push payload to what Bitbucket sends
// (testdata/bitbucket/payloads/cloud/push.json, and Bitbucket's removal of username):
// no username on any user, author.raw "Name <email>", the new head's parents filled,
// the old head with its message, Bitbucket's forms of links.commits and links.html,
// and percent-encoded UUIDs in links.
func TestCloudPushPayloadFidelity(t *testing.T) {
	t.Parallel()
	c := start(t)
	rc := newReceiver(t)
	c.cloudHook([]string{"repo:push", "pullrequest:created"}, ptr("k"), true, rc.URL)
	oldHead, newHead := strings.Repeat("a", 40), strings.Repeat("b", 40)
	c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push",
		Commits: []sandbox.Commit{{Hash: oldHead, Message: "First change"}}})
	push := decodeBody(t, c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push",
		OldHash: oldHead, Commits: []sandbox.Commit{{Hash: newHead, Message: "Second change"}}})[0])
	pr := decodeBody(t, c.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:created",
		PullRequest: &sandbox.PullRequest{ID: 2}})[0])

	for name, body := range map[string]any{"push": push, "pull request": pr} {
		if hasKey(body, "username") {
			t.Errorf("%s payload carries username", name)
		}
		self, _ := at(body, "actor", "links", "self", "href").(string)
		if !strings.Contains(self, "%7B") || strings.ContainsAny(self, "{}") {
			t.Errorf("%s actor link %q: want the UUID percent-encoded", name, self)
		}
	}
	change := at(push, "push", "changes", "0")
	if raw := at(change, "commits", "0", "author", "raw"); raw != "Dev Eloper <"+cloudEmail+">" {
		t.Errorf("author.raw = %v, want Name <email>", raw)
	}
	if parent := at(change, "new", "target", "parents", "0", "hash"); parent != oldHead {
		t.Errorf("new.target.parents[0].hash = %v, want %s", parent, oldHead)
	}
	if msg, _ := at(change, "old", "target", "message").(string); !strings.HasPrefix(msg, "First change") {
		t.Errorf("old.target.message = %q", msg)
	}
	if commits, _ := at(change, "links", "commits", "href").(string); !strings.HasSuffix(commits, "/commits?include="+newHead+"&exclude="+oldHead) {
		t.Errorf("links.commits = %q", commits)
	}
	if html, _ := at(change, "links", "html", "href").(string); !strings.HasSuffix(html, "/branches/compare/"+newHead+".."+oldHead) {
		t.Errorf("links.html = %q", html)
	}
}

// TestDataCenterPRModifiedPreviousValues: pr:modified reports what the pull request
// was before the change, as the control API sets it (the real payload,
// testdata/bitbucket/payloads/datacenter/pr_modified_meta.json, differs from the
// current title and description).
func TestDataCenterPRModifiedPreviousValues(t *testing.T) {
	t.Parallel()
	c := start(t)
	rc := newReceiver(t)
	c.dcHook([]string{"pr:modified"}, "k", rc.URL)
	oldTitle, oldDescription := "Clean README", "Old text"
	body := decodeBody(t, c.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "pr:modified",
		PullRequest: &sandbox.PullRequest{ID: 6, Title: "Clean README.md", Description: "New text",
			PreviousTitle: &oldTitle, PreviousDescription: &oldDescription, PreviousDestinationBranch: "develop"}})[0])
	if at(body, "previousTitle") != oldTitle || at(body, "previousDescription") != oldDescription {
		t.Errorf("previous title/description = %v / %v", at(body, "previousTitle"), at(body, "previousDescription"))
	}
	if at(body, "previousTarget", "id") != "refs/heads/develop" || at(body, "pullRequest", "toRef", "id") != "refs/heads/main" {
		t.Errorf("previousTarget %v, toRef %v", at(body, "previousTarget"), at(body, "pullRequest", "toRef", "id"))
	}
	if commit, _ := at(body, "previousTarget", "latestCommit").(string); len(commit) != 40 {
		t.Errorf("previousTarget.latestCommit = %q", commit)
	}
}

// TestDataCenterBasicAuthForUserTokens: a personal token is also accepted as the Basic
// auth password of its owner; project and repository tokens only as Bearer.
func TestDataCenterBasicAuthForUserTokens(t *testing.T) {
	t.Parallel()
	c := start(t)
	c.expect("GET", "/rest/api/latest/projects/PLAT/repos/infra", basic("admin", dcReadToken), nil, 200)
	c.expect("GET", "/rest/api/latest/projects/PLAT/repos/infra", bearer(dcReadToken), nil, 200)
	c.expect("GET", "/rest/api/latest/projects/PLAT/repos/infra", basic("someone-else", dcReadToken), nil, 401)
	c.expect("GET", "/rest/api/latest/projects/PLAT/repos/infra", basic("admin", dcAdminToken), nil, 401)     // a project token
	c.expect("GET", "/rest/api/latest/projects/PLAT/repos/infra", basic("admin", dcRepoAdminToken), nil, 401) // a repository token
	c.expect("GET", "/rest/api/latest/projects/PLAT/repos/infra", bearer(dcRepoAdminToken), nil, 200)
}

// TestDataCenterDeprecatedBuildStatus: POST and GET /rest/build-status/1.0/commits/{id}
// are still served, with the description's rules (three states, key/url required).
func TestDataCenterDeprecatedBuildStatus(t *testing.T) {
	t.Parallel()
	c := start(t)
	commit := strings.Repeat("d", 40)
	path := "/rest/build-status/1.0/commits/" + commit
	c.expect("POST", path, dcAdmin(), map[string]any{"state": "INPROGRESS", "key": "ci", "url": "https://ci.example.com/1"}, 204)
	c.expect("POST", path, dcAdmin(), map[string]any{"state": "SUCCESSFUL", "key": "ci", "url": "https://ci.example.com/1"}, 204)
	c.expectInvalid("POST", path, dcAdmin(), map[string]any{"state": "CANCELLED", "key": "ci", "url": "https://ci.example.com/1"}, 400)
	c.expectInvalid("POST", path, dcAdmin(), map[string]any{"state": "FAILED", "key": "ci"}, 400)
	c.expect("POST", path, nil, map[string]any{"state": "FAILED", "key": "ci", "url": "https://ci.example.com/1"}, 401)
	var page struct {
		Values []struct{ Key, State string } `json:"values"`
	}
	r := c.expect("GET", path, dcAdmin(), nil, 200)
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Values) != 1 || page.Values[0].Key != "ci" || page.Values[0].State != "SUCCESSFUL" {
		t.Fatalf("statuses of the commit: %+v", page.Values)
	}
}
