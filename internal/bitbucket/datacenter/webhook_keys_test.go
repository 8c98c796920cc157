package datacenter_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
)

// realParts are objects taken from Bitbucket's own deliveries, to build the bodies
// of the events no real payload is kept for: the repository and actor of a push,
// the pull request of pr:merged (whose toRef.repository is PRJ/my-repo).
func realParts(t *testing.T) (repository, actor, pullRequest json.RawMessage) {
	t.Helper()
	var push, merged map[string]json.RawMessage
	if err := json.Unmarshal(readPayload(t, "push.json"), &push); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readPayload(t, "pr_merged.json"), &merged); err != nil {
		t.Fatal(err)
	}
	return push["repository"], push["actor"], merged["pullRequest"]
}

func body(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	raw, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestParseWebhookEveryDocumentedEvent: every event key of Atlassian's Data Center
// event payload page (those a repository webhook accepts, the test ping, project
// webhooks' project:modified) parses when its body has the documented shape. Pull
// request events carry no top-level repository: theirs is pullRequest.toRef's.
// repo:modified has old and new, repo:secret_detected its secretLocations. Only
// the keys orbit acts on get a kind of their own; the others are ignored with a
// reason, so that the receiver answers them 2xx.
func TestParseWebhookEveryDocumentedEvent(t *testing.T) {
	t.Parallel()
	repo, actor, pr := realParts(t)
	withRepo := func(extra map[string]any) map[string]any {
		fields := map[string]any{"eventKey": "", "actor": actor, "repository": repo}
		maps.Copy(fields, extra)
		return fields
	}
	withPR := func(extra map[string]any) map[string]any {
		fields := map[string]any{"eventKey": "", "actor": actor, "pullRequest": pr}
		maps.Copy(fields, extra)
		return fields
	}
	var repoFields map[string]any
	if err := json.Unmarshal(repo, &repoFields); err != nil {
		t.Fatal(err)
	}
	renamed := maps.Clone(repoFields)
	renamed["slug"], renamed["name"] = "my-renamed-repo", "my-renamed-repo"
	fork := maps.Clone(repoFields)
	fork["slug"], fork["project"], fork["origin"] = "my-repo", map[string]any{"key": "~JCITIZEN", "type": "PERSONAL"}, repoFields
	comment := map[string]any{"id": 41, "version": 0, "text": "a note", "author": actor}
	participant := map[string]any{"user": actor, "role": "REVIEWER", "approved": false, "status": "NEEDS_WORK"}
	commit := "823b2230a56056231c9425d63758fa87078a66b4"
	bodies := map[string]map[string]any{
		"repo:refs_changed":    nil, // the real push.json
		"pr:opened":            nil, // the real pr_open.json
		"pr:merged":            nil, // the real pr_merged.json
		"pr:modified":          nil, // the real pr_modified_meta.json
		"repo:modified":        {"eventKey": "", "actor": actor, "old": repoFields, "new": renamed},
		"repo:forked":          withRepo(map[string]any{"repository": fork}),
		"repo:comment:added":   withRepo(map[string]any{"comment": comment, "commit": commit}),
		"repo:comment:edited":  withRepo(map[string]any{"comment": comment, "commit": commit, "previousComment": "a nte"}),
		"repo:comment:deleted": withRepo(map[string]any{"comment": comment, "commit": commit}),
		"repo:secret_detected": {"eventKey": "", "actor": actor, "secretLocations": []any{map[string]any{
			"repository": repoFields, "commitId": commit, "path": "main.tf", "line": 3, "ruleName": "AWS key"}}},
		"mirror:repo_synchronized": withRepo(map[string]any{"mirrorServer": map[string]any{"id": "B88H", "name": "mirror"},
			"syncType": "INCREMENTAL", "refLimitExceeded": false, "changes": []any{map[string]any{
				"ref":   map[string]any{"id": "refs/heads/master", "displayId": "master", "type": "BRANCH"},
				"refId": "refs/heads/master", "fromHash": "5c64a07cd6c0f21b753bf261ef059c7e7633c50a", "toHash": commit, "type": "UPDATE"}}}),
		"pr:from_ref_updated":           withPR(map[string]any{"previousFromHash": "5c64a07cd6c0f21b753bf261ef059c7e7633c50a"}),
		"pr:to_ref_updated":             withPR(nil),
		"pr:reviewer:updated":           withPR(map[string]any{"addedReviewers": []any{actor}, "removedReviewers": []any{}}),
		"pr:reviewer:approved":          withPR(map[string]any{"participant": participant, "previousStatus": "UNAPPROVED"}),
		"pr:reviewer:unapproved":        withPR(map[string]any{"participant": participant, "previousStatus": "APPROVED"}),
		"pr:reviewer:needs_work":        withPR(map[string]any{"participant": participant, "previousStatus": "UNAPPROVED"}),
		"pr:reviewer:changes_requested": withPR(map[string]any{"participant": participant, "previousStatus": "UNAPPROVED"}),
		"pr:declined":                   withPR(nil),
		"pr:deleted":                    withPR(nil),
		"pr:comment:added":              withPR(map[string]any{"comment": comment, "commentParentId": 40}),
		"pr:comment:edited":             withPR(map[string]any{"comment": comment, "commentParentId": 40, "previousComment": "a nte"}),
		"pr:comment:deleted":            withPR(map[string]any{"comment": comment, "commentParentId": 40}),
		"project:modified": {"eventKey": "", "actor": actor,
			"old": map[string]any{"key": "PRJ", "name": "PRJ"}, "new": map[string]any{"key": "PRJ", "name": "Project"}},
		"diagnostics:ping": {"test": true},
		// Accepted on a repository webhook, not on the event payload page: no shape
		// to go by, so the least a body can be.
		"build:status_updated": {"eventKey": ""},
	}
	realFiles := map[string]string{"repo:refs_changed": "push.json", "pr:opened": "pr_open.json", "pr:merged": "pr_merged.json", "pr:modified": "pr_modified_meta.json"}
	acted := map[string]bitbucket.EventKind{
		"repo:refs_changed": bitbucket.EventPush, "repo:modified": bitbucket.EventRepositoryUpdated,
		"pr:opened": bitbucket.EventPullRequestOpened, "pr:from_ref_updated": bitbucket.EventPullRequestSourceMoved,
		"pr:modified": bitbucket.EventPullRequestModified, "pr:reviewer:approved": bitbucket.EventPullRequestApproved,
		"pr:reviewer:unapproved": bitbucket.EventPullRequestUnapproved, "pr:merged": bitbucket.EventPullRequestMerged,
		"pr:declined": bitbucket.EventPullRequestDeclined, "pr:deleted": bitbucket.EventPullRequestDeleted,
		"pr:comment:added": bitbucket.EventPullRequestComment, "diagnostics:ping": bitbucket.EventPing,
	}
	keys := append([]string{"diagnostics:ping", "project:modified"}, datacenter.WebhookEvents...)
	if got, want := len(slices.Compact(slices.Sorted(slices.Values(keys)))), len(bodies); got != want {
		t.Errorf("%d documented keys, %d bodies in this test", got, want)
	}
	for _, key := range keys {
		fields, ok := bodies[key]
		if !ok {
			t.Errorf("%s: no documented body in this test", key)
			continue
		}
		var raw []byte
		if fields == nil {
			raw = readPayload(t, realFiles[key])
		} else {
			if _, ok := fields["eventKey"]; ok {
				fields["eventKey"] = key
			}
			raw = body(t, fields)
		}
		ev, err := datacenter.ParseWebhook(key, raw)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		want, isActed := acted[key]
		if !isActed {
			want = bitbucket.EventIgnored
		}
		if ev.Kind != want || ev.Key != key || ev.Product != bitbucket.ProductDataCenter {
			t.Errorf("%s: kind %q, want %q", key, ev.Kind, want)
		}
		if want == bitbucket.EventIgnored && (ev.Reason == "" || strings.Contains(ev.Reason, "not one Bitbucket Data Center documents")) {
			t.Errorf("%s: reason %q, want why this documented event is ignored", key, ev.Reason)
		}
		wantRepo := "PRJ/my-repo"
		switch key {
		case "repo:modified":
			wantRepo = "PRJ/my-renamed-repo"
		case "repo:forked":
			wantRepo = "~JCITIZEN/my-repo"
		case "project:modified":
			wantRepo = "PRJ/"
		case "diagnostics:ping", "build:status_updated":
			wantRepo = "/"
		}
		if got := ev.Namespace + "/" + ev.Repository; got != wantRepo {
			t.Errorf("%s: repository %q, want %q", key, got, wantRepo)
		}
		_, hasPR := fields["pullRequest"]
		hasPR = hasPR || strings.HasPrefix(key, "pr:")
		if hasPR != (ev.PullRequest != nil) || hasPR && ev.PullRequest.SourceBranch == "" {
			t.Errorf("%s: pull request %+v", key, ev.PullRequest)
		}
		if ev.Kind.ClosesPullRequest() != (key == "pr:merged" || key == "pr:declined" || key == "pr:deleted") {
			t.Errorf("%s: closes the pull request: %v", key, ev.Kind.ClosesPullRequest())
		}
		if (ev.Rename != nil) != (key == "repo:modified") {
			t.Errorf("%s: rename %+v", key, ev.Rename)
		}
		checkParsed(t, ev)
	}
	// A key Bitbucket does not document is ignored too, with that reason.
	ev, err := datacenter.ParseWebhook("repo:teleported", []byte(`{"repository":"PRJ/my-repo"}`))
	if err != nil || ev.Kind != bitbucket.EventIgnored || !strings.Contains(ev.Reason, "not one Bitbucket Data Center documents") || ev.Repository != "" {
		t.Errorf("undocumented key: %+v, %v", ev, err)
	}
}

// TestParseWebhookRepoModified: repo:modified names the repository before (old) and
// after (new); the event is about the new one, and a rename is told only when the
// project key or slug changed.
func TestParseWebhookRepoModified(t *testing.T) {
	t.Parallel()
	ev, err := datacenter.ParseWebhook("repo:modified", []byte(`{"eventKey":"repo:modified",
		"old":{"slug":"infra","name":"infra","project":{"key":"PLAT"}},
		"new":{"slug":"infra-live","name":"infra-live","project":{"key":"PLAT"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := bitbucket.RepositoryRename{OldNamespace: "PLAT", OldRepository: "infra", NewNamespace: "PLAT", NewRepository: "infra-live"}
	if ev.Rename == nil || *ev.Rename != want || ev.Namespace != "PLAT" || ev.Repository != "infra-live" {
		t.Fatalf("rename: %+v %+v", ev, ev.Rename)
	}
	// A name change that keeps the slug (display name only) is no rename.
	ev, err = datacenter.ParseWebhook("repo:modified", []byte(`{
		"old":{"slug":"infra","name":"Infra","project":{"key":"PLAT"}},
		"new":{"slug":"infra","name":"Infrastructure","project":{"key":"PLAT"}}}`))
	if err != nil || ev.Rename != nil || ev.Repository != "infra" {
		t.Fatalf("display name change: %+v %v", ev, err)
	}
}
