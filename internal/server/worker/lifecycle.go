package worker

import (
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// closing is what a merged, declined or deleted pull request does to its runs: the
// proposed runs not finished yet end canceled (a final state in the run API), and
// their commit statuses go to the product's stopped state (Cloud STOPPED, Data
// Center CANCELLED), so that none is left INPROGRESS in the pull request's view.
func closing(integrationID string, ev bitbucket.WebhookEvent) *store.PullRequestClose {
	how := map[bitbucket.EventKind]string{
		bitbucket.EventPullRequestMerged:   "merged",
		bitbucket.EventPullRequestDeclined: "declined",
		bitbucket.EventPullRequestDeleted:  "deleted",
	}[ev.Kind]
	return &store.PullRequestClose{
		IntegrationID: integrationID, Namespace: ev.Namespace, Repository: ev.Repository, PullRequest: ev.PullRequest.ID,
		Message: fmt.Sprintf("pull request #%d was %s: its proposed runs not finished are canceled", ev.PullRequest.ID, how),
	}
}
