package worker

import (
	"context"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/textcap"
)

// dispatch turns a delivery into the runs it starts (ARCHITECTURE.md, "One push") and a one-line outcome
// recorded on the delivery:
//   - a push to a binding's branch: a tracked run for each attached stack bound to
//     that repository and branch (deleted branches and tags start nothing);
//   - a pull request opened, or whose source commit moved: a proposed run for each
//     attached stack with pull_request_runs bound to the repository. Cloud's
//     pullrequest:updated does not say what changed: the source moved for a stack
//     when its last proposed run of that pull request was on another commit;
//   - a pull request merged, declined or deleted: its proposed runs not yet finished
//     end canceled (lifecycle.go), and their statuses go to the stopped state;
//   - anything else (approval, comment, DC pr:modified): recorded only.
//
// Detached bindings are never listed, so detached stacks get nothing.
//
// cache holds what the deliveries of one claimed batch share; the batch commits
// together, so a pull request's last commit must come from the batch's own runs
// before the store's.
func (s *Worker) dispatch(ctx context.Context, d store.Delivery, cache *dispatchCache) (store.DeliveryResult, error) {
	result := store.DeliveryResult{DeliveryID: d.ID}
	in, err := cache.integrations.get(ctx, s.store, d.IntegrationID)
	if err != nil {
		return result, err
	}
	kind, err := vcs.Lookup(in.Provider)
	if err != nil {
		// A kind this server no longer knows: recorded, not retried, no fallback.
		result.Outcome, result.Decision = "not dispatched: "+err.Error(), store.DecisionNotDispatched
		return result, nil //nolint:nilerr // the outcome records the error; there is nothing to retry
	}
	ev, err := kind.ParseEvent(d.EventKey, d.Body)
	if err != nil {
		// Checked on receipt; a stored body that no longer parses is recorded, not retried.
		result.Outcome, result.Decision = "unreadable payload: "+err.Error(), store.DecisionNotDispatched
		return result, nil //nolint:nilerr // the outcome records the error; there is nothing to retry
	}
	describe := describeEvent(ev)
	result.Namespace, result.Repository = ev.Namespace, ev.Repository
	if ev.Kind.ClosesPullRequest() && ev.PullRequest != nil {
		result.Closes = closing(in.ID, ev)
		result.Outcome, result.Decision = describe+": "+result.Closes.Message, store.DecisionRunsEnded
		return result, nil
	}
	starts := ev.Kind == bitbucket.EventPush && len(ev.Pushes) > 0
	switch ev.Kind {
	case bitbucket.EventPullRequestOpened, bitbucket.EventPullRequestUpdated, bitbucket.EventPullRequestSourceMoved:
		starts = true
	}
	if !starts {
		result.Outcome, result.Decision = describe+": recorded, no run", store.DecisionEventIgnored
		if ev.Reason != "" {
			result.Outcome = describe + ": ignored, " + ev.Reason
		}
		return result, nil
	}
	bindings, err := cache.bindings(ctx, s.store, in.ID, ev.Namespace, ev.Repository)
	if err != nil {
		return result, err
	}
	// Who triggered the run and the pull request's title are kept on the run: the
	// delivery's body may be pruned before the run is.
	newRun := func(b store.StackBinding, kind store.RunKind, commit, branch string, pr int64) store.Run {
		run := store.Run{StackID: b.StackID, IntegrationID: in.ID, Namespace: ev.Namespace, Repository: ev.Repository,
			Kind: kind, Commit: commit, Branch: branch, PullRequest: pr, TriggeredBy: ev.Actor}
		if pr > 0 && ev.PullRequest != nil {
			run.PullRequestTitle = ev.PullRequest.Title
			if ev.PullRequest.Author != "" {
				run.TriggeredBy = ev.PullRequest.Author
			}
		}
		return run
	}
	var unchanged, untouched int
	// decide adds b's run unless the change (a push's range or a pull request) did
	// not touch b's project (monorepos, changes.go).
	decide := func(b store.StackBinding, ch vcs.Change, run store.Run) error {
		if needsListing(b) {
			l, err := s.changedPaths(ctx, cache, in, kind, ch)
			if err != nil {
				return err
			}
			var runs bool
			if runs, run.TriggerReason = concerns(b, l); !runs {
				untouched++
				return nil
			}
		}
		result.Runs = append(result.Runs, run)
		return nil
	}
	for _, b := range bindings {
		if ev.Kind == bitbucket.EventPush {
			for _, push := range ev.Pushes {
				if push.Branch == b.Branch {
					ch := vcs.Change{Namespace: ev.Namespace, Repository: ev.Repository, Commit: push.Commit, Old: push.Old}
					if err := decide(b, ch, newRun(b, store.RunTracked, push.Commit, push.Branch, 0)); err != nil {
						return result, err
					}
				}
			}
			continue
		}
		if !b.PullRequestRuns {
			continue
		}
		pr := ev.PullRequest
		if ev.Kind == bitbucket.EventPullRequestUpdated {
			last, err := cache.latestPullRequestCommit(ctx, s.store, b.StackID, ev.Namespace, ev.Repository, pr.ID)
			if err != nil {
				return result, err
			}
			if last == pr.SourceCommit {
				unchanged++
				continue // a title, description or reviewer change: the source did not move
			}
		}
		ch := vcs.Change{Namespace: ev.Namespace, Repository: ev.Repository, Commit: pr.SourceCommit, PullRequest: pr.ID}
		if err := decide(b, ch, newRun(b, store.RunProposed, pr.SourceCommit, pr.SourceBranch, pr.ID)); err != nil {
			return result, err
		}
	}
	duplicates := 0
	if d.RedeliveryOf != "" && len(result.Runs) > 0 {
		if result.Runs, duplicates, err = s.withoutChainRuns(ctx, d.RedeliveryOf, result.Runs); err != nil {
			return result, err
		}
	}
	// Only now that the delivery is decided: one that fails half-way is retried
	// and must leave nothing for the batch's later deliveries to go by.
	for _, run := range result.Runs {
		if run.Kind == store.RunProposed {
			cache.proposed(run.StackID, run.Namespace, run.Repository, run.PullRequest, run.Commit)
		}
	}
	skipped := ""
	if untouched > 0 {
		skipped = fmt.Sprintf(", %d bound stack(s) not touched by the change", untouched)
	}
	switch {
	case len(result.Runs) > 0:
		result.Outcome, result.Decision = fmt.Sprintf("%s: %d run(s)%s", describe, len(result.Runs), skipped), store.DecisionRunsStarted
	case duplicates > 0:
		result.Outcome, result.Decision = describe+": the original delivery or an earlier redelivery already started these runs, no run", store.DecisionDuplicate
	case untouched > 0:
		result.Outcome, result.Decision = describe+": no run, the change touches no bound stack's project_root or globs"+skipped, store.DecisionPathsNotTouched
	case unchanged > 0:
		result.Outcome, result.Decision = describe+": source commit unchanged, no run", store.DecisionHeadUnchanged
	case len(bindings) == 0:
		result.Outcome, result.Decision = describe+": no attached stack is bound to this repository", store.DecisionNoBinding
	default:
		result.Outcome, result.Decision = describe+": no bound stack concerned", store.DecisionBranchNotTracked
	}
	return result, nil
}

// withoutChainRuns drops from runs those that the original delivery, or an
// earlier redelivery of it, already started (same stack, kind, commit and pull
// request): a redelivery is idempotent. It returns how many it dropped.
func (s *Worker) withoutChainRuns(ctx context.Context, original string, runs []store.Run) ([]store.Run, int, error) {
	started, err := s.store.DeliveryChainRuns(ctx, original)
	if err != nil {
		return nil, 0, err
	}
	type key struct {
		stack  string
		kind   store.RunKind
		commit string
		pr     int64
	}
	seen := map[key]bool{}
	for _, r := range started {
		seen[key{r.StackID, r.Kind, r.Commit, r.PullRequest}] = true
	}
	var kept []store.Run
	for _, r := range runs {
		if !seen[key{r.StackID, r.Kind, r.Commit, r.PullRequest}] {
			kept = append(kept, r)
		}
	}
	return kept, len(runs) - len(kept), nil
}

func describeEvent(ev bitbucket.WebhookEvent) string {
	repo := ev.Namespace + "/" + ev.Repository
	switch {
	case ev.Kind == bitbucket.EventPush:
		var parts []string
		for _, p := range ev.Pushes {
			parts = append(parts, p.Branch+"@"+p.Commit)
		}
		for _, sk := range ev.Skipped {
			parts = append(parts, "ignored "+sk)
		}
		// A push of thousands of refs names the first ones and counts the rest.
		return fmt.Sprintf("%s to %s: %s", ev.Key, repo, textcap.List(parts, ", ", textcap.DefaultLimit/2))
	case ev.PullRequest != nil:
		return fmt.Sprintf("%s on pull request #%d of %s (%s@%s into %s)", ev.Key, ev.PullRequest.ID, repo,
			ev.PullRequest.SourceBranch, ev.PullRequest.SourceCommit, ev.PullRequest.DestinationBranch)
	}
	return fmt.Sprintf("%s on %s", ev.Key, repo)
}

// dispatchCache is what the deliveries of one claimed batch share: integrations
// and bindings read once per batch, and the proposed runs the batch has decided
// on but not yet committed.
type dispatchCache struct {
	integrations integrationCache
	bindingsOf   map[[3]string][]store.StackBinding
	lastProposed map[string]string
	// listings are the changed paths asked for, by changeKey.
	listings map[string]listing
}

func newDispatchCache() *dispatchCache {
	return &dispatchCache{integrations: integrationCache{}, bindingsOf: map[[3]string][]store.StackBinding{},
		lastProposed: map[string]string{}, listings: map[string]listing{}}
}

// integrationCache holds the integrations the jobs of one claim read, each read
// once (a claim takes milliseconds to seconds; an update meanwhile is seen by
// the next claim).
type integrationCache map[string]store.Integration

func (c integrationCache) get(ctx context.Context, st store.Store, id string) (store.Integration, error) {
	if in, ok := c[id]; ok {
		return in, nil
	}
	in, err := st.GetIntegration(ctx, id)
	if err == nil {
		c[id] = in
	}
	return in, err
}

func (c *dispatchCache) bindings(ctx context.Context, st store.Store, integrationID, namespace, repository string) ([]store.StackBinding, error) {
	key := [3]string{integrationID, namespace, repository}
	if bs, ok := c.bindingsOf[key]; ok {
		return bs, nil
	}
	bs, err := st.ListBindingsForRepository(ctx, integrationID, namespace, repository)
	if err == nil {
		c.bindingsOf[key] = bs
	}
	return bs, err
}

func pullRequestKey(stackID, namespace, repository string, pr int64) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d", stackID, namespace, repository, pr)
}

func (c *dispatchCache) latestPullRequestCommit(ctx context.Context, st store.Store, stackID, namespace, repository string, pr int64) (string, error) {
	if commit, ok := c.lastProposed[pullRequestKey(stackID, namespace, repository, pr)]; ok {
		return commit, nil
	}
	return st.LatestPullRequestCommit(ctx, stackID, namespace, repository, pr)
}

func (c *dispatchCache) proposed(stackID, namespace, repository string, pr int64, commit string) {
	c.lastProposed[pullRequestKey(stackID, namespace, repository, pr)] = commit
}
