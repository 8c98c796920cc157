package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// listingCounter counts orbit-server's reads (listings of changed paths, and the
// repository read a new branch needs on Cloud) on their way to the sandbox; commit
// status posts are not counted.
type listingCounter struct {
	mu    sync.Mutex
	paths []string
}

func (c *listingCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	p := r.URL.Path
	if r.Method == http.MethodGet && !strings.Contains(p, "/statuses/") && !strings.Contains(p, "/builds") {
		c.mu.Lock()
		c.paths = append(c.paths, p+"?"+r.URL.RawQuery)
		c.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// take returns the requests counted since the last take.
func (c *listingCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.paths
	c.paths = nil
	return out
}

type monorepoRun struct {
	StackID       string `json:"stack_id"`
	Kind          string `json:"kind"`
	TriggerReason string `json:"trigger_reason"`
}

// runsByStack waits for n runs of commit and returns them by stack name.
func (l *loop) runsByStack(commit string, n int) map[string]monorepoRun {
	l.t.Helper()
	l.waitRuns(commit, n)
	status, body := l.c.do(http.MethodGet, "/api/v1/runs?commit="+commit, nil)
	var list struct {
		Items []monorepoRun `json:"items"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil {
		l.t.Fatalf("list runs: %d %s", status, body)
	}
	names := map[string]string{}
	for name, id := range l.stacks {
		names[id] = name
	}
	out := map[string]monorepoRun{}
	for _, r := range list.Items {
		out[names[r.StackID]] = r
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestMonorepoRunsOnlyTouchedStacks (issue 25): three stacks on one repository, prod
// (root envs/prod, glob modules/**), staging (root envs/staging) and all (root ""):
// a push or pull request runs the stacks whose paths it changed, and posts statuses
// for those only; when the changed paths cannot be listed every stack runs and its
// run says why. One listing per push serves all three stacks.
func TestMonorepoRunsOnlyTouchedStacks(t *testing.T) {
	t.Parallel()
	for i, p := range []struct {
		product, namespace, pushEvent, prEvent string
	}{
		{"cloud", "acme", "repo:push", "pullrequest:created"},
		{"datacenter", "PLAT", "repo:refs_changed", "pr:opened"},
	} {
		t.Run(p.product, func(t *testing.T) {
			t.Parallel()
			counter := &listingCounter{}
			l := newLoop(t, "all", servertest.WithConfig(func(c *server.Config) {
				c.StatusHTTPClient = &http.Client{Transport: counter}
			}))
			integration := l.cloud
			if p.product == "datacenter" {
				integration = l.dc
			}
			l.bind("prod", integration, p.namespace, "project_root", "envs/prod", "additional_project_globs", []string{"modules/**"})
			l.bind("staging", integration, p.namespace, "project_root", "envs/staging")
			l.bind("all", integration, p.namespace)
			event := func(key string) sandbox.Event {
				ev := sandbox.Event{Product: p.product, Repository: "infra", Event: key}
				if p.product == "cloud" {
					ev.Workspace = "acme"
				} else {
					ev.Project = "PLAT"
				}
				return ev
			}

			cases := []struct {
				file string
				want []string
			}{
				{"envs/staging/a.tf", []string{"all", "staging"}},
				{"modules/vpc/x.tf", []string{"all", "prod"}},
				{"README.md", []string{"all"}},
			}
			// The sandbox takes a push without an old commit for a new branch: it is
			// compared with the main branch, which it already is, so it changes nothing.
			head := hash(1000*(i+1) + 99)
			first := event(p.pushEvent)
			first.Branch, first.Commits = "main", []sandbox.Commit{{Hash: head, Message: "start", Files: []string{"envs/prod/main.tf"}}}
			l.fire(first)
			if got := sortedKeys(l.runsByStack(head, 1)); !slices.Equal(got, []string{"all"}) {
				t.Fatalf("first push ran %v, want all only", got)
			}
			created := counter.take()
			if len(created) == 0 || len(created) > 2 {
				t.Errorf("push creating a branch: requests %v, want the listing (and on Cloud the repository's main branch)", created)
			}
			t.Logf("bench: %s push creating a branch: %d Bitbucket read(s) for 3 bound stacks %v", p.product, len(created), created)
			for n, tc := range cases {
				// A push to main touching one path.
				commit := hash(1000*(i+1) + n)
				push := event(p.pushEvent)
				push.Branch, push.OldHash = "main", head
				push.Commits = []sandbox.Commit{{Hash: commit, Message: "change " + tc.file, Files: []string{tc.file}}}
				l.fire(push)
				runs := l.runsByStack(commit, len(tc.want))
				if got := sortedKeys(runs); !slices.Equal(got, tc.want) {
					t.Fatalf("push of %s ran %v, want %v", tc.file, got, tc.want)
				}
				for name, r := range runs {
					wantReason := ""
					if name != "all" {
						wantReason = "1 of 1 changed path(s) concern the stack: " + tc.file
					}
					if r.Kind != "tracked" || r.TriggerReason != wantReason {
						t.Errorf("push of %s, run of %s: %+v, want trigger reason %q", tc.file, name, r, wantReason)
					}
				}
				// Statuses only for the stacks that ran; the aggregate counts only them.
				wantStatuses := map[string]string{"orbit/tracked": "INPROGRESS"}
				for name := range runs {
					wantStatuses[stackKey(l.stacks[name])] = "INPROGRESS"
				}
				l.waitStatuses(p.product, commit, wantStatuses)
				// One listing, one page, for the three stacks.
				if got := counter.take(); len(got) != 1 {
					t.Errorf("push of %s: %d listing request(s) %v, want 1", tc.file, len(got), got)
				} else {
					t.Logf("bench: %s push of %s: 1 Bitbucket read for 3 bound stacks (%s)", p.product, tc.file, got[0])
				}
				head = commit
			}

			// Pull requests behave the same, with proposed runs.
			for n, tc := range cases {
				source := hash(1000*(i+1) + 100 + n)
				opened := event(p.prEvent)
				opened.PullRequest = &sandbox.PullRequest{ID: 10 + n, SourceBranch: fmt.Sprintf("feature-%d", n), SourceCommit: source, DestinationCommit: head}
				opened.Commits = []sandbox.Commit{{Hash: source, Message: "proposal", Files: []string{tc.file}}}
				l.fire(opened)
				prCommit := source
				if p.product == "cloud" {
					prCommit = source[:12]
				}
				runs := l.runsByStack(prCommit, len(tc.want))
				if got := sortedKeys(runs); !slices.Equal(got, tc.want) {
					t.Fatalf("pull request changing %s ran %v, want %v", tc.file, got, tc.want)
				}
				for name, r := range runs {
					if r.Kind != "proposed" || (name != "all") != strings.Contains(r.TriggerReason, tc.file) {
						t.Errorf("pull request changing %s, run of %s: %+v", tc.file, name, r)
					}
				}
				if got := counter.take(); len(got) == 0 || len(got) > 2 { // Cloud: the 302 and its target
					t.Errorf("pull request changing %s: listing requests %v, want one listing", tc.file, got)
				}
			}

			// Bitbucket fails the listing past the retries: all three run, and say why.
			prefix := "/2.0/repositories/acme/infra/diffstat"
			if p.product == "datacenter" {
				prefix = "/rest/api/latest/projects/PLAT/repos/infra/compare/changes"
			}
			l.sb.AddFault(sandbox.Fault{Status: http.StatusServiceUnavailable, Count: 100, PathPrefix: prefix})
			commit := hash(1000*(i+1) + 50)
			push := event(p.pushEvent)
			push.Branch, push.OldHash = "main", head
			push.Commits = []sandbox.Commit{{Hash: commit, Message: "docs", Files: []string{"README.md"}}}
			l.fire(push)
			runs := l.runsByStack(commit, 3)
			for _, name := range []string{"prod", "staging"} {
				if r := runs[name]; !strings.HasPrefix(r.TriggerReason, "changed paths unavailable, so the stack runs: ") || !strings.Contains(r.TriggerReason, "503") {
					t.Errorf("run of %s after a failed listing: %+v, want the reason recorded", name, r)
				}
			}
		})
	}
}

// TestBindingProjectGlobs: the API stores a binding's globs, answers [] for none, and
// refuses a bad one with a 400 naming the field and the entry.
func TestBindingProjectGlobs(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	id := l.bind("prod", l.cloud, "acme", "project_root", "envs/prod", "additional_project_globs", []string{"modules/**", "shared/*.tf"})
	got := l.c.must(http.MethodGet, bindingPath(id), nil, http.StatusOK)
	if fmt.Sprint(got["additional_project_globs"]) != "[modules/** shared/*.tf]" {
		t.Errorf("stored globs: %v", got["additional_project_globs"])
	}
	got = l.c.ifMatch("*").must(http.MethodPut, bindingPath(id), with(bindingBody(l.cloud, "acme", "infra"), "project_root", "envs/prod"), http.StatusOK)
	if globs, ok := got["additional_project_globs"].([]any); !ok || len(globs) != 0 {
		t.Errorf("globs left out: %#v, want []", got["additional_project_globs"])
	}
	for _, bad := range [][]string{{"modules/**", "/abs/**"}, {"modules/["}, {"a/**", "a/**"}} {
		msg := l.c.ifMatch("*").wantError(http.MethodPut, bindingPath(id), with(bindingBody(l.cloud, "acme", "infra"), "additional_project_globs", bad),
			http.StatusBadRequest, "invalid_argument", "additional_project_globs")
		if !strings.Contains(msg, "additional_project_globs[") {
			t.Errorf("%q: %s, want the entry named", bad, msg)
		}
	}
}
