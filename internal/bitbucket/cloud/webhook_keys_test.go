package cloud_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
)

// realParts are objects taken from Bitbucket's own deliveries, to build the bodies
// of the events no real payload is kept for: the repository and actor of a push,
// the pull request of pullrequest:created.
func realParts(t *testing.T) (repository, actor, pullRequest json.RawMessage) {
	t.Helper()
	var push, pr map[string]json.RawMessage
	if err := json.Unmarshal(readPayload(t, "push.json"), &push); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readPayload(t, "pr_created.json"), &pr); err != nil {
		t.Fatal(err)
	}
	return push["repository"], push["actor"], pr["pullrequest"]
}

func body(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	raw, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestParseWebhookEveryHookEvent: every event key a Cloud hook can subscribe to (the
// description's enum, HookEvents) parses when its body has the shape Atlassian's
// event payloads page gives it: the top-level repository (project:updated has
// none), the pull request for pull request events, the event's own object beside.
// Only the keys orbit acts on get a kind of their own; the others are ignored with
// a reason, so that the receiver answers them 2xx.
func TestParseWebhookEveryHookEvent(t *testing.T) {
	t.Parallel()
	repo, actor, pr := realParts(t)
	base := func(extra map[string]any) map[string]any {
		fields := map[string]any{"actor": actor, "repository": repo}
		maps.Copy(fields, extra)
		return fields
	}
	withPR := func(extra map[string]any) map[string]any {
		fields := base(map[string]any{"pullrequest": pr})
		maps.Copy(fields, extra)
		return fields
	}
	comment := map[string]any{"id": 17, "content": map[string]any{"raw": "looks fine"}}
	commit := map[string]any{"hash": "141977fedf5cf35aa290ac87d4b5177ac4cd9de1"}
	issue := map[string]any{"id": 3, "title": "flaky plan", "state": "new"}
	bodies := map[string]map[string]any{
		"repo:push": nil, // the real push.json below
		"repo:fork": base(map[string]any{"fork": map[string]any{"full_name": "someone/foo", "name": "foo"}}),
		"repo:updated": base(map[string]any{"changes": map[string]any{
			"description": map[string]any{"old": "", "new": "infra"}}}),
		"repo:transfer":               base(nil),
		"repo:created":                base(nil),
		"repo:imported":               base(nil),
		"repo:deleted":                base(nil),
		"repo:commit_comment_created": base(map[string]any{"comment": comment, "commit": commit}),
		"repo:commit_status_created": base(map[string]any{"commit_status": map[string]any{
			"key": "orbit/tracked", "state": "INPROGRESS", "commit": commit}}),
		"repo:commit_status_updated": base(map[string]any{"commit_status": map[string]any{
			"key": "orbit/tracked", "state": "SUCCESSFUL", "commit": commit}}),
		"pullrequest:created":                 withPR(nil),
		"pullrequest:updated":                 withPR(nil),
		"pullrequest:approved":                withPR(map[string]any{"approval": map[string]any{"user": actor}}),
		"pullrequest:unapproved":              withPR(map[string]any{"approval": map[string]any{"user": actor}}),
		"pullrequest:changes_request_created": withPR(map[string]any{"changes_request": map[string]any{"user": actor}}),
		"pullrequest:changes_request_removed": withPR(map[string]any{"changes_request": map[string]any{"user": actor}}),
		"pullrequest:fulfilled":               withPR(nil),
		"pullrequest:rejected":                withPR(nil),
		"pullrequest:comment_created":         withPR(map[string]any{"comment": comment}),
		"pullrequest:comment_updated":         withPR(map[string]any{"comment": comment}),
		"pullrequest:comment_deleted":         withPR(map[string]any{"comment": comment}),
		"pullrequest:comment_resolved":        withPR(map[string]any{"comment": comment}),
		"pullrequest:comment_reopened":        withPR(map[string]any{"comment": comment}),
		"issue:created":                       base(map[string]any{"issue": issue}),
		"issue:updated": base(map[string]any{"issue": issue, "comment": comment,
			"changes": map[string]any{"status": map[string]any{"old": "new", "new": "open"}}}),
		"issue:comment_created": base(map[string]any{"issue": issue, "comment": comment}),
		"project:updated": {"actor": actor, "project": map[string]any{"key": "PLAT", "name": "Platform"},
			"changes": map[string]any{"name": map[string]any{"old": "Plat", "new": "Platform"}}},
		// In the hook enum, not on the event payloads page: no shape to go by, so the
		// least a body can be.
		"pullrequest:push":      {"actor": actor},
		"pipeline:span_created": {"actor": actor},
	}
	acted := map[string]bitbucket.EventKind{
		"repo:push": bitbucket.EventPush, "repo:updated": bitbucket.EventRepositoryUpdated,
		"pullrequest:created": bitbucket.EventPullRequestOpened, "pullrequest:updated": bitbucket.EventPullRequestUpdated,
		"pullrequest:approved": bitbucket.EventPullRequestApproved, "pullrequest:unapproved": bitbucket.EventPullRequestUnapproved,
		"pullrequest:fulfilled": bitbucket.EventPullRequestMerged, "pullrequest:rejected": bitbucket.EventPullRequestDeclined,
		"pullrequest:comment_created": bitbucket.EventPullRequestComment,
	}
	for _, key := range cloud.HookEvents {
		fields, ok := bodies[key]
		if !ok {
			t.Errorf("%s: no documented body in this test", key)
			continue
		}
		raw := readPayload(t, "push.json")
		if fields != nil {
			raw = body(t, fields)
		}
		ev, err := cloud.ParseWebhook(key, raw)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		want, isActed := acted[key]
		if !isActed {
			want = bitbucket.EventIgnored
		}
		if ev.Kind != want || ev.Key != key || ev.Product != bitbucket.ProductCloud {
			t.Errorf("%s: kind %q, want %q", key, ev.Kind, want)
		}
		if want == bitbucket.EventIgnored && (ev.Reason == "" || strings.Contains(ev.Reason, "not one Bitbucket Cloud documents")) {
			t.Errorf("%s: reason %q, want why this documented event is ignored", key, ev.Reason)
		}
		wantRepo := "brydzewski/foo"
		if _, hasRepo := fields["repository"]; fields != nil && !hasRepo {
			wantRepo = "/"
		}
		if got := ev.Namespace + "/" + ev.Repository; got != wantRepo {
			t.Errorf("%s: repository %q, want %q", key, got, wantRepo)
		}
		if _, hasPR := fields["pullrequest"]; hasPR != (ev.PullRequest != nil) {
			t.Errorf("%s: pull request %+v", key, ev.PullRequest)
		} else if hasPR && (ev.PullRequest.ID != 1 || ev.PullRequest.SourceCommit != "507a576e59b3") {
			t.Errorf("%s: pull request %+v", key, ev.PullRequest)
		}
		if ev.Kind.ClosesPullRequest() != (key == "pullrequest:fulfilled" || key == "pullrequest:rejected") {
			t.Errorf("%s: closes the pull request: %v", key, ev.Kind.ClosesPullRequest())
		}
		checkParsed(t, ev)
	}
	// A key Bitbucket does not document is ignored too, with that reason.
	ev, err := cloud.ParseWebhook("repo:teleported", []byte(`{"repository":"acme/infra"}`))
	if err != nil || ev.Kind != bitbucket.EventIgnored || !strings.Contains(ev.Reason, "not one Bitbucket Cloud documents") || ev.Repository != "" {
		t.Errorf("undocumented key: %+v, %v", ev, err)
	}
}

// TestParseWebhookRepoUpdatedRename: repo:updated names the repository before and
// after a rename in changes.full_name; other changes are no rename.
func TestParseWebhookRepoUpdatedRename(t *testing.T) {
	t.Parallel()
	_, actor, _ := realParts(t)
	renamed := body(t, map[string]any{"actor": actor, "repository": map[string]any{"full_name": "acme/infra-live", "name": "infra-live"},
		"changes": map[string]any{
			"name":      map[string]any{"old": "infra", "new": "infra-live"},
			"full_name": map[string]any{"old": "acme/infra", "new": "acme/infra-live"}}})
	ev, err := cloud.ParseWebhook("repo:updated", renamed)
	if err != nil {
		t.Fatal(err)
	}
	want := bitbucket.RepositoryRename{OldNamespace: "acme", OldRepository: "infra", NewNamespace: "acme", NewRepository: "infra-live"}
	if ev.Rename == nil || *ev.Rename != want || ev.Namespace != "acme" || ev.Repository != "infra-live" {
		t.Fatalf("rename: %+v %+v", ev, ev.Rename)
	}
	described := body(t, map[string]any{"repository": map[string]any{"full_name": "acme/infra"},
		"changes": map[string]any{"description": map[string]any{"old": "", "new": "live"}}})
	if ev, err := cloud.ParseWebhook("repo:updated", described); err != nil || ev.Rename != nil || ev.Repository != "infra" {
		t.Fatalf("description change: %+v %v", ev, err)
	}
}
