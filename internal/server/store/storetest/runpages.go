package storetest

import (
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// runPageTests are the cases for run page links.
var runPageTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"AddRunPageLinksOnlyWhereAbsent", testAddRunPageLinks},
}

// twoRuns stores a delivery dispatched into two runs of one stack and returns them.
func twoRuns(t *testing.T, s store.Store) []store.Run {
	t.Helper()
	in := must(s.CreateIntegration(ctx(t), cloudIntegration("pages", store.RootSpaceID)))(t)
	st := must(s.CreateStack(ctx(t), store.Stack{Name: "pages", SpaceID: store.RootSpaceID}))(t)
	r := must(s.RecordDeliveries(ctx(t), []store.Delivery{delivery(in.ID, "pages")}))(t)
	job := must(s.ClaimJobs(ctx(t), store.JobDelivery, 1, time.Hour))(t)[0]
	run := store.Run{StackID: st.ID, IntegrationID: in.ID, Namespace: "acme", Repository: "infra",
		Kind: store.RunTracked, Commit: "abc1234", Branch: "main"}
	proposed := run
	proposed.Kind, proposed.Branch = store.RunProposed, "feature"
	result := store.DeliveryResult{DeliveryID: r[0].ID, Outcome: "2 runs", Runs: []store.Run{run, proposed}}
	return must(s.CompleteDeliveries(ctx(t), []store.DeliveryCompletion{{JobID: job.ID, Result: result}}))(t)[0]
}

// One call makes the links of the runs without one; a run's existing link, live or
// revoked, stays as it is; a run that does not exist is skipped without failing
// the others.
func testAddRunPageLinks(t *testing.T, s store.Store) {
	runs := twoRuns(t, s)
	if len(runs) != 2 {
		t.Fatalf("runs: %+v", runs)
	}
	kept := must(s.PutRunPageLink(ctx(t), store.RunPageLink{RunID: runs[0].ID, Nonce: "n-kept", TokenHash: "h-kept"}, false))(t)
	if err := s.RevokeRunPageLink(ctx(t), runs[0].ID); err != nil {
		t.Fatal(err)
	}
	err := s.AddRunPageLinks(ctx(t), []store.RunPageLink{
		{RunID: runs[0].ID, Nonce: "n-new0", TokenHash: "h-new0"},
		{RunID: "run-missing", Nonce: "n-missing", TokenHash: "h-missing"},
		{RunID: runs[1].ID, Nonce: "n-new1", TokenHash: "h-new1"},
	})
	if err != nil {
		t.Fatalf("AddRunPageLinks: %v", err)
	}
	first := must(s.GetRunPageLink(ctx(t), runs[0].ID))(t)
	if first.Nonce != kept.Nonce || first.TokenHash != kept.TokenHash || !first.Revoked {
		t.Errorf("existing revoked link became %+v, want it kept (%+v, revoked)", first, kept)
	}
	second := must(s.GetRunPageLink(ctx(t), runs[1].ID))(t)
	if second.Nonce != "n-new1" || second.TokenHash != "h-new1" || second.Revoked || second.CreatedAt.IsZero() {
		t.Errorf("new link: %+v", second)
	}
	if _, err := s.GetRunPageLink(ctx(t), "run-missing"); err == nil {
		t.Error("a link was stored for a run that does not exist")
	}
	if got := must(s.RunByPageToken(ctx(t), "h-new1"))(t); got.ID != runs[1].ID {
		t.Errorf("run by the new link's hash: %s, want %s", got.ID, runs[1].ID)
	}
	// Nothing to add is no error.
	if err := s.AddRunPageLinks(ctx(t), nil); err != nil {
		t.Errorf("AddRunPageLinks(nil): %v", err)
	}
}
