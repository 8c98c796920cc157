package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// TestLoopStatusHonoursRetryAfter (issue 20 item 5): Bitbucket answers the status post
// 429 with Retry-After: 3, twice. The job is rescheduled for each Retry-After (the
// client does not sleep 3 s inside its lease, whose post budget is 2 s here), so the
// post lands at least 6 s after the first 429, with no attempt in between: each
// attempt comes at least 3 s after the one before, and the status is posted once.
func TestLoopStatusHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	// A 6 s lease gives each post 2 s: sleeping out a Retry-After of 3 inside it
	// would cut the post short.
	l := newLoop(t, "individual", servertest.WithConfig(func(c *server.Config) { c.QueueLease = 6 * time.Second }))
	stack := l.bind("throttled", l.cloud, "acme")
	head := hash(80)
	statuses := "/2.0/repositories/acme/infra/commit/" + head + "/statuses"
	three := 3
	l.sb.AddFault(sandbox.Fault{Status: http.StatusTooManyRequests, RetryAfter: &three, Count: 2, PathPrefix: statuses})
	l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "main",
		Commits: []sandbox.Commit{{Hash: head}}})
	l.waitStatuses("cloud", head, map[string]string{stackKey(stack): "INPROGRESS"})

	var attempts []sandbox.RequestRecord
	for _, r := range l.sb.Requests() {
		if strings.HasPrefix(r.Path, statuses) {
			attempts = append(attempts, r)
		}
	}
	// Cloud's update-or-create: a PUT of the key, then (404) the POST that creates it.
	if len(attempts) != 4 || attempts[0].Status != 429 || attempts[1].Status != 429 ||
		attempts[2].Method != http.MethodPut || attempts[2].Status != http.StatusNotFound ||
		attempts[3].Method != http.MethodPost || attempts[3].Status != http.StatusCreated {
		t.Fatalf("status requests: %+v", attempts)
	}
	for i := 1; i <= 2; i++ {
		if gap := attempts[i].At.Sub(attempts[i-1].At); gap < 3*time.Second {
			t.Errorf("attempt %d came %s after the 429 that asked for 3 s", i+1, gap)
		}
	}
	if landed := attempts[3].At.Sub(attempts[0].At); landed < 6*time.Second {
		t.Errorf("the status landed %s after the first 429, want at least 6 s", landed)
	}
	for _, r := range l.runs(head) {
		if r.StatusError != "" {
			t.Errorf("run %s keeps a status error: %q", r.ID, r.StatusError)
		}
	}
}
