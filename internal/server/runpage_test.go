package server_test

import (
	"database/sql"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// getPage fetches a page without an API key.
func getPage(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url) //nolint:noctx // a test on loopback
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(raw)
}

// TestRunPageLinks: the capability link opens the page without a key, with the
// strict headers and no secret; a reissued link replaces the old one, a revoked
// one is a plain 404 like a malformed one, and statuses posted after the
// revocation link to the stable URL, which needs an API key.
func TestRunPageLinks(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	stack := l.bind("pages", l.cloud, "acme")
	head := hash(901)
	l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push",
		Branch: "main", Commits: []sandbox.Commit{{Hash: head, Message: "change"}}})
	run := l.waitRuns(head, 1)[0]
	got := l.c.must(http.MethodGet, "/api/v1/runs/"+run.ID, nil, http.StatusOK)
	public, stable := str(got, "public_page_url"), str(got, "page_url")
	if !strings.HasPrefix(public, l.inst.PublicURL+"/run-pages/") || stable != l.inst.PublicURL+"/api/v1/runs/"+run.ID+"/page" {
		t.Fatalf("page URLs %q, %q", public, stable)
	}

	status, header, body := getPage(t, public)
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/html") {
		t.Fatalf("public page: %d %s", status, header.Get("Content-Type"))
	}
	for h, want := range map[string]string{"X-Robots-Tag": "noindex, nofollow, noarchive", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if header.Get(h) != want {
			t.Errorf("%s: %q, want %q", h, header.Get(h), want)
		}
	}
	if csp := header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; style-src 'sha256-") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy: %q", csp)
	}
	for _, want := range []string{"pages", head, "push to main", "https://bitbucket.org/acme/infra/commits/" + head} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, secret := range []string{"sandbox-cloud-admin-token", l.inst.AdminKey, strings.TrimPrefix(public, l.inst.PublicURL+"/run-pages/")} {
		if strings.Contains(body, secret) {
			t.Errorf("the page shows a secret (%.8s...)", secret)
		}
	}
	if strings.Contains(body, "<script") {
		t.Error("the page has a script")
	}

	// The stable URL needs a key, and shows the same page with one.
	if status, _, _ := getPage(t, stable); status != http.StatusUnauthorized {
		t.Errorf("stable URL without a key: %d, want 401", status)
	}
	if status, raw := l.c.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/page", nil); status != http.StatusOK || !strings.Contains(string(raw), head) {
		t.Errorf("stable URL with a key: %d", status)
	}
	reader := l.c.must(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "reader", "roles": []servertest.Role{servertest.Read("root")}}, http.StatusCreated)
	l.c.as(str(reader, "key")).wantError(http.MethodPost, "/api/v1/runs/"+run.ID+"/page-link", nil, http.StatusForbidden, "permission_denied", "")

	const unknown = "404 page not found\n"
	reissued := str(l.c.must(http.MethodPost, "/api/v1/runs/"+run.ID+"/page-link", nil, http.StatusOK), "public_page_url")
	if reissued == public {
		t.Fatal("the reissued link is the old one")
	}
	for _, bad := range []string{public, public[:len(public)-1], l.inst.URL + "/run-pages/" + strings.Repeat("A", 43)} {
		status, header, body := getPage(t, bad)
		if status != http.StatusNotFound || body != unknown || header.Get("X-Robots-Tag") == "" {
			t.Errorf("%s: %d %q, want the plain 404 %q", bad, status, body, unknown)
		}
	}
	if status, _, _ := getPage(t, reissued); status != http.StatusOK {
		t.Errorf("reissued link: %d", status)
	}

	l.c.must(http.MethodDelete, "/api/v1/runs/"+run.ID+"/page-link", nil, http.StatusNoContent)
	if status, _, _ := getPage(t, reissued); status != http.StatusNotFound {
		t.Errorf("revoked link: %d, want 404", status)
	}
	if got := l.c.must(http.MethodGet, "/api/v1/runs/"+run.ID, nil, http.StatusOK); got["public_page_url"] != nil {
		t.Errorf("revoked run still has a public link: %v", got["public_page_url"])
	}
	l.finish(run.ID, "succeeded")
	eventually(t, "the final status linking to the stable URL", func() (bool, string) {
		for _, st := range l.sb.Statuses() {
			if st.Commit == head && st.Key == stackKey(stack) {
				return st.State == "SUCCESSFUL" && st.URL == stable, st.State + " " + st.URL
			}
		}
		return false, "no status"
	})
}

// TestRunTriggerAndStates: who triggered a run (the pusher, the pull request's
// author, the API key of a manual trigger) and the pull request's title are kept
// on the run when its delivery is processed — they outlive the delivery's body —
// and shown, escaped, on its page and in the run API. A runner's start makes the
// run running with its time (idempotent, write role), and the history lists each
// state with its time, in order.
func TestRunTriggerAndStates(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	l.bind("cloud-pr", l.cloud, "acme")
	dcStack := l.bind("dc-push", l.dc, "PLAT")

	title := `<script>alert("x")</script> Add the “VPC” & subnets`
	source := hash(910)
	l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "pullrequest:created",
		PullRequest: &sandbox.PullRequest{ID: 31, Title: title, SourceBranch: "feature", SourceCommit: source}})
	pr := l.waitRuns(source[:12], 1)[0]
	// The sandbox's Cloud user is "Dev Eloper", nickname "dev" (no username: current payloads).
	if pr.PullRequestTitle != title || pr.TriggeredBy != "Dev Eloper (dev)" || pr.DeliveryID == nil {
		t.Fatalf("pull request run: title %q, triggered by %q", pr.PullRequestTitle, pr.TriggeredBy)
	}
	dcHead := hash(911)
	l.fire(sandbox.Event{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed",
		Branch: "main", Commits: []sandbox.Commit{{Hash: dcHead, Message: "change"}}})
	if push := l.waitRuns(dcHead, 1)[0]; push.TriggeredBy != "Administrator (admin)" || push.PullRequestTitle != "" {
		t.Errorf("Data Center push run: triggered by %q, title %q", push.TriggeredBy, push.PullRequestTitle)
	}
	bot := l.c.as(str(l.c.must(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "release-bot",
		"roles": []servertest.Role{servertest.Write("root")}}, http.StatusCreated), "key"))
	manual := bot.must(http.MethodPost, "/api/v1/stacks/"+dcStack+"/trigger", nil, http.StatusAccepted)
	if manual["triggered_by"] != "API key release-bot" {
		t.Errorf("manual run: triggered_by %v", manual["triggered_by"])
	}

	// Retention drops the delivery's body: the run keeps what it took from it.
	db, err := sql.Open("sqlite", l.inst.DBPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE webhook_deliveries SET body = '' WHERE id = $1`, *pr.DeliveryID); err != nil {
		t.Fatal(err)
	}
	got := l.c.must(http.MethodGet, "/api/v1/runs/"+pr.ID, nil, http.StatusOK)
	if got["pull_request_title"] != title || got["triggered_by"] != "Dev Eloper (dev)" || got["started_at"] != nil || got["finished_at"] != nil {
		t.Fatalf("run after the body was pruned: %v", got)
	}
	status, _, page := getPage(t, str(got, "public_page_url"))
	if status != http.StatusOK {
		t.Fatalf("page: %d", status)
	}
	for _, want := range []string{`&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Add the “VPC” &amp; subnets`, `id="triggered-by">Dev Eloper (dev)<`, "pull request #31"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the title's markup reached the page unescaped")
	}

	// A reader cannot start a run; a writer can, once; a second start changes nothing.
	reader := l.c.as(str(l.c.must(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "reader",
		"roles": []servertest.Role{servertest.Read("root")}}, http.StatusCreated), "key"))
	reader.wantError(http.MethodPost, "/api/v1/runs/"+pr.ID+"/start", nil, http.StatusForbidden, "permission_denied", "")
	started := bot.must(http.MethodPost, "/api/v1/runs/"+pr.ID+"/start", nil, http.StatusOK)
	if started["state"] != "running" || started["started_at"] == nil || started["finished_at"] != nil {
		t.Fatalf("started: %v", started)
	}
	if again := bot.must(http.MethodPost, "/api/v1/runs/"+pr.ID+"/start", nil, http.StatusOK); again["started_at"] != started["started_at"] || again["state"] != "running" {
		t.Errorf("started again: %v, want the first start unchanged", again)
	}
	_, _, page = getPage(t, str(got, "public_page_url"))
	if !strings.Contains(page, `class="state s-running">running<`) || !strings.Contains(page, "<strong>running</strong>") {
		t.Errorf("the page does not show the run running")
	}
	finished := bot.must(http.MethodPost, "/api/v1/runs/"+pr.ID+"/result", map[string]any{"result": "failed", "message": "plan failed"}, http.StatusOK)
	if finished["started_at"] != started["started_at"] || finished["finished_at"] == nil {
		t.Errorf("finished: %v", finished)
	}
	bot.wantError(http.MethodPost, "/api/v1/runs/"+pr.ID+"/start", nil, http.StatusConflict, "conflict", "state")
	_, _, page = getPage(t, str(got, "public_page_url"))
	steps := []string{"<strong>queued</strong>", "<strong>running</strong>", "<strong>failed</strong>"}
	at := 0
	for _, step := range steps {
		i := strings.Index(page[at:], step)
		if i < 0 {
			t.Fatalf("history lacks %s after the steps before it", step)
		}
		at += i
		// Each step carries its time.
		if !strings.Contains(page[at:], "<time datetime=") {
			t.Errorf("step %s has no time", step)
		}
	}
}
