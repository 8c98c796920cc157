package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
)

const (
	// statusPostTimeout bounds one job's calls to Bitbucket. A queue lease shorter
	// than three times this cuts it to a third of the lease, so that a live
	// worker's job is never claimed twice (see handleStatusJobs).
	statusPostTimeout = 20 * time.Second
	// maxStatusAttempts: after that many failed posts the job gives up and says so on the run.
	maxStatusAttempts = 15
)

// Aggregated status keys (vcs_checks aggregated or all): each summarises every run of
// its kind on the commit. orbit/modules would summarise module runs, which this server
// does not make, so it is never posted.
const (
	aggregatedTrackedKey  = "orbit/tracked"
	aggregatedProposedKey = "orbit/proposed"
	aggregatedModulesKey  = "orbit/modules"
)

// statusOnlyRetries: the queue retries a failed post with backoff; the client itself
// retries only its idempotent half (the PUT of Cloud's update-or-create) briefly.
// A Retry-After longer than statusClientRetryAfter ends the post, and the queue
// reschedules the job for it (schedule.go).
var statusRetryPolicy = bitbucket.RetryPolicy{MaxRetries: 1, MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second, MaxRetryAfter: statusClientRetryAfter}

// individualStatusKey is the stable key of a stack's own status, at most 40 characters.
func individualStatusKey(stackID string) string {
	key := "orbit/" + stackID
	if len(key) <= bitbucket.MaxBuildStatusKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(stackID))
	return "orbit/" + stackID[:23] + "-" + hex.EncodeToString(sum[:])[:10]
}

func runState(r store.Run) string {
	switch {
	case r.State != store.RunFinished:
		return "INPROGRESS"
	case r.Result == store.ResultSucceeded:
		return "SUCCESSFUL"
	case r.Result == store.ResultCanceled:
		return "STOPPED"
	}
	return "FAILED"
}

// summarize is the aggregated state of runs: any failed gives FAILED, any queued or
// running INPROGRESS, otherwise SUCCESSFUL (canceled runs count as done).
func summarize(runs []store.Run) string {
	state := "SUCCESSFUL"
	for _, r := range runs {
		switch runState(r) {
		case "FAILED":
			return "FAILED"
		case "INPROGRESS":
			state = "INPROGRESS"
		}
	}
	return state
}

// statusesFor builds the statuses the run's integration asks for (vcs_checks).
func (s *Worker) statusesFor(ctx context.Context, in store.Integration, run store.Run) ([]vcs.CommitStatus, error) {
	var out []vcs.CommitStatus
	runURL := s.publicURL + "/api/v1/runs/" + run.ID
	if s.runLink != nil {
		link, err := s.runLink(ctx, run)
		if err != nil {
			return nil, err
		}
		runURL = link
	}
	if in.VCSChecks == "individual" || in.VCSChecks == "all" || in.VCSChecks == "" {
		st, err := s.store.GetStack(ctx, run.StackID)
		if err != nil {
			return nil, err
		}
		desc := fmt.Sprintf("%s run %s", run.Kind, run.State)
		if run.Result != "" {
			desc = fmt.Sprintf("%s run %s", run.Kind, run.Result)
		}
		if run.Message != "" {
			desc += ": " + run.Message
		}
		out = append(out, vcs.CommitStatus{Key: individualStatusKey(run.StackID), State: runState(run),
			Name: "orbit: " + st.Name, Description: truncate(desc, 255), URL: runURL})
	}
	if in.VCSChecks == "aggregated" || in.VCSChecks == "all" {
		var same []store.Run
		token := ""
		for {
			page, next, err := s.store.ListRuns(ctx, store.RunFilter{Commits: []string{run.Commit}, PageSize: 500, PageToken: token})
			if err != nil {
				return nil, err
			}
			for _, r := range page {
				if r.Kind == run.Kind && r.IntegrationID == run.IntegrationID && r.Namespace == run.Namespace && r.Repository == run.Repository {
					same = append(same, r)
				}
			}
			if next == "" {
				break
			}
			token = next
		}
		key := aggregatedTrackedKey
		if run.Kind == store.RunProposed {
			key = aggregatedProposedKey
		}
		done := 0
		for _, r := range same {
			if r.State == store.RunFinished {
				done++
			}
		}
		out = append(out, vcs.CommitStatus{Key: key, State: summarize(same), Name: "orbit " + string(run.Kind) + " runs",
			Description: fmt.Sprintf("%d of %d %s run(s) finished", done, len(same), run.Kind),
			URL:         s.publicURL + "/api/v1/runs?commit=" + run.Commit})
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// PosterFor builds the status poster of an integration through its kind. A
// permanent reason not to post (unknown kind, private:// host, unusable
// credential) is a *vcs.StatusRefusal.
func (s *Worker) PosterFor(in store.Integration, run store.Run) (vcs.StatusPoster, error) {
	kind, err := vcs.Lookup(in.Provider)
	if err != nil {
		return nil, &vcs.StatusRefusal{Msg: err.Error() + ": commit statuses are not posted"}
	}
	credential, err := s.box.Credential(in)
	if err != nil {
		return nil, err
	}
	return kind.NewStatusPoster(s.env, in, credential, run)
}

// permanentStatusError reports an answer retrying cannot change: Bitbucket refused the
// credential (401), the permission (403) or the repository/commit (404), or the
// request was invalid before it was sent.
func permanentStatusError(err error) (string, bool) {
	var refusal *vcs.StatusRefusal
	if errors.As(err, &refusal) {
		return refusal.Msg, true
	}
	var validation *bitbucket.ValidationError
	if errors.As(err, &validation) {
		return "the commit status was not sent: " + validation.Error(), true
	}
	if apiErr, ok := bitbucket.AsAPIError(err); ok {
		switch apiErr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest:
			return fmt.Sprintf("Bitbucket refused the commit status (%d): %s", apiErr.StatusCode, apiErr.Message), true
		}
	}
	return "", false
}

// handleStatusJobs posts the statuses of the claimed runs one after the other.
// The jobs of the runs that are done are deleted together at the end (one
// commit for the claim). The lease covers every job of the claim, so a job is
// only started while a third of the lease is left for its posts and its removal
// to finish within it: later ones are handed back at once, to this or another
// worker, instead of being claimed twice.
func (s *Worker) handleStatusJobs(ctx context.Context, jobs []store.Job) {
	claimed := time.Now()
	postBudget := min(statusPostTimeout, s.queue.lease/3)
	integrations := integrationCache{}
	s.addRunLinks(ctx, jobs)
	var finished []string
	for i, job := range jobs {
		if ctx.Err() != nil || time.Since(claimed) > s.queue.lease/3 {
			s.releaseJobs(ctx, jobs[i:])
			break
		}
		if s.handleStatusJob(ctx, job, integrations, postBudget) {
			finished = append(finished, job.ID)
		}
	}
	if len(finished) == 0 {
		return
	}
	// Not ctx: on shutdown the posts already made must not be made again.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(10*time.Second, s.queue.lease/3))
	defer cancel()
	if err := s.store.DeleteJobs(dctx, finished...); err != nil {
		s.logger.Error("queue: delete finished status jobs", "jobs", len(finished), "error", err.Error())
	}
}

// addRunLinks makes the run page links of the jobs' runs in one transaction. A
// failure only costs time: each status then makes its run's link itself.
func (s *Worker) addRunLinks(ctx context.Context, jobs []store.Job) {
	if s.runLinks == nil || s.runLink == nil {
		return
	}
	ids := make([]string, 0, len(jobs))
	for _, j := range jobs {
		ids = append(ids, j.SubjectID)
	}
	if err := s.runLinks(ctx, ids); err != nil && ctx.Err() == nil {
		s.logger.Warn("queue: make the run page links of a batch", "runs", len(ids), "error", err.Error())
	}
}

// handleStatusJob posts the commit statuses of a run as they stand now (so a late
// INPROGRESS job after the result posts the final state, never an older one) and
// says whether the job is finished (to be deleted). A refusal for good is recorded
// on the run and not retried; anything else is retried with backoff from the
// queue, and never holds up ingest.
func (s *Worker) handleStatusJob(ctx context.Context, job store.Job, integrations integrationCache, budget time.Duration) bool {
	run, err := s.store.GetRun(ctx, job.SubjectID)
	if errors.Is(err, store.ErrNotFound) {
		s.metrics.StatusPost("", "skipped")
		return true // the stack was deleted with its runs
	}
	if err != nil {
		s.retryJob(ctx, job, err)
		return false
	}
	var product store.Provider
	giveUp := func(outcome, msg string) bool {
		if err := s.store.SetRunStatusError(ctx, run.ID, msg); err != nil {
			s.retryJob(ctx, job, err)
			return false
		}
		s.metrics.StatusPost(product, outcome)
		s.logger.Warn("commit status not posted", "run_id", run.ID, "reason", msg)
		return true
	}
	in, err := integrations.get(ctx, s.store, run.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return giveUp("skipped", "the integration was deleted: commit statuses are not posted")
	}
	if err != nil {
		s.retryJob(ctx, job, err)
		return false
	}
	product = in.Provider
	err = s.postStatuses(ctx, in, run, budget)
	if err == nil {
		if run.StatusError != "" {
			_ = s.store.SetRunStatusError(ctx, run.ID, "")
		}
		s.metrics.StatusPost(product, "posted")
		return true
	}
	if msg, permanent := permanentStatusError(err); permanent {
		return giveUp("refused", msg)
	}
	var noAgent *vcs.NoAgentError
	if errors.As(err, &noAgent) {
		// No agent of the pool is connected to this replica: the status waits in
		// the queue (any replica may take it next), however long that takes; it is
		// not an attempt at Bitbucket, so it never abandons the job. Retention
		// removing the run ends the wait. The claim is not counted either: an
		// outage of any length leaves the job all its attempts for after it.
		s.logger.Info("commit status waits for a VCS agent", "run_id", run.ID, "pool", noAgent.Pool)
		s.metrics.StatusPost(product, "waiting")
		s.postponeJob(ctx, job, s.agentWait)
		return false
	}
	if job.Attempts >= maxStatusAttempts {
		return giveUp("abandoned", fmt.Sprintf("the commit status was not posted after %d attempts: %v", job.Attempts, err))
	}
	s.logger.Info("commit status post failed; retrying", "run_id", run.ID, "attempt", job.Attempts, "error", err.Error())
	s.metrics.StatusPost(product, "retry")
	s.retryStatusJob(ctx, job, err)
	return false
}

func (s *Worker) postStatuses(ctx context.Context, in store.Integration, run store.Run, budget time.Duration) error {
	post, err := s.PosterFor(in, run)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	statuses, err := s.statusesFor(ctx, in, run)
	if err != nil {
		return err
	}
	// Another worker may post a newer state of the same status meanwhile (the run's
	// result arrived, or another run of the commit changed the aggregate); if ours
	// lands last it would stick. So after posting, look again, and post again until
	// what was posted is what the runs say now.
	for range maxStatusRechecks {
		for _, st := range statuses {
			if err := post(ctx, st); err != nil {
				return err
			}
		}
		current, err := s.store.GetRun(ctx, run.ID)
		if err != nil {
			return err
		}
		now, err := s.statusesFor(ctx, in, current)
		if err != nil {
			return err
		}
		if slices.Equal(now, statuses) {
			return nil
		}
		run, statuses = current, now
	}
	return nil
}

// maxStatusRechecks bounds the post-and-look-again loop of postStatuses.
const maxStatusRechecks = 5
