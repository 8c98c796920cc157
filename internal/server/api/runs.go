package api

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
)

// maxRunMessageLen bounds the message of a run result.
const maxRunMessageLen = 4096

// The wire types are apiwire's (one definition for the server, the client and
// the demo).
type (
	runResponse      = apiwire.Run
	runResultRequest = apiwire.RunResultRequest
)

func toRunResponse(r store.Run) runResponse {
	resp := runResponse{
		ID: r.ID, StackID: r.StackID, Kind: string(r.Kind), Commit: r.Commit, Branch: r.Branch,
		State: string(r.State), Message: r.Message, IntegrationID: r.IntegrationID,
		Namespace: r.Namespace, Repository: r.Repository, StatusError: r.StatusError, TriggerReason: r.TriggerReason,
		CreatedAt: wireTime(r.CreatedAt), UpdatedAt: wireTime(r.UpdatedAt),
	}
	if r.PullRequest > 0 {
		pr := r.PullRequest
		resp.PullRequest = &pr
	}
	if r.Result != "" {
		result := string(r.Result)
		resp.Result = &result
	}
	if r.DeliveryID != "" {
		id := r.DeliveryID
		resp.DeliveryID = &id
	}
	resp.TriggeredBy, resp.PullRequestTitle = r.TriggeredBy, r.PullRequestTitle
	if !r.StartedAt.IsZero() {
		at := wireTime(r.StartedAt)
		resp.StartedAt = &at
	}
	if !r.FinishedAt.IsZero() {
		at := wireTime(r.FinishedAt)
		resp.FinishedAt = &at
	}
	return resp
}

var runResults = map[string]store.RunResult{
	"succeeded": store.ResultSucceeded, "failed": store.ResultFailed, "canceled": store.ResultCanceled,
}

// readableRun loads a run, answering 404 when the caller cannot read its stack's space.
func (s *API) readableRun(r *http.Request, p *principal, need store.Role) (store.Run, error) {
	run, err := s.store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return run, err
	}
	st, err := s.store.GetStack(r.Context(), run.StackID)
	if err != nil {
		return run, err
	}
	if ok, err := p.Can(st.SpaceID, store.RoleRead); err != nil {
		return run, err
	} else if !ok {
		return run, errNotFound("run")
	}
	if need != store.RoleRead {
		if err := p.RequireRole(st.SpaceID, need, "run"); err != nil {
			return run, err
		}
	}
	return run, nil
}

func (s *API) getRun(w http.ResponseWriter, r *http.Request, p *principal) error {
	run, err := s.readableRun(r, p, store.RoleRead)
	if err != nil {
		return err
	}
	resp := toRunResponse(run)
	if err := s.withPageURLs(r.Context(), run, &resp); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// reportRunResult is POST /runs/{id}/result: the run finishes, and its final commit
// status is queued in the same transaction.
func (s *API) reportRunResult(w http.ResponseWriter, r *http.Request, p *principal) error {
	run, err := s.readableRun(r, p, store.RoleWrite)
	if err != nil {
		return err
	}
	var req runResultRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	result, ok := runResults[req.Result]
	if !ok {
		return invalidArg("result", "result must be succeeded, failed or canceled")
	}
	if utf8.RuneCountInString(req.Message) > maxRunMessageLen || !utf8.ValidString(req.Message) {
		return invalidArg("message", "message must be valid UTF-8 of at most %d characters", maxRunMessageLen)
	}
	finished, err := s.store.FinishRun(r.Context(), run.ID, result, req.Message)
	if err != nil {
		return err
	}
	s.queue.Wake(store.JobStatus)
	writeJSON(w, http.StatusOK, toRunResponse(finished))
	return nil
}

// startRun is POST /runs/{id}/start: a runner says it started the run, which
// becomes running (its commit status says so). Idempotent: a running run is
// answered as it is; a finished one is a 409 on state.
func (s *API) startRun(w http.ResponseWriter, r *http.Request, p *principal) error {
	run, err := s.readableRun(r, p, store.RoleWrite)
	if err != nil {
		return err
	}
	running, started, err := s.store.StartRun(r.Context(), run.ID)
	if err != nil {
		return err
	}
	if started {
		s.queue.Wake(store.JobStatus)
	}
	writeJSON(w, http.StatusOK, toRunResponse(running))
	return nil
}

func (s *API) writeRuns(w http.ResponseWriter, r *http.Request, f store.RunFilter) error {
	lp, err := parseListParams(r, s.limits)
	if err != nil {
		return err
	}
	f.PageSize, f.PageToken = lp.pageSize, lp.pageToken
	runs, next, err := s.store.ListRuns(r.Context(), f)
	if err != nil {
		return err
	}
	resp := listResponse[runResponse]{Items: []runResponse{}, NextPageToken: next}
	for _, run := range runs {
		resp.Items = append(resp.Items, toRunResponse(run))
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// listStackRuns is GET /stacks/{id}/runs, newest first.
func (s *API) listStackRuns(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.readableStack(r, p)
	if err != nil {
		return err
	}
	return s.writeRuns(w, r, store.RunFilter{StackID: st.ID})
}

// cloudShortHashLen is the length of the commit hashes in Bitbucket Cloud's pull
// request payloads.
const cloudShortHashLen = 12

// listRuns is GET /runs?commit=<sha>[&stack_id=]: the runs of stacks the caller can read.
func (s *API) listRuns(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	commit := q.Get("commit")
	f := store.RunFilter{StackID: q.Get("stack_id")}
	if commit == "" && f.StackID == "" {
		return invalidArg("commit", "commit (or stack_id) is required")
	}
	if commit != "" {
		f.Commits = []string{commit}
		// Bitbucket Cloud's pull request events name the source commit by its first
		// 12 hex digits, and the proposed runs keep it so: a full hash finds them too.
		if len(commit) > cloudShortHashLen {
			f.Commits = append(f.Commits, commit[:cloudShortHashLen])
		}
	}
	if !p.RootAdmin() {
		f.ReadableBy = p.Key().ID
	}
	return s.writeRuns(w, r, f)
}

// startManualRun starts a tracked run of an attached stack on the head of b.Branch:
// the newest commit orbit has heard of on that branch (from a push). Without one (a
// binding made after the last push), it asks Bitbucket for the branch head through
// the integration's kind and says so in the run's trigger_reason (and its page). A branch Bitbucket does not
// have (or will not show) is a 409 naming it; a Bitbucket that cannot be asked is a
// 503 to retry, never a run on a guess. Without a configured checker (nothing to ask
// Bitbucket with) the head stays unknown: 409.
func (s *API) startManualRun(w http.ResponseWriter, r *http.Request, p *principal, st store.Stack, b store.StackBinding) error {
	head, err := s.store.LatestBranchCommit(r.Context(), b.IntegrationID, b.Namespace, b.Repository, b.Branch)
	if err != nil {
		return err
	}
	reason := ""
	if head == "" {
		head, err = s.askBranchHead(r, b)
		if err != nil {
			return err
		}
		reason = "branch head from Bitbucket: no push to " + b.Branch + " had been received"
	}
	run, err := s.store.CreateRun(r.Context(), store.Run{
		StackID: st.ID, IntegrationID: b.IntegrationID, Namespace: b.Namespace, Repository: b.Repository,
		Kind: store.RunTracked, Commit: head, Branch: b.Branch, TriggerReason: reason, TriggeredBy: keyLabel(p),
	})
	if err != nil {
		return err
	}
	s.queue.Wake(store.JobStatus)
	writeJSON(w, http.StatusAccepted, toRunResponse(run))
	return nil
}

// keyLabel names the caller's API key on a run it triggered: "API key <name>"
// (its id when it has no name). Never the secret part.
func keyLabel(p *principal) string {
	k := p.Key()
	if k.Name == "" {
		return "API key " + k.ID
	}
	return "API key " + k.Name
}

// bitbucketRetryAfter is the Retry-After (seconds) of a trigger or binding write
// refused because Bitbucket could not be asked (the check already retried it
// briefly); orbitapi clients retry after it.
const bitbucketRetryAfter = 5

// askBranchHead reads the head of b's branch from Bitbucket with the integration's
// credential (see startManualRun).
func (s *API) askBranchHead(r *http.Request, b store.StackBinding) (string, error) {
	reader, ok := s.checker.(vcs.BranchReader)
	if !ok {
		return "", errConflict("", fmt.Sprintf("no push to %s of %s/%s has been received yet, so its head commit is unknown; push to the branch (the webhook starts a run)",
			b.Branch, b.Namespace, b.Repository))
	}
	in, err := s.store.GetIntegration(r.Context(), b.IntegrationID)
	if err != nil {
		return "", err
	}
	credential, err := s.box.Credential(in)
	if err != nil {
		return "", err
	}
	head, err := reader.BranchHead(r.Context(), in, credential, b.Namespace, b.Repository, b.Branch)
	if err == nil {
		return head, nil
	}
	re := s.logRefError(r, in, b.Namespace, b.Repository, b.Branch, err)
	if re.Reason == vcs.RefUnreachable {
		return "", httpx.Unavailable(re.Message, bitbucketRetryAfter)
	}
	return "", errConflict("branch", re.Message)
}

// logRefError logs why Bitbucket could not tell about namespace/repository (and
// branch, when not "") with the request id, and returns it as a *vcs.RefError (an
// error of another type is taken as unreachable).
func (s *API) logRefError(r *http.Request, in store.Integration, namespace, repository, branch string, err error) *vcs.RefError {
	var re *vcs.RefError
	if !errors.As(err, &re) {
		re = &vcs.RefError{Reason: vcs.RefUnreachable, Detail: err.Error(),
			Message: fmt.Sprintf("Bitbucket could not be asked about %s/%s; try again later", namespace, repository)}
	}
	s.logger.Warn("repository or branch not read from Bitbucket",
		"request_id", httpx.InfoFrom(r.Context()).RequestID,
		"integration_id", in.ID, "namespace", namespace, "repository", repository, "branch", branch,
		"reason", re.Reason, "detail", re.Detail)
	return re
}
