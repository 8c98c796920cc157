package storetest

import (
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// retentionTests are the cases for pruning and the queue's figures.
var retentionTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"PruneDeliveryBodiesKeepsTheRecord", testPruneDeliveryBodies},
	{"PruneDeliveriesEndsTheDedupe", testPruneDeliveries},
	{"PruneRunsKeepsPendingStatuses", testPruneRuns},
	{"QueueStats", testQueueStats},
}

// recordAt stores a delivery received at `at` and returns its id.
func recordAt(t *testing.T, s store.Store, integrationID, requestID string, at time.Time) string {
	t.Helper()
	d := delivery(integrationID, requestID)
	d.ReceivedAt = at
	r := must(s.RecordDeliveries(ctx(t), []store.Delivery{d}))(t)
	if r[0].ID == "" {
		t.Fatalf("delivery %s not stored: %+v", requestID, r[0])
	}
	return r[0].ID
}

// dispatchAll completes every due delivery job with outcome.
func dispatchAll(t *testing.T, s store.Store, outcome string) {
	t.Helper()
	jobs := must(s.ClaimJobs(ctx(t), store.JobDelivery, 100, time.Hour))(t)
	var cs []store.DeliveryCompletion
	for _, j := range jobs {
		cs = append(cs, store.DeliveryCompletion{JobID: j.ID, Result: store.DeliveryResult{DeliveryID: j.SubjectID, Outcome: outcome}})
	}
	must(s.CompleteDeliveries(ctx(t), cs))(t)
}

func testPruneDeliveryBodies(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("bodies", store.RootSpaceID)))(t)
	now := time.Now().UTC()
	old := now.Add(-10 * 24 * time.Hour)
	var olds []string
	for _, rid := range []string{"old-1", "old-2", "old-3"} {
		olds = append(olds, recordAt(t, s, in.ID, rid, old))
	}
	fresh := recordAt(t, s, in.ID, "fresh", now)
	dispatchAll(t, s, "ignored: no binding")
	// Received as long ago, but not dispatched yet: its body is still needed.
	waiting := recordAt(t, s, in.ID, "waiting", old)

	before := map[string]store.Delivery{}
	for _, id := range append(olds, fresh, waiting) {
		before[id] = must(s.GetDelivery(ctx(t), id))(t)
	}
	cutoff := now.Add(-7 * 24 * time.Hour)
	// Small batches: two, then the last one, then nothing is left to do.
	for i, want := range []int{2, 1, 0} {
		if n := must(s.PruneDeliveryBodies(ctx(t), cutoff, 2))(t); n != want {
			t.Fatalf("batch %d pruned %d bodies, want %d", i, n, want)
		}
	}
	for _, id := range olds {
		got := must(s.GetDelivery(ctx(t), id))(t)
		if len(got.Body) != 0 {
			t.Fatalf("%s kept its body %q", id, got.Body)
		}
		// Everything but the body is as it was: time, event, outcome, request id,
		// and any other column (the body hash of the replay check among them).
		want := before[id]
		want.Body = got.Body
		equal(t, got, want, "delivery after its body was pruned")
	}
	for _, id := range []string{fresh, waiting} {
		equal(t, must(s.GetDelivery(ctx(t), id))(t), before[id], "delivery that keeps its body")
	}
	// The dedupe on the request id still holds for a delivery without its body.
	again := delivery(in.ID, "old-1")
	if r := must(s.RecordDeliveries(ctx(t), []store.Delivery{again}))(t); !r[0].Duplicate {
		t.Fatalf("repeat of a delivery whose body was pruned: %+v, want a duplicate", r[0])
	}
	// So does the replay check: the same body under the same event key with a new
	// request id (a captured delivery sent again) matches the kept body hash.
	replay := delivery(in.ID, "replay-of-old-2")
	replay.Body = pushBody("old-2")
	if r := must(s.RecordDeliveries(ctx(t), []store.Delivery{replay}))(t); !r[0].Duplicate {
		t.Fatalf("replay of a body that was pruned, under a new request id: %+v, want a duplicate", r[0])
	}
}

func testPruneDeliveries(t *testing.T, s store.Store) {
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("rows", store.RootSpaceID)))(t)
	now := time.Now().UTC()
	old := recordAt(t, s, in.ID, "old", now.Add(-40*24*time.Hour))
	fresh := recordAt(t, s, in.ID, "fresh", now.Add(-time.Hour))
	dispatchAll(t, s, "1 run")
	waiting := recordAt(t, s, in.ID, "waiting", now.Add(-40*24*time.Hour))

	cutoff := now.Add(-30 * 24 * time.Hour)
	if n := must(s.PruneDeliveries(ctx(t), cutoff, 100))(t); n != 1 {
		t.Fatalf("pruned %d deliveries, want 1", n)
	}
	_, err := s.GetDelivery(ctx(t), old)
	wantNotFound(t, err, "pruned delivery")
	must(s.GetDelivery(ctx(t), fresh))(t)
	must(s.GetDelivery(ctx(t), waiting))(t)
	if n := must(s.PruneDeliveries(ctx(t), cutoff, 100))(t); n != 0 {
		t.Fatalf("second prune removed %d, want 0", n)
	}
	// Inside the window the request id dedupes; past it, the row is gone and a
	// delivery with that id is new again: the row retention is the replay window.
	r := must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, "fresh"), delivery(in.ID, "old")}))(t)
	if !r[0].Duplicate || r[1].Duplicate || r[1].ID == "" {
		t.Fatalf("after pruning: %+v, want fresh a duplicate and old new", r)
	}
}

func testPruneRuns(t *testing.T, s store.Store) {
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "pruned", SpaceID: store.RootSpaceID}))(t)
	mk := func(commit string) store.Run {
		return must(s.CreateRun(ctx(t), store.Run{StackID: st.ID, IntegrationID: "i", Namespace: "acme", Repository: "infra",
			Kind: store.RunTracked, Commit: commit, Branch: "main"}))(t)
	}
	done, queued := mk("c1"), mk("c2")
	must(s.FinishRun(ctx(t), done.ID, store.ResultSucceeded, ""))(t)
	// Every run is older than a cutoff in the future; the finished one still has its
	// status jobs waiting, so nothing goes yet.
	future := time.Now().Add(time.Hour)
	if n := must(s.PruneRuns(ctx(t), future, 100))(t); n != 0 {
		t.Fatalf("pruned %d runs whose statuses wait to be posted", n)
	}
	jobs := must(s.ClaimJobs(ctx(t), store.JobStatus, 100, time.Hour))(t)
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	mustNil(t, s.DeleteJobs(ctx(t), ids...))
	if n := must(s.PruneRuns(ctx(t), time.Now().Add(-time.Hour), 100))(t); n != 0 {
		t.Fatalf("pruned %d runs finished after the cutoff", n)
	}
	if n := must(s.PruneRuns(ctx(t), future, 100))(t); n != 1 {
		t.Fatalf("pruned %d runs, want the finished one", n)
	}
	_, err := s.GetRun(ctx(t), done.ID)
	wantNotFound(t, err, "pruned run")
	must(s.GetRun(ctx(t), queued.ID))(t)
}

func testQueueStats(t *testing.T, s store.Store) {
	if stats := must(s.QueueStats(ctx(t)))(t); len(stats) != 0 {
		t.Fatalf("empty queue: %+v", stats)
	}
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("stats", store.RootSpaceID)))(t)
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "stats", SpaceID: store.RootSpaceID}))(t)
	start := time.Now().Add(-time.Second)
	recordAt(t, s, in.ID, "a", time.Time{})
	recordAt(t, s, in.ID, "b", time.Time{})
	must(s.CreateRun(ctx(t), store.Run{StackID: st.ID, IntegrationID: in.ID, Kind: store.RunTracked, Commit: "c", Branch: "main"}))(t)
	stats := must(s.QueueStats(ctx(t)))(t)
	got := map[store.JobKind]int{}
	for _, q := range stats {
		got[q.Kind] = q.Jobs
		if q.Oldest.Before(start) || q.Oldest.After(time.Now().Add(time.Second)) {
			t.Fatalf("%s: oldest job created at %v, not during this test", q.Kind, q.Oldest)
		}
	}
	if len(got) != 2 || got[store.JobDelivery] != 2 || got[store.JobStatus] != 1 {
		t.Fatalf("queue stats %+v, want 2 delivery jobs and 1 status job", stats)
	}
}
