package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// queueTests are the cases for deliveries, the job queue and runs.
var queueTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"DeliveriesDedupe", testDeliveriesDedupe},
	{"JobsClaimAndLease", testJobsClaimAndLease},
	{"CompleteDeliveryOnce", testCompleteDeliveryOnce},
	{"CompleteDeliveriesAllOrNothing", testCompleteDeliveriesAllOrNothing},
	{"CompleteDeliveriesKeepTheBatchOrder", testCompleteDeliveriesOrder},
	{"ReleasedJobsKeepTheirAttempts", testReleaseJobs},
	{"PostponedJobsKeepTheirAttempts", testPostponeJob},
	{"RunsFinishAndList", testRunsFinishAndList},
	{"ConcurrentClaimsTakeEachJobOnce", testConcurrentClaims},
	{"ConcurrentDuplicateDeliveries", testConcurrentDuplicateDeliveries},
	{"DeliveriesReplayedBody", testDeliveriesReplayedBody},
	{"DeliveryDecidedOnReceipt", testDeliveryDecidedOnReceipt},
	{"ConcurrentReplays", testConcurrentReplays},
	{"RenamesFollowBindings", testRenamesFollowBindings},
}

// delivery is one of a push whose body differs with its request id (a body is
// stored once per integration).
func delivery(integrationID, requestID string) store.Delivery {
	return store.Delivery{IntegrationID: integrationID, RequestID: requestID, EventKey: "repo:push",
		Secret: store.SecretCurrent, Body: pushBody(requestID)}
}

func pushBody(tag string) []byte { return []byte(`{"push":{"tag":` + fmt.Sprintf("%q", tag) + `}}`) }

func testDeliveriesDedupe(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("hooks", store.RootSpaceID)))(t)
	receipts := must(s.RecordDeliveries(ctx(t), []store.Delivery{
		delivery(in.ID, "a"), delivery(in.ID, "b"), delivery(in.ID, "a"), delivery("no-such-integration", "c"),
	}))(t)
	if receipts[0].ID == "" || receipts[1].ID == "" || receipts[0].Duplicate || receipts[1].Duplicate {
		t.Fatalf("new deliveries: %+v", receipts[:2])
	}
	if !receipts[2].Duplicate || receipts[2].ID != "" {
		t.Fatalf("repeat in the same batch: %+v", receipts[2])
	}
	if !errors.Is(receipts[3].Err, store.ErrNotFound) {
		t.Fatalf("delivery of a missing integration: %+v", receipts[3])
	}
	again := must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, "b")}))(t)
	if !again[0].Duplicate {
		t.Fatalf("repeat in a later batch: %+v", again[0])
	}
	got := must(s.GetDelivery(ctx(t), receipts[0].ID))(t)
	if got.RequestID != "a" || got.IntegrationID != in.ID || string(got.Body) != string(pushBody("a")) || got.Attempt != 1 ||
		got.Secret != store.SecretCurrent || !got.ProcessedAt.IsZero() || got.ReceivedAt.IsZero() {
		t.Fatalf("stored delivery: %+v", got)
	}
	jobs := must(s.ClaimJobs(ctx(t), store.JobDelivery, 10, time.Hour))(t)
	if len(jobs) != 2 {
		t.Fatalf("claimed %d delivery jobs, want 2 (one per new delivery)", len(jobs))
	}
	// Deleting the integration deletes its deliveries.
	mustNil(t, s.DeleteIntegration(ctx(t), in.ID))
	_, err := s.GetDelivery(ctx(t), receipts[0].ID)
	wantNotFound(t, err, "delivery of a deleted integration")
}

func testJobsClaimAndLease(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("leases", store.RootSpaceID)))(t)
	must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, "1"), delivery(in.ID, "2"), delivery(in.ID, "3")}))(t)
	first := must(s.ClaimJobs(ctx(t), store.JobDelivery, 2, time.Hour))(t)
	second := must(s.ClaimJobs(ctx(t), store.JobDelivery, 2, time.Hour))(t)
	if len(first) != 2 || len(second) != 1 || first[0].Attempts != 1 {
		t.Fatalf("claims: %+v then %+v", first, second)
	}
	if none := must(s.ClaimJobs(ctx(t), store.JobDelivery, 10, time.Hour))(t); len(none) != 0 {
		t.Fatalf("leased jobs claimed again: %+v", none)
	}
	if other := must(s.ClaimJobs(ctx(t), store.JobStatus, 10, time.Hour))(t); len(other) != 0 {
		t.Fatalf("claimed jobs of another kind: %+v", other)
	}
	// Released for now: claimable again, the attempt counted and the error kept.
	mustNil(t, s.RetryJob(ctx(t), first[0].ID, time.Now().Add(-time.Second), "bitbucket said 503"))
	// Released for later: not claimable yet.
	mustNil(t, s.RetryJob(ctx(t), first[1].ID, time.Now().Add(time.Hour), "later"))
	again := must(s.ClaimJobs(ctx(t), store.JobDelivery, 10, time.Hour))(t)
	if len(again) != 1 || again[0].ID != first[0].ID || again[0].Attempts != 2 || again[0].LastError != "bitbucket said 503" || again[0].TakenOver {
		t.Fatalf("after retry: %+v (a retried job is no takeover)", again)
	}
	mustNil(t, s.DeleteJobs(ctx(t), again[0].ID))
	mustNil(t, s.DeleteJobs(ctx(t), again[0].ID)) // already gone: no error
	mustNil(t, s.DeleteJobs(ctx(t)))              // nothing to delete
	// A lease that ran out (its worker died) makes the job claimable again.
	must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, "4")}))(t)
	short := must(s.ClaimJobs(ctx(t), store.JobDelivery, 10, time.Millisecond))(t)
	if len(short) != 1 {
		t.Fatalf("claimed %d", len(short))
	}
	time.Sleep(5 * time.Millisecond)
	expired := must(s.ClaimJobs(ctx(t), store.JobDelivery, 10, time.Hour))(t)
	if len(expired) != 1 || expired[0].ID != short[0].ID || expired[0].Attempts != 2 || !expired[0].TakenOver || short[0].TakenOver {
		t.Fatalf("after the lease ran out: %+v (first claim %+v); want the second claim a takeover", expired, short)
	}
}

func testCompleteDeliveryOnce(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("once", store.RootSpaceID)))(t)
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "net", SpaceID: store.RootSpaceID}))(t)
	r := must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, "x")}))(t)
	job := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1, time.Hour))(t)[0]
	result := store.DeliveryResult{DeliveryID: r[0].ID, Outcome: "1 run", Runs: []store.Run{{
		StackID: st.ID, IntegrationID: in.ID, Namespace: "acme", Repository: "infra", Kind: store.RunTracked,
		Commit: "abc1234", Branch: "main",
	}}}
	completion := []store.DeliveryCompletion{{JobID: job.ID, Result: result}}
	inserted := must(s.CompleteDeliveries(ctx(t), completion))(t)[0]
	if len(inserted) != 1 || inserted[0].ID == "" || inserted[0].State != store.RunQueued || inserted[0].DeliveryID != r[0].ID {
		t.Fatalf("inserted %+v", inserted)
	}
	// A second worker whose lease ran out completes the same delivery: nothing new.
	if again := must(s.CompleteDeliveries(ctx(t), completion))(t)[0]; len(again) != 0 {
		t.Fatalf("second completion inserted %+v", again)
	}
	d := must(s.GetDelivery(ctx(t), r[0].ID))(t)
	if d.ProcessedAt.IsZero() || d.Outcome != "1 run" {
		t.Fatalf("delivery after completion: %+v", d)
	}
	if left := must(s.ClaimJobs(ctx(t), store.JobDelivery, 10, time.Hour))(t); len(left) != 0 {
		t.Fatalf("delivery job left: %+v", left)
	}
	statusJobs := must(s.ClaimJobs(ctx(t), store.JobStatus, 10, time.Hour))(t)
	if len(statusJobs) != 1 || statusJobs[0].SubjectID != inserted[0].ID {
		t.Fatalf("status jobs: %+v", statusJobs)
	}
	runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{StackID: st.ID}))(t)
	if len(runs) != 1 {
		t.Fatalf("runs: %+v", runs)
	}
}

// A batch of completions commits together: one that cannot be stored (a run of a
// stack deleted meanwhile) leaves every delivery of the batch unprocessed, its job
// in place, and no run; the batch without it then stores both runs.
func testCompleteDeliveriesAllOrNothing(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("batch", store.RootSpaceID)))(t)
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "batch-net", SpaceID: store.RootSpaceID}))(t)
	r := must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, "b1"), delivery(in.ID, "b2"), delivery(in.ID, "b3")}))(t)
	jobs := must(s.ClaimJobs(ctx(t), store.JobDelivery, 3, time.Hour))(t)
	if len(jobs) != 3 {
		t.Fatalf("claimed %d jobs, want 3", len(jobs))
	}
	byDelivery := map[string]string{}
	for _, j := range jobs {
		byDelivery[j.SubjectID] = j.ID
	}
	completion := func(i int, stackID string) store.DeliveryCompletion {
		return store.DeliveryCompletion{JobID: byDelivery[r[i].ID], Result: store.DeliveryResult{
			DeliveryID: r[i].ID, Outcome: "1 run", Runs: []store.Run{{StackID: stackID, IntegrationID: in.ID,
				Namespace: "acme", Repository: "infra", Kind: store.RunTracked, Commit: fmt.Sprint("c", i), Branch: "main"}}}}
	}
	good1, bad, good2 := completion(0, st.ID), completion(1, "no-such-stack"), completion(2, st.ID)
	if _, err := s.CompleteDeliveries(ctx(t), []store.DeliveryCompletion{good1, bad, good2}); err == nil {
		t.Fatal("a batch with a run of a missing stack was stored")
	}
	for _, d := range r {
		if got := must(s.GetDelivery(ctx(t), d.ID))(t); !got.ProcessedAt.IsZero() {
			t.Fatalf("delivery %s processed by a failed batch", d.ID)
		}
	}
	if runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{StackID: st.ID}))(t); len(runs) != 0 {
		t.Fatalf("a failed batch left runs: %+v", runs)
	}
	inserted := must(s.CompleteDeliveries(ctx(t), []store.DeliveryCompletion{good1, good2}))(t)
	if len(inserted) != 2 || len(inserted[0]) != 1 || len(inserted[1]) != 1 ||
		inserted[0][0].Commit != "c0" || inserted[1][0].Commit != "c2" {
		t.Fatalf("inserted per completion: %+v", inserted)
	}
	mustNil(t, s.RetryJob(ctx(t), bad.JobID, time.Now().Add(-time.Second), "stack gone"))
	left := must(s.ClaimJobs(ctx(t), store.JobDelivery, 10, time.Hour))(t)
	if len(left) != 1 || left[0].ID != bad.JobID {
		t.Fatalf("jobs left after the batch: %+v, want only %s", left, bad.JobID)
	}
}

// Two proposed runs of one pull request completed in one batch: the one completed
// last is the pull request's latest commit, whatever the run ids (random) say.
func testCompleteDeliveriesOrder(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("order", store.RootSpaceID)))(t)
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "order-net", SpaceID: store.RootSpaceID}))(t)
	for pr := int64(1); pr <= 16; pr++ {
		r := must(s.RecordDeliveries(ctx(t), []store.Delivery{
			delivery(in.ID, fmt.Sprint("o-", pr, "-a")), delivery(in.ID, fmt.Sprint("o-", pr, "-b"))}))(t)
		var cs []store.DeliveryCompletion
		for i, commit := range []string{"older", "newer"} {
			cs = append(cs, store.DeliveryCompletion{JobID: "", Result: store.DeliveryResult{DeliveryID: r[i].ID, Outcome: "1 run",
				Runs: []store.Run{{StackID: st.ID, IntegrationID: in.ID, Namespace: "acme", Repository: "infra",
					Kind: store.RunProposed, Commit: commit, Branch: "feature", PullRequest: pr}}}})
		}
		must(s.CompleteDeliveries(ctx(t), cs))(t)
		if got := must(s.LatestPullRequestCommit(ctx(t), st.ID, "acme", "infra", pr))(t); got != "newer" {
			t.Fatalf("pull request %d: latest commit %q, want the one completed last (newer)", pr, got)
		}
	}
	// Claims come in the order the jobs became due.
	var due []string
	for i := range 8 {
		r := must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, fmt.Sprint("due-", i))}))(t)
		due = append(due, r[0].ID)
	}
	var claimed []string
	for _, j := range must(s.ClaimJobs(ctx(t), store.JobDelivery, 100, time.Hour))(t) {
		claimed = append(claimed, j.SubjectID)
	}
	if i := len(claimed) - len(due); i < 0 || !slices.Equal(claimed[i:], due) {
		t.Fatalf("claimed deliveries %v, want the last ones in the order they were stored: %v", claimed, due)
	}
}

// A job handed back unstarted is claimable at once, with its attempt uncounted and
// the error of its last real attempt kept.
func testReleaseJobs(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("release", store.RootSpaceID)))(t)
	must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, "rel")}))(t)
	first := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1, time.Hour))(t)[0]
	mustNil(t, s.RetryJob(ctx(t), first.ID, time.Now().Add(-time.Second), "bitbucket said 503"))
	second := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1, time.Hour))(t)[0]
	if second.Attempts != 2 {
		t.Fatalf("attempts after a retry: %d, want 2", second.Attempts)
	}
	mustNil(t, s.ReleaseJobs(ctx(t), second.ID, "no-such-job"))
	mustNil(t, s.ReleaseJobs(ctx(t)))
	third := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1, time.Hour))(t)
	if len(third) != 1 || third[0].ID != first.ID || third[0].Attempts != 2 || third[0].LastError != "bitbucket said 503" || third[0].TakenOver {
		t.Fatalf("after a release: %+v, want job %s claimable with 2 attempts and its last error", third, first.ID)
	}
}

// A job postponed (its work could not start) is claimable again at the time given,
// not before, with its attempt uncounted and the error of its last real attempt
// kept, however often it is postponed.
func testPostponeJob(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("postpone", store.RootSpaceID)))(t)
	must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, "pp")}))(t)
	first := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1, time.Hour))(t)[0]
	mustNil(t, s.RetryJob(ctx(t), first.ID, time.Now().Add(-time.Second), "bitbucket said 503"))
	for i := range 20 {
		got := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1, time.Hour))(t)
		if len(got) != 1 || got[0].ID != first.ID || got[0].Attempts != 2 || got[0].LastError != "bitbucket said 503" {
			t.Fatalf("claim %d after postponing: %+v, want job %s with 2 attempts and its last error", i, got, first.ID)
		}
		mustNil(t, s.PostponeJob(ctx(t), first.ID, time.Now().Add(-time.Second)))
	}
	mustNil(t, s.PostponeJob(ctx(t), first.ID, time.Now().Add(time.Hour)))
	if got := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1, time.Hour))(t); len(got) != 0 {
		t.Fatalf("a job postponed for an hour was claimed at once: %+v", got)
	}
	mustNil(t, s.PostponeJob(ctx(t), "no-such-job", time.Now()))
}

func must2[A, B any](a A, b B, err error) func(t *testing.T) (A, B) {
	return func(t *testing.T) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return a, b
	}
}

func testRunsFinishAndList(t *testing.T, s store.Store) {
	sp := newSpace(t, s, "runs", store.RootSpaceID)
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "app", SpaceID: sp.ID}))(t)
	other := must(s.CreateStack(ctx(t), store.Stack{Name: "db", SpaceID: store.RootSpaceID}))(t)
	var made []store.Run
	for i, stack := range []string{st.ID, st.ID, other.ID, st.ID} {
		run := store.Run{StackID: stack, IntegrationID: "i", Namespace: "PLAT", Repository: "infra", Kind: store.RunProposed,
			Commit: []string{"c1", "c2", "c1", "c1"}[i], Branch: "feature", PullRequest: 7,
			TriggerReason: []string{"changed paths in envs/app: envs/app/main.tf", "", "", ""}[i],
			TriggeredBy:   []string{"Jane Citizen (jcitizen)", "", "", ""}[i], PullRequestTitle: []string{"Add <b>the</b> VPC", "", "", ""}[i]}
		made = append(made, must(s.CreateRun(ctx(t), run))(t))
	}
	_, err := s.CreateRun(ctx(t), store.Run{StackID: "no-such-stack", Kind: store.RunTracked, Commit: "c", Branch: "main"})
	wantNotFound(t, err, "run of a missing stack")

	got := must(s.GetRun(ctx(t), made[0].ID))(t)
	equal(t, got, made[0], "get run")
	if got.PullRequest != 7 || got.State != store.RunQueued || got.Result != "" || got.TriggerReason != "changed paths in envs/app: envs/app/main.tf" ||
		got.TriggeredBy != "Jane Citizen (jcitizen)" || got.PullRequestTitle != "Add <b>the</b> VPC" || !got.StartedAt.IsZero() || !got.FinishedAt.IsZero() {
		t.Fatalf("run: %+v", got)
	}
	// A runner reports it started: running, with the time; again changes nothing.
	running, started := must2(s.StartRun(ctx(t), made[0].ID))(t)
	if !started || running.State != store.RunRunning || running.StartedAt.IsZero() || running.StartedAt.Before(got.CreatedAt) {
		t.Fatalf("started: %v %+v", started, running)
	}
	equal(t, must(s.GetRun(ctx(t), made[0].ID))(t), running, "get after start")
	again, started := must2(s.StartRun(ctx(t), made[0].ID))(t)
	if started || !again.StartedAt.Equal(running.StartedAt) || again.State != store.RunRunning {
		t.Fatalf("started twice: %v %+v", started, again)
	}
	_, _, err = s.StartRun(ctx(t), "no-such-run")
	wantNotFound(t, err, "start a missing run")
	finished := must(s.FinishRun(ctx(t), made[0].ID, store.ResultFailed, "plan failed"))(t)
	if finished.State != store.RunFinished || finished.Result != store.ResultFailed || finished.Message != "plan failed" ||
		!finished.StartedAt.Equal(running.StartedAt) || finished.FinishedAt.Before(running.StartedAt) || finished.FinishedAt.IsZero() {
		t.Fatalf("finished: %+v", finished)
	}
	var started409 *store.ConflictError
	if _, _, err := s.StartRun(ctx(t), made[0].ID); !errors.As(err, &started409) || started409.Field != "state" {
		t.Fatalf("start a finished run: %v", err)
	}
	equal(t, must(s.GetRun(ctx(t), made[0].ID))(t), finished, "get after finish")
	_, err = s.FinishRun(ctx(t), made[0].ID, store.ResultSucceeded, "")
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Field != "result" {
		t.Fatalf("finish twice: %v", err)
	}
	_, err = s.FinishRun(ctx(t), "no-such-run", store.ResultSucceeded, "")
	wantNotFound(t, err, "finish a missing run")
	mustNil(t, s.SetRunStatusError(ctx(t), made[1].ID, "Bitbucket: 403 forbidden"))
	if got := must(s.GetRun(ctx(t), made[1].ID))(t); got.StatusError != "Bitbucket: 403 forbidden" {
		t.Fatalf("status error: %+v", got)
	}

	ids := func(runs []store.Run) []string {
		var out []string
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	byCommit, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Commits: []string{"c1"}}))(t)
	if want := []string{made[3].ID, made[2].ID, made[0].ID}; !slices.Equal(ids(byCommit), want) {
		t.Fatalf("by commit, newest first: %v, want %v", ids(byCommit), want)
	}
	inSpace, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Commits: []string{"c1"}, SpaceIDs: []string{sp.ID}}))(t)
	if want := []string{made[3].ID, made[0].ID}; !slices.Equal(ids(inSpace), want) {
		t.Fatalf("by commit in a space: %v, want %v", ids(inSpace), want)
	}
	if none, _ := must2(s.ListRuns(ctx(t), store.RunFilter{SpaceIDs: []string{}}))(t); len(none) != 0 {
		t.Fatalf("no readable space: %v", ids(none))
	}
	var paged []string
	token := ""
	for {
		page, next := must2(s.ListRuns(ctx(t), store.RunFilter{StackID: st.ID, PageSize: 2, PageToken: token}))(t)
		paged = append(paged, ids(page)...)
		if next == "" {
			break
		}
		token = next
	}
	if want := []string{made[3].ID, made[1].ID, made[0].ID}; !slices.Equal(paged, want) {
		t.Fatalf("paged by stack: %v, want %v", paged, want)
	}
	if commit := must(s.LatestPullRequestCommit(ctx(t), st.ID, "PLAT", "infra", 7))(t); commit != "c1" {
		t.Fatalf("latest PR commit = %q, want c1", commit)
	}
	if commit := must(s.LatestPullRequestCommit(ctx(t), st.ID, "PLAT", "infra", 8))(t); commit != "" {
		t.Fatalf("latest commit of another PR = %q", commit)
	}
	// Deleting a stack deletes its runs.
	mustNil(t, s.DeleteStack(ctx(t), other.ID))
	_, err = s.GetRun(ctx(t), made[2].ID)
	wantNotFound(t, err, "run of a deleted stack")
}

// testConcurrentClaims: claimers racing on one store (replicas on one database)
// never hold the same job at once; every job is claimed exactly once.
func testConcurrentClaims(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("claims", store.RootSpaceID)))(t)
	const total = 120
	var batch []store.Delivery
	for i := range total {
		batch = append(batch, delivery(in.ID, fmt.Sprintf("req-%03d", i)))
	}
	must(s.RecordDeliveries(ctx(t), batch))(t)
	const claimers = 6
	var (
		mu     sync.Mutex
		claims = map[string]int{}
		wg     sync.WaitGroup
		errs   = make(chan error, claimers)
		start  = make(chan struct{})
	)
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				jobs, err := s.ClaimJobs(ctx(t), store.JobDelivery, 3, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					claims[j.SubjectID]++
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("claim: %v", err)
	}
	if len(claims) != total {
		t.Fatalf("%d deliveries claimed, want %d", len(claims), total)
	}
	for id, n := range claims {
		if n != 1 {
			t.Fatalf("delivery %s claimed %d times while leased", id, n)
		}
	}
}

// testConcurrentDuplicateDeliveries: the same delivery recorded at once by
// several receivers (Bitbucket retried to another replica) is stored once, with
// one job, and every other receiver is told it is a duplicate.
func testConcurrentDuplicateDeliveries(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("dupes", store.RootSpaceID)))(t)
	const receivers, deliveries = 4, 30
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stored = map[string]int{}
		errs   = make(chan error, receivers*deliveries)
		start  = make(chan struct{})
	)
	for range receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range deliveries {
				rs, err := s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, fmt.Sprintf("same-%02d", i))})
				if err == nil && rs[0].Err != nil {
					err = rs[0].Err
				}
				if err != nil {
					errs <- err
					continue
				}
				if !rs[0].Duplicate {
					mu.Lock()
					stored[fmt.Sprintf("same-%02d", i)]++
					mu.Unlock()
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("record: %v", err)
	}
	for i := range deliveries {
		if n := stored[fmt.Sprintf("same-%02d", i)]; n != 1 {
			t.Fatalf("delivery %d stored %d times", i, n)
		}
	}
	jobs := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1000, time.Hour))(t)
	if len(jobs) != deliveries {
		t.Fatalf("%d delivery jobs, want %d", len(jobs), deliveries)
	}
}

// A body the integration already has under the same event key is a duplicate
// whatever its request id (a replay of a signed delivery), in the same batch or a
// later one; the same body to another integration is another delivery.
func testDeliveriesReplayedBody(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("replays", store.RootSpaceID)))(t)
	other := must(s.CreateIntegration(ctx(t), cloudIntegration("replays-2", store.RootSpaceID)))(t)
	replay := func(integrationID, requestID string) store.Delivery {
		d := delivery(integrationID, requestID)
		d.Body = pushBody("the same push")
		return d
	}
	otherKey := replay(in.ID, "r-4")
	otherKey.EventKey = "repo:deleted"
	receipts := must(s.RecordDeliveries(ctx(t), []store.Delivery{replay(in.ID, "r-1"), replay(in.ID, "r-2"), replay(other.ID, "r-1"), otherKey}))(t)
	if receipts[0].ID == "" || !receipts[1].Duplicate || receipts[1].ID != "" || receipts[2].ID == "" {
		t.Fatalf("same body, new request id, same batch: %+v", receipts)
	}
	// Bitbucket sends some events with identical bodies (Cloud repo:created and
	// repo:deleted): the event key is part of the key.
	if receipts[3].ID == "" {
		t.Fatalf("same body under another event key: %+v", receipts[3])
	}
	if again := must(s.RecordDeliveries(ctx(t), []store.Delivery{replay(in.ID, "r-3")}))(t); !again[0].Duplicate {
		t.Fatalf("same body, new request id, later batch: %+v", again[0])
	}
	got := must(s.GetDelivery(ctx(t), receipts[0].ID))(t)
	if got.BodySHA256 != store.BodySHA256(pushBody("the same push")) || len(got.BodySHA256) != 64 {
		t.Fatalf("body_sha256 %q", got.BodySHA256)
	}
	if jobs := must(s.ClaimJobs(ctx(t), store.JobDelivery, 10, time.Hour))(t); len(jobs) != 3 {
		t.Fatalf("claimed %d delivery jobs, want 3", len(jobs))
	}
}

// A delivery recorded with its Outcome (an ignored event) is stored processed and
// queues no job; it still takes part in the dedupe.
func testDeliveryDecidedOnReceipt(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("decided", store.RootSpaceID)))(t)
	d := delivery(in.ID, "ignored-1")
	d.EventKey, d.Outcome = "issue:created", "issue:created on acme/infra: ignored, issues start nothing"
	d.Decision, d.Namespace, d.Repository = store.DecisionEventIgnored, "acme", "infra"
	r := must(s.RecordDeliveries(ctx(t), []store.Delivery{d}))(t)[0]
	if r.ID == "" || r.Duplicate {
		t.Fatalf("receipt %+v", r)
	}
	got := must(s.GetDelivery(ctx(t), r.ID))(t)
	if got.Outcome != d.Outcome || got.ProcessedAt.IsZero() || got.Decision != store.DecisionEventIgnored ||
		got.Namespace != "acme" || got.Repository != "infra" {
		t.Fatalf("stored %+v, want processed with the outcome", got)
	}
	if jobs := must(s.ClaimJobs(ctx(t), store.JobDelivery, 10, time.Hour))(t); len(jobs) != 0 {
		t.Fatalf("%d jobs for a delivery decided on receipt", len(jobs))
	}
	d.RequestID = "ignored-2"
	if again := must(s.RecordDeliveries(ctx(t), []store.Delivery{d}))(t)[0]; !again.Duplicate {
		t.Fatalf("replayed ignored delivery: %+v", again)
	}
}

// Receivers (replicas) storing the same bodies at once, each under its own request
// ids, store each body once: the check is the insert's.
func testConcurrentReplays(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("concurrent-replays", store.RootSpaceID)))(t)
	const receivers, bodies = 4, 20
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stored = map[int]int{}
		errs   = make(chan error, receivers*bodies)
		start  = make(chan struct{})
	)
	for r := range receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range bodies {
				d := delivery(in.ID, fmt.Sprintf("receiver-%d-%02d", r, i))
				d.Body = pushBody(fmt.Sprintf("body-%02d", i))
				rs, err := s.RecordDeliveries(ctx(t), []store.Delivery{d})
				if err == nil && rs[0].Err != nil {
					err = rs[0].Err
				}
				if err != nil {
					errs <- err
					continue
				}
				if !rs[0].Duplicate {
					mu.Lock()
					stored[i]++
					mu.Unlock()
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("record: %v", err)
	}
	for i := range bodies {
		if stored[i] != 1 {
			t.Fatalf("body %d stored %d times", i, stored[i])
		}
	}
	if jobs := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1000, time.Hour))(t); len(jobs) != bodies {
		t.Fatalf("%d delivery jobs, want %d", len(jobs), bodies)
	}
}

// A completed delivery that saw a repository's stable id gives it to the bindings
// naming the repository; a rename points the integration's bindings of the old name,
// and those that learnt the id under another name, at the new name, keeping the name
// each had as renamed_from, with a new version; others stay. An API write that names
// another repository clears renamed_from and the id.
func testRenamesFollowBindings(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("renames", store.RootSpaceID)))(t)
	other := must(s.CreateIntegration(ctx(t), cloudIntegration("renames-other", store.RootSpaceID)))(t)
	bind := func(name, integrationID, repository string) store.StackBinding {
		st := must(s.CreateStack(ctx(t), store.Stack{Name: name, SpaceID: store.RootSpaceID}))(t)
		return must3(s.SetStackBinding(ctx(t), binding(st.ID, integrationID, "acme", repository), store.BindingCreateOnly))(t)
	}
	byName, learnt, elsewhere, otherIntegration := bind("by-name", in.ID, "infra"), bind("learnt", in.ID, "old"), bind("elsewhere", in.ID, "app"), bind("other-integration", other.ID, "infra")
	complete := func(tag string, r store.DeliveryResult) {
		t.Helper()
		d := must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, tag)}))(t)
		r.DeliveryID, r.Outcome = d[0].ID, tag
		must(s.CompleteDeliveries(ctx(t), []store.DeliveryCompletion{{Result: r}}))(t)
	}
	complete("learn", store.DeliveryResult{IntegrationID: in.ID, Namespace: "acme", Repository: "old", RepositoryID: "{r-1}"})
	if got := must(s.GetStackBinding(ctx(t), learnt.StackID))(t); got.RepositoryID != "{r-1}" || got.Version != learnt.Version {
		t.Fatalf("binding after a delivery saw its repository's id: %+v", got)
	}
	complete("rename", store.DeliveryResult{Decision: store.DecisionRepositoryRenamed, Rename: &store.RepositoryRename{IntegrationID: in.ID,
		OldNamespace: "acme", OldRepository: "infra", NewNamespace: "acme", NewRepository: "platform", RepositoryID: "{r-1}"}})
	for _, b := range []store.StackBinding{byName, learnt} {
		got := must(s.GetStackBinding(ctx(t), b.StackID))(t)
		if got.Namespace != "acme" || got.Repository != "platform" || got.RenamedFromNamespace != "acme" || got.RenamedFromRepository != b.Repository ||
			got.RepositoryID != "{r-1}" || got.Version == b.Version {
			t.Errorf("binding of %s after the rename: %+v", b.Repository, got)
		}
	}
	for _, b := range []store.StackBinding{elsewhere, otherIntegration} {
		if got := must(s.GetStackBinding(ctx(t), b.StackID))(t); got.Repository != b.Repository || got.RenamedFromRepository != "" || got.Version != b.Version {
			t.Errorf("binding the rename does not concern changed: %+v", got)
		}
	}
	equal(t, ids(must(s.ListBindingsForRepositoryID(ctx(t), in.ID, "{r-1}"))(t), bindingStackID), sortedIDs(byName.StackID, learnt.StackID), "bindings by repository id")
	equal(t, must(s.ListBindingsForRepositoryID(ctx(t), in.ID, ""))(t), []store.StackBinding{}, "no id matches nothing")

	cur := must(s.GetStackBinding(ctx(t), learnt.StackID))(t)
	same := binding(learnt.StackID, in.ID, "acme", "platform")
	kept := must3(s.SetStackBinding(ctx(t), same, cur.Version))(t)
	if kept.RenamedFromRepository != "" || kept.RepositoryID != "{r-1}" {
		t.Errorf("binding written with the same repository: %+v, want renamed_from cleared and the id kept", kept)
	}
	moved := must3(s.SetStackBinding(ctx(t), binding(learnt.StackID, in.ID, "acme", "web"), kept.Version))(t)
	if moved.RepositoryID != "" {
		t.Errorf("binding written with another repository keeps the old one's id: %+v", moved)
	}
}
