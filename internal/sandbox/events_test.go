package sandbox_test

import (
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// TestEveryEventKeyFires: the control API fires every event key of Atlassian's payload
// documentation for both products, each with the properties that documentation lists
// (and nothing a key does not carry: no top-level repository on Cloud project:updated,
// DC repo:modified or DC pull request events; no actor on mirror:repo_synchronized).
func TestEveryEventKeyFires(t *testing.T) {
	t.Parallel()
	c := start(t)
	rc := newReceiver(t)
	cloudKeys := []string{
		"repo:push", "repo:fork", "repo:updated", "repo:transfer", "repo:commit_comment_created",
		"repo:commit_status_created", "repo:commit_status_updated", "repo:created", "repo:deleted", "repo:imported",
		"issue:created", "issue:updated", "issue:comment_created",
		"pullrequest:created", "pullrequest:updated", "pullrequest:push", "pullrequest:approved", "pullrequest:unapproved",
		"pullrequest:changes_request_created", "pullrequest:changes_request_removed",
		"pullrequest:fulfilled", "pullrequest:rejected", "pullrequest:comment_created", "pullrequest:comment_updated",
		"pullrequest:comment_deleted", "pullrequest:comment_resolved", "pullrequest:comment_reopened",
		"project:updated",
	}
	dcKeys := []string{
		"repo:refs_changed", "repo:modified", "repo:forked", "repo:comment:added", "repo:comment:edited",
		"repo:comment:deleted", "mirror:repo_synchronized",
		"pr:opened", "pr:from_ref_updated", "pr:to_ref_updated", "pr:modified", "pr:reviewer:updated",
		"pr:reviewer:approved", "pr:reviewer:unapproved", "pr:reviewer:needs_work", "pr:reviewer:changes_requested",
		"pr:merged", "pr:declined", "pr:deleted", "pr:comment:added", "pr:comment:edited", "pr:comment:deleted",
	}
	c.cloudHook(cloudKeys, ptr("k"), true, rc.URL)
	c.dcHook(dcKeys, "k", rc.URL)
	// What each key must carry beside the actor, and what it must not.
	want := map[string][]string{
		"repo:push": {"repository", "push"}, "repo:fork": {"repository", "fork"}, "repo:updated": {"repository", "changes"},
		"repo:transfer": {"repository", "previous_owner"}, "repo:commit_comment_created": {"repository", "comment", "commit"},
		"repo:commit_status_created": {"repository", "commit_status"}, "repo:commit_status_updated": {"repository", "commit_status"},
		"issue:created": {"repository", "issue"}, "issue:updated": {"repository", "issue", "changes", "comment"},
		"issue:comment_created": {"repository", "issue", "comment"},
		"pullrequest:approved":  {"pullrequest", "approval"}, "pullrequest:changes_request_created": {"pullrequest", "changes_request"},
		"pullrequest:comment_updated": {"pullrequest", "comment"}, "pullrequest:comment_deleted": {"pullrequest", "comment"},
		"project:updated":   {"project", "workspace", "-repository"},
		"repo:refs_changed": {"repository", "changes"}, "repo:modified": {"old", "new", "-repository"},
		"repo:forked": {"repository"}, "repo:comment:edited": {"repository", "comment", "commit", "previousComment"},
		"mirror:repo_synchronized": {"-actor", "repository", "mirrorServer", "changes"},
		"pr:to_ref_updated":        {"pullRequest", "previousToHash", "-repository"}, "pr:reviewer:updated": {"pullRequest", "addedReviewers", "removedReviewers"},
		"pr:reviewer:needs_work": {"pullRequest", "participant", "previousStatus"}, "pr:deleted": {"pullRequest", "-repository"},
		"pr:comment:edited": {"pullRequest", "comment", "previousComment"}, "pr:comment:deleted": {"pullRequest", "comment"},
	}
	fire := func(product, key string) map[string]any {
		t.Helper()
		ev := sandbox.Event{Product: product, Repository: "infra", Event: key, PullRequest: &sandbox.PullRequest{ID: 4}}
		if product == "cloud" {
			ev.Workspace = "acme"
		} else {
			ev.Project = "PLAT"
		}
		d := c.fire(ev)
		if len(d) != 1 || d[0].Status != 200 || d[0].RequestHeaders["X-Event-Key"] != key {
			t.Fatalf("%s %s: deliveries %+v", product, key, d)
		}
		return decodeBody(t, d[0]).(map[string]any)
	}
	check := func(product string, keys []string) {
		for _, key := range keys {
			body := fire(product, key)
			props := append([]string{"actor"}, want[key]...)
			if strings.HasPrefix(key, "pr:") || strings.HasPrefix(key, "pullrequest:") {
				props = append(props, map[string]string{"cloud": "pullrequest", "datacenter": "pullRequest"}[product])
			}
			for _, p := range props {
				if absent, ok := strings.CutPrefix(p, "-"); ok {
					if _, has := body[absent]; has {
						t.Errorf("%s %s carries %s", product, key, absent)
					}
					continue
				}
				if p == "actor" && key == "mirror:repo_synchronized" {
					continue
				}
				if _, has := body[p]; !has {
					t.Errorf("%s %s lacks %s", product, key, p)
				}
			}
		}
	}
	check("cloud", cloudKeys)
	check("datacenter", dcKeys)
	if at(fire("cloud", "pullrequest:comment_deleted"), "comment", "deleted") != true {
		t.Error("pullrequest:comment_deleted: comment.deleted is not true")
	}
	if got := at(fire("datacenter", "pr:reviewer:changes_requested"), "participant", "status"); got != "NEEDS_WORK" {
		t.Errorf("pr:reviewer:changes_requested participant status %v", got)
	}
	for _, bad := range []sandbox.Event{
		{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pipeline:span_created"},
		{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "pullrequest:created"},
	} {
		c.expect("POST", "/_sandbox/events", nil, bad, 400)
	}
}
