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

// dispatch turns a delivery into the runs it starts and a one-line outcome.
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
	result.Outcome = describeEvent(ev)
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
		return fmt.Sprintf("push to %s: %s", repo, strings.Join(parts, ", "))
	case ev.PullRequest != nil:
		return fmt.Sprintf("%s: pull request #%d of %s (%s@%s into %s)", ev.Kind, ev.PullRequest.ID, repo,
			ev.PullRequest.SourceBranch, ev.PullRequest.SourceCommit, ev.PullRequest.DestinationBranch)
	}
	return fmt.Sprintf("%s on %s: recorded", ev.Key, repo)
}
