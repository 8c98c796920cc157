package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// statusPosts counts the sandbox's commit-status POSTs for commit.
func (l *loop) statusPosts(commit string) int {
	n := 0
	for _, r := range l.sb.Requests() {
		if r.Method == http.MethodPost && strings.Contains(r.Path, "/commit") && strings.Contains(r.Path, commit) {
			n++
		}
	}
	return n
}

// TestWebhookReplayWithNewRequestID: a signed push Bitbucket delivered once, sent
// again by anyone with a new request id, is acknowledged 200 "duplicate" and
// starts nothing: one run, one status. Bitbucket's own retry (same request id) too.
func TestWebhookReplayWithNewRequestID(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	for i, p := range []struct {
		product, integration, namespace, event, requestIDHeader string
	}{
		{"cloud", l.cloud, "acme", "repo:push", "X-Request-UUID"},
		{"datacenter", l.dc, "PLAT", "repo:refs_changed", "X-Request-Id"},
	} {
		stack := l.bind(p.product+"-replayed", p.integration, p.namespace)
		head := hash(300 + i)
		d := l.fire(sandbox.Event{Product: p.product, Workspace: "acme", Project: "PLAT", Repository: "infra", Event: p.event,
			Branch: "main", Commits: []sandbox.Commit{{Hash: head, Message: "change"}}})[0]
		l.waitRuns(head, 1)
		l.waitStatuses(p.product, head, map[string]string{stackKey(stack): "INPROGRESS"})
		posts := l.statusPosts(head)

		for _, requestID := range []string{"replayed-" + p.product, d.RequestID} {
			req, err := http.NewRequest(http.MethodPost, d.URL, bytes.NewReader([]byte(d.RequestBody)))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range d.RequestHeaders {
				req.Header.Set(k, v)
			}
			req.Header.Set(p.requestIDHeader, requestID)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), `"duplicate"`) {
				t.Fatalf("%s replay with request id %q: %d %s", p.product, requestID, resp.StatusCode, body.String())
			}
		}
		// A duplicate stores nothing, so nothing can come of it later.
		if runs := l.runs(head); len(runs) != 1 {
			t.Errorf("%s: %d runs after the replay, want 1", p.product, len(runs))
		}
		if got := l.statusPosts(head); got != posts || posts != 1 {
			t.Errorf("%s: %d status posts after the replay (%d before), want 1", p.product, got, posts)
		}
	}
}
