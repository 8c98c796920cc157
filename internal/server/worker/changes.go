package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/textcap"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsname"
)

// Monorepos (issue 25): a stack with a project root runs only when the push or pull
// request changed a path under its root or matching one of its globs. Bitbucket's
// payloads do not list paths, so the worker asks for them, once per repository and
// range (the batch's dispatchCache keeps the answer for every stack bound to it).
// When the listing is unavailable the stack runs, and its run says why.

const (
	// listingTimeout bounds one listing, all pages and retries together; a queue
	// lease shorter than three times this cuts it to a third of the lease.
	listingTimeout = 20 * time.Second
	// shownPaths is how many matched paths a run's trigger reason names.
	shownPaths = 3
	// maxTriggerReason caps a run's trigger reason, in bytes.
	maxTriggerReason = 512
)

// listingRetryPolicy rides out a short outage of Bitbucket; past it the stacks run
// (a listing is never worth skipping work over).
var listingRetryPolicy = bitbucket.RetryPolicy{MaxRetries: 3, MinBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second,
	MaxRetryAfter: 5 * time.Second, Window: 10 * time.Second}

// listing is the answer to one request for changed paths: the paths, or why there
// are none to go by.
type listing struct {
	paths  []string
	reason string // "" when paths is the listing
}

// changeKey names a listing: the integration, the repository and the range (a
// push's commits) or the pull request at its source commit.
func changeKey(integrationID string, ch vcs.Change) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%d", integrationID, ch.Namespace, ch.Repository, ch.Commit, ch.Old, ch.PullRequest)
}

// changedPaths lists ch once per batch. Only a cancelled ctx (shutdown) is an error:
// the delivery is then retried rather than decided on a listing that never came.
func (s *Worker) changedPaths(ctx context.Context, cache *dispatchCache, in store.Integration, kind vcs.Kind, ch vcs.Change) (listing, error) {
	key := changeKey(in.ID, ch)
	if l, ok := cache.listings[key]; ok {
		return l, nil
	}
	l, err := s.listChanges(ctx, in, kind, ch)
	if err != nil {
		return l, err
	}
	cache.listings[key] = l
	return l, nil
}

func (s *Worker) listChanges(ctx context.Context, in store.Integration, kind vcs.Kind, ch vcs.Change) (listing, error) {
	credential, err := s.box.Credential(in)
	if err != nil {
		return listing{reason: "the integration's credential could not be opened"}, nil //nolint:nilerr // the stacks run; the reason says why
	}
	timeout := min(listingTimeout, s.queue.lease/3)
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	env := s.env
	env.Options = append(append([]bitbucket.Option{}, env.Options...), bitbucket.WithRetryPolicy(listingRetryPolicy))
	paths, err := kind.ChangedPaths(lctx, env, in, credential, ch)
	if err == nil {
		return listing{paths: paths}, nil
	}
	if ctx.Err() != nil {
		return listing{}, ctx.Err()
	}
	var tooMany *bitbucket.TooManyChangesError
	var refusal *vcs.StatusRefusal
	switch {
	case errors.As(err, &tooMany):
		return listing{reason: tooMany.Error()}, nil
	case errors.As(err, &refusal):
		return listing{reason: refusal.Msg}, nil
	case bitbucket.IsNotFound(err):
		return listing{reason: "Bitbucket does not know the commits of the change (404; a force push or a deleted branch?)"}, nil
	case lctx.Err() != nil:
		return listing{reason: fmt.Sprintf("Bitbucket did not list them within %s", timeout)}, nil
	}
	s.logger.Warn("changed paths not listed", "integration_id", in.ID, "repository", ch.Namespace+"/"+ch.Repository, "error", err.Error())
	return listing{reason: "Bitbucket did not list them: " + err.Error()}, nil
}

// concerns decides whether a change concerns the stack of b: with no project root
// every change does (and no listing is needed: need is false). Otherwise the stack
// runs when l names a path under its root or matching a glob, or when l is
// unavailable; reason says which paths matched, or why the listing is unavailable.
func concerns(b store.StackBinding, l listing) (run bool, reason string) {
	if l.reason != "" {
		return true, textcap.String("changed paths unavailable, so the stack runs: "+l.reason, maxTriggerReason)
	}
	var matched []string
	for _, p := range l.paths {
		if vcsname.TouchesProject(b.ProjectRoot, b.AdditionalProjectGlobs, p) {
			matched = append(matched, p)
		}
	}
	if len(matched) == 0 {
		return false, ""
	}
	shown := matched[:min(len(matched), shownPaths)]
	reason = fmt.Sprintf("%d of %d changed path(s) concern the stack: %s", len(matched), len(l.paths), strings.Join(shown, ", "))
	if len(matched) > len(shown) {
		reason += fmt.Sprintf(", … and %d more", len(matched)-len(shown))
	}
	return true, textcap.String(reason, maxTriggerReason)
}

// needsListing reports whether b's stack runs on some changes only.
func needsListing(b store.StackBinding) bool { return b.ProjectRoot != "" }
