package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// parseDelivery reads a stored delivery with its product's parser.
func parseDelivery(provider store.Provider, d store.Delivery) (bitbucket.WebhookEvent, error) {
	if provider == store.ProviderBitbucketCloud {
		return cloud.ParseWebhook(d.EventKey, d.Body)
	}
	return datacenter.ParseWebhook(d.EventKey, d.Body)
}

// dispatch turns a delivery into the runs it starts (SPEC §4) and a one-line outcome
// recorded on the delivery:
//   - a push to a binding's branch: a tracked run for each attached stack bound to
//     that repository and branch (deleted branches and tags start nothing);
//   - a pull request opened, or whose source commit moved: a proposed run for each
//     attached stack with pull_request_runs bound to the repository. Cloud's
//     pullrequest:updated does not say what changed: the source moved for a stack
//     when its last proposed run of that pull request was on another commit;
//   - anything else (merge, decline, approval, comment, DC pr:modified): recorded only.
//
// Detached bindings are never listed, so detached stacks get nothing.
func (s *Server) dispatch(ctx context.Context, d store.Delivery) (store.DeliveryResult, error) {
	result := store.DeliveryResult{DeliveryID: d.ID}
	in, err := s.store.GetIntegration(ctx, d.IntegrationID)
	if err != nil {
		return result, err
	}
	ev, err := parseDelivery(in.Provider, d)
	if err != nil {
		// Checked on receipt; a stored body that no longer parses is recorded, not retried.
		result.Outcome = "unreadable payload: " + err.Error()
		return result, nil //nolint:nilerr // the outcome records the error; there is nothing to retry
	}
	describe := describeEvent(ev)
	starts := ev.Kind == bitbucket.EventPush && len(ev.Pushes) > 0
	switch ev.Kind {
	case bitbucket.EventPullRequestOpened, bitbucket.EventPullRequestUpdated, bitbucket.EventPullRequestSourceMoved:
		starts = true
	}
	if !starts {
		result.Outcome = describe + ": recorded, no run"
		return result, nil
	}
	bindings, err := s.store.ListBindingsForRepository(ctx, in.ID, ev.Namespace, ev.Repository)
	if err != nil {
		return result, err
	}
	newRun := func(b store.StackBinding, kind store.RunKind, commit, branch string, pr int64) store.Run {
		return store.Run{StackID: b.StackID, IntegrationID: in.ID, Namespace: ev.Namespace, Repository: ev.Repository,
			Kind: kind, Commit: commit, Branch: branch, PullRequest: pr}
	}
	var unchanged int
	for _, b := range bindings {
		if ev.Kind == bitbucket.EventPush {
			for _, push := range ev.Pushes {
				if push.Branch == b.Branch {
					result.Runs = append(result.Runs, newRun(b, store.RunTracked, push.Commit, push.Branch, 0))
				}
			}
			continue
		}
		if !b.PullRequestRuns {
			continue
		}
		pr := ev.PullRequest
		if ev.Kind == bitbucket.EventPullRequestUpdated {
			last, err := s.store.LatestPullRequestCommit(ctx, b.StackID, ev.Namespace, ev.Repository, pr.ID)
			if err != nil {
				return result, err
			}
			if last == pr.SourceCommit {
				unchanged++
				continue // a title, description or reviewer change: the source did not move
			}
		}
		result.Runs = append(result.Runs, newRun(b, store.RunProposed, pr.SourceCommit, pr.SourceBranch, pr.ID))
	}
	switch {
	case len(result.Runs) > 0:
		result.Outcome = fmt.Sprintf("%s: %d run(s)", describe, len(result.Runs))
	case unchanged > 0:
		result.Outcome = describe + ": source commit unchanged, no run"
	case len(bindings) == 0:
		result.Outcome = describe + ": no attached stack is bound to this repository"
	default:
		result.Outcome = describe + ": no bound stack concerned"
	}
	return result, nil
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
		return fmt.Sprintf("%s to %s: %s", ev.Key, repo, strings.Join(parts, ", "))
	case ev.PullRequest != nil:
		return fmt.Sprintf("%s on pull request #%d of %s (%s@%s into %s)", ev.Key, ev.PullRequest.ID, repo,
			ev.PullRequest.SourceBranch, ev.PullRequest.SourceCommit, ev.PullRequest.DestinationBranch)
	}
	return fmt.Sprintf("%s on %s", ev.Key, repo)
}
