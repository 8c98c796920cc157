package server_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// deliveryLog lists the cloud integration's log with query.
func (l *loop) deliveryLog(query url.Values) []map[string]any {
	l.t.Helper()
	got := l.c.must(http.MethodGet, "/api/v1/integrations/"+l.cloud+"/deliveries?"+query.Encode(), nil, http.StatusOK)
	var out []map[string]any
	for _, item := range got["items"].([]any) {
		out = append(out, item.(map[string]any))
	}
	return out
}

// decided waits until delivery id is dispatched and returns its entry.
func (l *loop) decided(id string) map[string]any {
	l.t.Helper()
	var entry map[string]any
	eventually(l.t, "delivery "+id+" dispatched", func() (bool, string) {
		entry = l.c.must(http.MethodGet, "/api/v1/integrations/"+l.cloud+"/deliveries/"+id, nil, http.StatusOK)
		return entry["decision"] != "pending", fmt.Sprint(entry["decision"])
	})
	return entry
}

// fireOne fires ev and returns the id of the log entry it made (the newest).
func (l *loop) fireOne(ev sandbox.Event) map[string]any {
	l.t.Helper()
	sent := l.fire(ev)
	var entry map[string]any
	eventually(l.t, "the log entry of "+ev.Event, func() (bool, string) {
		for _, e := range l.deliveryLog(url.Values{"event": {ev.Event}}) {
			if e["request_id"] == sent[len(sent)-1].RequestID {
				entry = e
				return true, ""
			}
		}
		return false, "not listed"
	})
	return l.decided(str(entry, "id"))
}

func runIDs(entry map[string]any) []string {
	var out []string
	for _, r := range entry["runs"].([]any) {
		out = append(out, str(r.(map[string]any), "id"))
	}
	return out
}

// TestDeliveryLog: each reason for no run is recorded as its decision (no_binding,
// branch_not_tracked, head_unchanged, event_ignored, paths_not_touched, runs_ended,
// duplicate, not_dispatched); a
// redelivery after the missing binding was added starts exactly one run, and a
// second one starts none (duplicate); the log filters; a read-only key reads the
// log but not bodies, nor redelivers; a body no longer retained says so.
func TestDeliveryLog(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	push := func(branch string, seed int) sandbox.Event {
		return sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push",
			Branch: branch, Commits: []sandbox.Commit{{Hash: hash(seed), Message: "change"}}}
	}

	// No stack is bound to the repository yet.
	orphan := l.fireOne(push("main", 700))
	if orphan["decision"] != "no_binding" || len(runIDs(orphan)) != 0 || orphan["signature"] != "current" ||
		orphan["namespace"] != "acme" || orphan["repository"] != "infra" || orphan["body_retained"] != true || str(orphan, "body") == "" {
		t.Fatalf("push without a binding: %v", orphan)
	}

	stack := l.bind("web", l.cloud, "acme")
	// Redeliver the push through today's bindings: exactly one run.
	re := l.c.must(http.MethodPost, "/api/v1/integrations/"+l.cloud+"/deliveries/"+str(orphan, "id")+"/redeliver", nil, http.StatusAccepted)
	if re["redelivery_of"] != orphan["id"] || re["requested_by"] == nil || re["decision"] != "pending" {
		t.Fatalf("redelivery: %v", re)
	}
	re = l.decided(str(re, "id"))
	if re["decision"] != "runs_started" || len(runIDs(re)) != 1 {
		t.Fatalf("redelivery after the binding: %v", re)
	}
	if runs := l.runs(hash(700)); len(runs) != 1 || runs[0].StackID != stack || runs[0].DeliveryID == nil || *runs[0].DeliveryID != str(re, "id") {
		t.Fatalf("runs of the redelivered push: %+v", runs)
	}
	// Again, from the redelivery: points to the original, starts nothing.
	again := l.c.must(http.MethodPost, "/api/v1/integrations/"+l.cloud+"/deliveries/"+str(re, "id")+"/redeliver", nil, http.StatusAccepted)
	if again["redelivery_of"] != orphan["id"] {
		t.Fatalf("a redelivery of a redelivery points to %v, want the original %v", again["redelivery_of"], orphan["id"])
	}
	if again = l.decided(str(again, "id")); again["decision"] != "duplicate" || len(runIDs(again)) != 0 {
		t.Fatalf("second redelivery: %v", again)
	}
	if runs := l.runs(hash(700)); len(runs) != 1 {
		t.Fatalf("after two redeliveries, %d runs", len(runs))
	}

	if e := l.fireOne(push("feature", 701)); e["decision"] != "branch_not_tracked" {
		t.Errorf("push to an untracked branch: %v", e["decision"])
	}
	source := hash(702)
	pr := &sandbox.PullRequest{ID: 9, SourceBranch: "feature", SourceCommit: source}
	opened := l.fireOne(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:created", PullRequest: pr})
	if opened["decision"] != "runs_started" || len(runIDs(opened)) != 1 {
		t.Errorf("pull request opened: %v", opened)
	}
	if e := l.fireOne(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:updated", PullRequest: pr}); e["decision"] != "head_unchanged" {
		t.Errorf("pull request updated without a new commit: %v", e["decision"])
	}
	if e := l.fireOne(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:approved", PullRequest: pr}); e["decision"] != "event_ignored" || len(runIDs(e)) != 0 {
		t.Errorf("pull request approved: %v", e["decision"])
	}
	// A stack of a monorepo's directory on another branch: a push there that
	// touches none of its paths starts nothing, and says why.
	l.bind("mono", l.cloud, "acme", "branch", "release", "project_root", "envs/prod")
	docs := push("release", 703)
	docs.Commits[0].Files = []string{"README.md"}
	if e := l.fireOne(docs); e["decision"] != "paths_not_touched" || len(runIDs(e)) != 0 {
		t.Errorf("push outside the bound project_root: %v (%v)", e["decision"], e["outcome"])
	}
	if e := l.fireOne(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:fulfilled", PullRequest: pr}); e["decision"] != "runs_ended" {
		t.Errorf("pull request merged: %v", e["decision"])
	}

	// Filters.
	if got := l.deliveryLog(url.Values{"decision": {"duplicate"}}); len(got) != 1 || got[0]["id"] != again["id"] {
		t.Errorf("decision=duplicate: %v", got)
	}
	if got := l.deliveryLog(url.Values{"event": {"repo:push"}, "page_size": {"2"}}); len(got) != 2 {
		t.Errorf("event=repo:push, page_size=2: %d entries", len(got))
	}
	if got := l.deliveryLog(url.Values{"repository": {"acme/other"}}); len(got) != 0 {
		t.Errorf("repository=acme/other: %v", got)
	}
	if got := l.deliveryLog(url.Values{"since": {"2100-01-01T00:00:00Z"}}); len(got) != 0 {
		t.Errorf("since the future: %v", got)
	}
	l.c.wantError(http.MethodGet, "/api/v1/integrations/"+l.cloud+"/deliveries?decision=maybe", nil, http.StatusBadRequest, "invalid_argument", "decision")
	l.c.wantError(http.MethodGet, "/api/v1/integrations/"+l.cloud+"/deliveries?since=yesterday", nil, http.StatusBadRequest, "invalid_argument", "since")

	// A read-only key reads the log, not bodies, and cannot redeliver.
	reader := l.c.as(str(l.c.must(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "reader",
		"roles": []servertest.Role{servertest.Read("root")}}, http.StatusCreated), "key"))
	if status, _ := reader.do(http.MethodGet, "/api/v1/integrations/"+l.cloud+"/deliveries", nil); status != http.StatusOK {
		t.Errorf("reader lists the log: %d", status)
	}
	reader.wantError(http.MethodGet, "/api/v1/integrations/"+l.cloud+"/deliveries/"+str(orphan, "id"), nil, http.StatusForbidden, "permission_denied", "")
	reader.wantError(http.MethodPost, "/api/v1/integrations/"+l.cloud+"/deliveries/"+str(orphan, "id")+"/redeliver", nil, http.StatusForbidden, "permission_denied", "")
	// Another integration's delivery is not found through this one.
	l.c.wantError(http.MethodGet, "/api/v1/integrations/"+l.dc+"/deliveries/"+str(orphan, "id"), nil, http.StatusNotFound, "not_found", "")

	// Retention dropped the body (empty or NULL): not retained, not redeliverable.
	db, err := sql.Open("sqlite", l.inst.DBPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE webhook_deliveries SET body = '' WHERE id = $1`, str(orphan, "id")); err != nil {
		t.Fatal(err)
	}
	gone := l.c.must(http.MethodGet, "/api/v1/integrations/"+l.cloud+"/deliveries/"+str(orphan, "id"), nil, http.StatusOK)
	if gone["body_retained"] != false || gone["body"] != nil {
		t.Errorf("after retention: body_retained %v, body %v", gone["body_retained"], gone["body"])
	}
	l.c.wantError(http.MethodPost, "/api/v1/integrations/"+l.cloud+"/deliveries/"+str(orphan, "id")+"/redeliver", nil, http.StatusConflict, "conflict", "body")
	for _, e := range l.deliveryLog(url.Values{"decision": {"no_binding"}}) {
		if e["id"] == orphan["id"] && e["body_retained"] != false {
			t.Errorf("the list says the dropped body is retained: %v", e)
		}
	}

	// A stored body that no longer parses (checked on receipt, so only a changed
	// database gets one) is recorded as not dispatched, and not retried.
	if _, err := db.Exec(`UPDATE webhook_deliveries SET body = '{}' WHERE id = $1`, str(opened, "id")); err != nil {
		t.Fatal(err)
	}
	unreadable := l.c.must(http.MethodPost, "/api/v1/integrations/"+l.cloud+"/deliveries/"+str(opened, "id")+"/redeliver", nil, http.StatusAccepted)
	if e := l.decided(str(unreadable, "id")); e["decision"] != "not_dispatched" || len(runIDs(e)) != 0 {
		t.Errorf("an unreadable stored body: %v (%v)", e["decision"], e["outcome"])
	}
}

// TestDeliveryLogRetention: once the retention pruner (not a test's SQL) drops a
// processed delivery's body, the log and the entry say it is not retained, the
// entry has no body, and a redelivery is refused saying why.
func TestDeliveryLogRetention(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual", servertest.WithConfig(func(c *server.Config) {
		c.DeliveryBodyRetention, c.RetentionInterval = time.Nanosecond, 20*time.Millisecond
	}))
	sent := l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push",
		Branch: "main", Commits: []sandbox.Commit{{Hash: hash(720), Message: "change"}}})
	var entry map[string]any
	eventually(t, "the delivery's body pruned", func() (bool, string) {
		for _, e := range l.deliveryLog(url.Values{"event": {"repo:push"}}) {
			if e["request_id"] == sent[0].RequestID {
				entry = e
				return e["decision"] == "no_binding" && e["body_retained"] == false, fmt.Sprint(e["decision"], e["body_retained"])
			}
		}
		return false, "not listed"
	})
	got := l.c.must(http.MethodGet, "/api/v1/integrations/"+l.cloud+"/deliveries/"+str(entry, "id"), nil, http.StatusOK)
	if got["body_retained"] != false || got["body"] != nil || got["decision"] != "no_binding" {
		t.Errorf("pruned entry: body_retained %v, body %v, decision %v", got["body_retained"], got["body"], got["decision"])
	}
	msg := l.c.wantError(http.MethodPost, "/api/v1/integrations/"+l.cloud+"/deliveries/"+str(entry, "id")+"/redeliver", nil, http.StatusConflict, "conflict", "body")
	if !strings.Contains(msg, "no longer retained") {
		t.Errorf("redeliver a pruned body: %q, want it to say the body is no longer retained", msg)
	}
}
