package sandbox_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// listing follows a Cloud diffstat or DC changes listing (path has a query) through
// all its pages and returns its entries sorted: "status:path" (Cloud) or "TYPE:path"
// (DC), a rename as "…:old->new".
func (c *apiClient) listing(path string, a auth) string {
	c.t.Helper()
	var out []string
	cloud := strings.HasPrefix(path, "/2.0/")
	for next := path; next != ""; {
		page := c.expect("GET", next, a, nil, 200).json(c.t)
		for _, v := range page["values"].([]any) {
			status, newPath, oldPath := at(v, "status"), at(v, "new", "path"), at(v, "old", "path")
			if !cloud {
				status, newPath, oldPath = at(v, "type"), at(v, "path", "toString"), at(v, "srcPath", "toString")
			}
			entry := fmt.Sprintf("%v:%v", status, newPath)
			if status == "renamed" || status == "MOVE" {
				entry = fmt.Sprintf("%v:%v->%v", status, oldPath, newPath)
			}
			out = append(out, entry)
		}
		switch {
		case cloud:
			next, _ = page["next"].(string)
		case page["isLastPage"] == true:
			next = ""
		default:
			next = fmt.Sprintf("%s&start=%v", path, page["nextPageStart"])
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// pushAndPR fires, on one product, two pushes to main and a pull request whose commits
// carry files, on top of initial, main's first head.
func (c *apiClient) pushAndPR(ev sandbox.Event, push, pr string, initial string) {
	c.t.Helper()
	push1 := ev
	push1.Event, push1.OldHash = push, initial
	push1.Commits = []sandbox.Commit{
		{Hash: hashOf('1'), Files: []string{"envs/prod/main.tf", "README.md"}},
		{Hash: hashOf('2'), Files: []string{"modules/vpc/x.tf", "old.tf -> new.tf", "README.md"}},
	}
	c.fire(push1)
	push2 := ev
	push2.Event, push2.OldHash = push, hashOf('2')
	push2.Commits = []sandbox.Commit{{Hash: hashOf('3'), Files: []string{"README.md", "envs/prod/main.tf -> envs/production/main.tf"}}}
	c.fire(push2)
	opened := ev
	opened.Event = pr
	opened.PullRequest = &sandbox.PullRequest{ID: 4, DestinationCommit: hashOf('3')}
	opened.Commits = []sandbox.Commit{
		{Hash: hashOf('4'), Files: []string{"envs/staging/a.tf"}},
		{Hash: hashOf('5'), Files: []string{"envs/staging/a.tf", "modules/vpc/x.tf"}},
	}
	c.fire(opened)
}

const (
	wantPush1 = "added:README.md,added:envs/prod/main.tf,added:modules/vpc/x.tf,renamed:old.tf->new.tf"
	wantPush2 = "modified:README.md,renamed:envs/prod/main.tf->envs/production/main.tf"
	wantPR    = "added:envs/staging/a.tf,modified:modules/vpc/x.tf"
)

// dcWords turns the Cloud words of a want into Data Center's change types.
func dcWords(s string) string {
	return strings.NewReplacer("added:", "ADD:", "modified:", "MODIFY:", "renamed:", "MOVE:").Replace(s)
}

// TestCloudDiffstat: GET .../diffstat/{new}..{old} (paged) and .../pullrequests/{id}/diffstat
// (a 302 to the range, as cloud-openapi3.json documents) list the union of the files of
// the commits the control API's events carried.
func TestCloudDiffstat(t *testing.T) {
	t.Parallel()
	c := start(t)
	repo := "/2.0/repositories/acme/infra"
	initial := at(c.expect("GET", repo+"/refs/branches/main", cloudAdmin(), nil, 200).json(t), "target", "hash").(string)
	c.pushAndPR(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra"}, "repo:push", "pullrequest:created", initial)

	for spec, want := range map[string]string{
		hashOf('2') + ".." + initial:          wantPush1,
		hashOf('3')[:12] + ".." + hashOf('2'): wantPush2,
		hashOf('3'):                           wantPush2, // one commit: against its parent
		"main.." + initial:                    "added:README.md,added:envs/production/main.tf,added:modules/vpc/x.tf,renamed:old.tf->new.tf",
	} {
		if got := c.listing(repo+"/diffstat/"+spec+"?pagelen=1", cloudAdmin()); got != want {
			t.Errorf("diffstat %s:\n got %s\nwant %s", spec, got, want)
		}
	}
	cloudErrorMessage(t, c.expect("GET", repo+"/diffstat/"+hashOf('9')+".."+initial, cloudAdmin(), nil, 404))

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", c.sb.URL+repo+"/pullrequests/4/diffstat", nil)
	cloudAdmin()(req)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	location := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasSuffix(location, "/diffstat/"+hashOf('5')+".."+hashOf('3')) {
		t.Fatalf("pull request diffstat: %d to %q", resp.StatusCode, location)
	}
	if got := c.listing(strings.TrimPrefix(location, c.sb.URL)+"?pagelen=1", cloudAdmin()); got != wantPR {
		t.Errorf("pull request diffstat: %s, want %s", got, wantPR)
	}
	cloudErrorMessage(t, c.expect("GET", repo+"/pullrequests/99/diffstat", cloudAdmin(), nil, 404))
}

// TestDataCenterChanges: GET .../compare/changes?from=&to=, .../commits/{id}/changes and
// .../pull-requests/{id}/changes (paged, RestChange; datacenter-9.2-openapi3.json).
func TestDataCenterChanges(t *testing.T) {
	t.Parallel()
	c := start(t)
	initial := c.expect("GET", dcRepoPath+"/branches/default", dcAdmin(), nil, 200).json(t)["latestCommit"].(string)
	c.pushAndPR(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra"}, "repo:refs_changed", "pr:opened", initial)

	for path, want := range map[string]string{
		"/compare/changes?from=" + hashOf('2') + "&to=" + initial:          wantPush1,
		"/compare/changes?from=" + hashOf('3') + "&to=" + hashOf('2'):      wantPush2,
		"/compare/changes?from=" + hashOf('5') + "&to=" + hashOf('3')[:12]: wantPR,
		"/compare/changes?from=" + hashOf('5'):                             wantPR, // to: the default branch
		"/commits/" + hashOf('3') + "/changes?limit=1":                     wantPush2,
		"/commits/" + hashOf('2') + "/changes?since=" + initial:            wantPush1,
		"/pull-requests/4/changes?limit=1":                                 wantPR,
	} {
		if !strings.Contains(path, "limit=") {
			path += "&limit=1"
		}
		if got := c.listing(dcRepoPath+path, bearer(dcReadToken)); got != dcWords(want) {
			t.Errorf("%s:\n got %s\nwant %s", path, got, dcWords(want))
		}
	}
	if ex := dcException(t, c.expect("GET", dcRepoPath+"/commits/"+hashOf('9')+"/changes", dcAdmin(), nil, 404)); !strings.HasSuffix(ex, "NoSuchCommitException") {
		t.Fatalf("unknown commit: %s", ex)
	}
	if ex := dcException(t, c.expect("GET", dcRepoPath+"/pull-requests/99/changes", dcAdmin(), nil, 404)); !strings.HasSuffix(ex, "NoSuchPullRequestException") {
		t.Fatalf("unknown pull request: %s", ex)
	}
	c.expect("GET", dcRepoPath+"/pull-requests/4/changes", nil, nil, 401)
}
