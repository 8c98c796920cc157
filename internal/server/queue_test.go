package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// TestLoopSlowStatusPostsWithinTheLease: a status worker claims several jobs at
// once and posts them one after the other. When Bitbucket is slow, the last ones
// of a claim would start after its lease ran out, while another worker takes
// them again: the same status posted twice. Jobs are only started while a third
// of the lease is left (the others handed back), so each is posted once.
func TestLoopSlowStatusPostsWithinTheLease(t *testing.T) {
	t.Parallel()
	const lease = 6 * time.Second
	l := newLoop(t, "individual", servertest.WithConfig(func(c *server.Config) { c.QueueLease = lease }))
	const stacks = 16
	for i := range stacks {
		l.bind(fmt.Sprint("slow-", i), l.cloud, "acme")
	}
	// Every status POST takes 800 ms: eight in a row outlast the lease, while one
	// takes well under the third of it a post may use (room for a loaded machine).
	l.sb.AddFault(sandbox.Fault{LatencyMS: 800, Ratio: 1, PathPrefix: "/2.0/repositories/acme/infra/commit/", Method: http.MethodPost})
	head := hash(70)
	l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "main",
		Commits: []sandbox.Commit{{Hash: head}}})
	want := map[string]string{}
	for _, r := range l.waitRuns(head, stacks) {
		want[stackKey(r.StackID)] = "INPROGRESS"
	}
	l.waitStatuses("cloud", head, want)
	eventually(t, "an empty queue", func() (bool, string) {
		return tableCount(t, l.inst, "jobs") == 0, "jobs left"
	})
	// A claim whose lease expired would still be posting: wait until no claim is
	// being handled, so that every post of a stale claim is in the sandbox's log.
	eventually(t, "an idle worker", func() (bool, string) {
		return server.WorkerIdle(l.inst.Server), "a claim is being handled"
	})
	// Cloud's update-or-create: a PUT of the key (404 the first time), then a
	// POST that creates it. A second post of the same status is a PUT that finds it.
	created, updated := 0, 0
	for _, r := range l.sb.Requests() {
		if !strings.Contains(r.Path, "/commit/"+head+"/statuses/build") {
			continue
		}
		switch {
		case r.Method == http.MethodPost && r.Status == http.StatusCreated:
			created++
		case r.Method == http.MethodPut && r.Status == http.StatusOK:
			updated++
		}
	}
	if created != stacks || updated != 0 {
		t.Fatalf("%d statuses created and %d posted again; want %d and 0", created, updated, stacks)
	}
}

// TestLoopQueueProgressesDuringABurst: while deliveries keep arriving, the queue
// yields to the receiver but keeps a share: runs are made before the burst ends.
func TestLoopQueueProgressesDuringABurst(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	l.bind("burst", l.cloud, "acme")
	stop := make(chan struct{})
	fired := make(chan int, 1)
	go func() {
		n := 0
		defer func() { fired <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := l.sb.Fire(context.Background(), sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra",
				Event: "repo:push", Branch: "main", Commits: []sandbox.Commit{{Hash: hash(1000 + n)}}}); err != nil {
				return
			}
			n++
		}
	}()
	if !testwait.Until(60*time.Second, func() bool { return tableCount(t, l.inst, "runs") >= 10 }) {
		close(stop)
		t.Fatalf("no 10 runs after a minute of deliveries (%d sent): the queue starves while they arrive", <-fired)
	}
	close(stop)
	if n := <-fired; n < 10 {
		t.Fatalf("only %d deliveries were sent; the burst ended before the runs were made", n)
	}
}

// TestLoopOneClaimDecidesInOrder: deliveries stored while no worker ran are
// dispatched by one claim and completed together. A pull request opened and then
// edited (same source commit) makes one proposed run, as when they come apart; two
// pushes make the later commit the branch's head; every delivery is processed.
func TestLoopOneClaimDecidesInOrder(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual", servertest.WithConfig(func(c *server.Config) { c.PauseQueue = true }))
	stack := l.bind("batched", l.cloud, "acme")
	pr := &sandbox.PullRequest{ID: 31, SourceBranch: "feature", SourceCommit: hash(80), Title: "t"}
	ev := func(event string) sandbox.Event {
		return sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: event, PullRequest: pr}
	}
	l.fire(ev("pullrequest:created"))
	edited := ev("pullrequest:updated")
	edited.PullRequest = &sandbox.PullRequest{ID: 31, SourceBranch: "feature", SourceCommit: hash(80), Title: "renamed"}
	l.fire(edited)
	for _, head := range []string{hash(81), hash(82)} {
		l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push", Branch: "main",
			Commits: []sandbox.Commit{{Hash: head}}})
	}
	first := l.inst
	first.Stop(t)
	next := servertest.Start(t, servertest.WithDatabase(first.DBPath, first.SecretKey, first.AdminKey),
		servertest.WithConfig(func(c *server.Config) { c.BitbucketCloudAPIURL = l.sb.URL }))
	l.inst, l.c = next, newClient(t, next, next.AdminKey)
	l.waitRuns(hash(82), 1)
	eventually(t, "every delivery processed", func() (bool, string) {
		return tableCount(t, next, "jobs") == 0, "jobs left"
	})
	if runs := l.runs(hash(80)[:12]); len(runs) != 1 || runs[0].Kind != "proposed" || runs[0].StackID != stack {
		t.Fatalf("runs of the pull request's commit: %+v, want one proposed run", runs)
	}
	var head struct {
		Items []apiRun `json:"items"`
	}
	_ = json.Unmarshal(mustBody(l.c, "/api/v1/stacks/"+stack+"/runs"), &head)
	if len(head.Items) != 3 || head.Items[0].Commit != hash(82) || head.Items[1].Commit != hash(81) {
		t.Fatalf("stack runs newest first: %+v, want the pushes' %s then %s, then the pull request's", head.Items, hash(82), hash(81))
	}
}
