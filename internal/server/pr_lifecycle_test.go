package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// TestLoopClosedPullRequestEndsItsRuns (issue 20 item 4): a pull request merged,
// declined or deleted ends its proposed runs that are still queued (finished,
// canceled, with a message naming the pull request) and sets their commit statuses
// to the product's stopped state, Cloud STOPPED and Data Center CANCELLED; a run of
// the pull request that already finished keeps its result, and another pull
// request's run stays queued.
func TestLoopClosedPullRequestEndsItsRuns(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	cloudStack := l.bind("cloud-net", l.cloud, "acme")
	dcStack := l.bind("dc-net", l.dc, "PLAT")
	for i, tc := range []struct {
		product, stack, opened, closed, how, stopped string
	}{
		{"cloud", cloudStack, "pullrequest:created", "pullrequest:rejected", "declined", "STOPPED"},
		{"cloud", cloudStack, "pullrequest:created", "pullrequest:fulfilled", "merged", "STOPPED"},
		{"datacenter", dcStack, "pr:opened", "pr:declined", "declined", "CANCELLED"},
		{"datacenter", dcStack, "pr:opened", "pr:deleted", "deleted", "CANCELLED"},
		{"datacenter", dcStack, "pr:opened", "pr:merged", "merged", "CANCELLED"},
	} {
		t.Run(tc.closed, func(t *testing.T) {
			id := 40 + i
			event := func(key string, pr int, source string) sandbox.Event {
				ev := sandbox.Event{Product: tc.product, Repository: "infra", Event: key,
					PullRequest: &sandbox.PullRequest{ID: pr, SourceBranch: fmt.Sprint("feature-", pr), SourceCommit: source}}
				if tc.product == "cloud" {
					ev.Workspace = "acme"
				} else {
					ev.Project = "PLAT"
				}
				return ev
			}
			short := func(commit string) string {
				if tc.product == "cloud" {
					return commit[:12] // Cloud pull request payloads carry 12 hex digits
				}
				return commit
			}
			// The pull request's first commit gets a result; its second stays queued.
			first, second, other := hash(300+10*i), hash(301+10*i), hash(302+10*i)
			l.fire(event(tc.opened, id, first))
			done := l.waitRuns(short(first), 1)[0]
			l.finish(done.ID, "succeeded")
			l.fire(event(tc.opened, id, second)) // a new source commit (fired as opened again): a second proposed run
			queued := l.waitRuns(short(second), 1)[0]
			// Another pull request of the same repository.
			l.fire(event(tc.opened, id+100, other))
			untouched := l.waitRuns(short(other), 1)[0]
			l.waitStatuses(tc.product, short(second), map[string]string{stackKey(tc.stack): "INPROGRESS"})

			l.fire(event(tc.closed, id, second))
			l.waitStatuses(tc.product, short(second), map[string]string{stackKey(tc.stack): tc.stopped})
			ended := l.waitRuns(short(second), 1)[0]
			if ended.ID != queued.ID || ended.State != "finished" || ended.Result == nil || *ended.Result != "canceled" ||
				ended.FinishedAt == nil || ended.FinishedAt.Before(ended.CreatedAt.Time) {
				t.Fatalf("run of the %s pull request: %+v", tc.how, ended)
			}
			var message string
			for _, r := range []map[string]any{l.c.must("GET", "/api/v1/runs/"+ended.ID, nil, 200)} {
				message, _ = r["message"].(string)
			}
			if want := fmt.Sprintf("pull request #%d was %s", id, tc.how); !strings.Contains(message, want) {
				t.Errorf("message %q does not say %q", message, want)
			}
			if r := l.waitRuns(short(first), 1)[0]; r.Result == nil || *r.Result != "succeeded" {
				t.Errorf("the finished run of the closed pull request changed: %+v", r)
			}
			l.waitStatuses(tc.product, short(first), map[string]string{stackKey(tc.stack): "SUCCESSFUL"})
			if r := l.waitRuns(short(other), 1)[0]; r.ID != untouched.ID || r.State != "queued" {
				t.Errorf("another pull request's run changed: %+v", r)
			}
		})
	}
}
