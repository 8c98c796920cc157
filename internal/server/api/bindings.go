package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsname"
)

const defaultBranch = "main"

// The wire types are apiwire's (one definition for the server, the client and
// the demo).
type (
	bindingRequest  = apiwire.StackVCSBindingRequest
	bindingResponse = apiwire.StackVCSBinding
)

func toBindingResponse(b store.StackBinding) bindingResponse {
	var renamedFrom *apiwire.RepositoryName
	if b.RenamedFromRepository != "" {
		renamedFrom = &apiwire.RepositoryName{Namespace: b.RenamedFromNamespace, Repository: b.RenamedFromRepository}
	}
	return bindingResponse{
		RenamedFrom:            renamedFrom,
		StackID:                b.StackID,
		StackSpaceID:           b.StackSpaceID,
		IntegrationID:          b.IntegrationID,
		ProviderType:           string(b.Provider),
		Namespace:              b.Namespace,
		Repository:             b.Repository,
		Branch:                 b.Branch,
		ProjectRoot:            b.ProjectRoot,
		AdditionalProjectGlobs: append([]string{}, b.AdditionalProjectGlobs...),
		PullRequestRuns:        b.PullRequestRuns,
		Status:                 b.Status,
		DetachedReason:         b.DetachedReason,
		RepositoryURL:          repositoryURL(b),
		Version:                b.Version,
		CreatedAt:              wireTime(b.CreatedAt),
		UpdatedAt:              wireTime(b.UpdatedAt),
	}
}

// repositoryURL is the repository's page for a person, as its kind builds it (""
// for a kind this server does not know).
func repositoryURL(b store.StackBinding) string {
	kind, err := vcs.Lookup(b.Provider)
	if err != nil {
		return ""
	}
	return kind.RepositoryURL(b)
}

// integrationVisibleFrom says whether a stack in spaceID may use in: a default
// integration is visible everywhere; a space integration from its own space and from
// the spaces below it that inherit entities, all the way up to it.
func integrationVisibleFrom(p *principal, in store.Integration, spaceID string) (bool, error) {
	if in.IsDefault {
		return true, nil
	}
	chain, err := p.Ancestry(spaceID) // the space itself first, then up to root
	if err != nil {
		return false, err
	}
	for _, sp := range chain {
		if sp.ID == in.SpaceID {
			return true, nil
		}
		if !sp.InheritEntities {
			break
		}
	}
	return false, nil
}

// bindingFor validates req for stack st: the integration must exist, be readable by
// the caller and visible from the stack's space; names are checked for its product,
// and the repository must exist and be readable with the integration's credential.
func (s *API) bindingFor(r *http.Request, p *principal, st store.Stack, req *bindingRequest) (store.StackBinding, error) {
	if req.IntegrationID == "" {
		return store.StackBinding{}, invalidArg("integration_id", "integration_id is required")
	}
	in, err := s.store.GetIntegration(r.Context(), req.IntegrationID)
	readable := false
	if err == nil {
		readable, err = p.Can(in.SpaceID, store.RoleRead)
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && !readable {
		return store.StackBinding{}, invalidArg("integration_id",
			"integration %q does not exist or this key cannot read it (binding needs read on the integration's space); choose an existing integration", req.IntegrationID)
	}
	if err != nil {
		return store.StackBinding{}, err
	}
	visible, err := integrationVisibleFrom(p, in, st.SpaceID)
	if err != nil {
		return store.StackBinding{}, err
	}
	if !visible {
		return store.StackBinding{}, invalidArg("integration_id",
			"integration %q lives in space %q, which is not visible from the stack's space %q: use a default integration, one in the stack's space, or one in a space it inherits from",
			in.Name, in.SpaceID, st.SpaceID)
	}
	kind, err := vcs.Lookup(in.Provider)
	if err != nil {
		return store.StackBinding{}, invalidArg("integration_id", "%s", err.Error())
	}
	if err := kind.CheckNamespace(req.Namespace); err != nil {
		return store.StackBinding{}, invalidArg("namespace", "namespace %s", err)
	}
	if err := vcsname.CheckRepository(req.Repository); err != nil {
		return store.StackBinding{}, invalidArg("repository", "repository %s", err)
	}
	branch := req.Branch
	if branch == "" {
		branch = defaultBranch
	}
	if err := vcsname.CheckBranch(branch); err != nil {
		return store.StackBinding{}, invalidArg("branch", "branch %s", err)
	}
	if err := vcsname.CheckProjectRoot(req.ProjectRoot); err != nil {
		return store.StackBinding{}, invalidArg("project_root", "project_root %s", err)
	}
	if err := vcsname.CheckProjectGlobs(req.AdditionalProjectGlobs); err != nil {
		return store.StackBinding{}, invalidArg("additional_project_globs", "additional_project_globs%s", globProblem(err))
	}
	if err := s.checkRepository(r, in, req.Namespace, req.Repository); err != nil {
		return store.StackBinding{}, err
	}
	prRuns := true
	if req.PullRequestRuns != nil {
		prRuns = *req.PullRequestRuns
	}
	return store.StackBinding{
		StackID:                st.ID,
		IntegrationID:          in.ID,
		Provider:               in.Provider,
		Namespace:              req.Namespace,
		Repository:             req.Repository,
		Branch:                 branch,
		ProjectRoot:            req.ProjectRoot,
		AdditionalProjectGlobs: req.AdditionalProjectGlobs,
		PullRequestRuns:        prRuns,
	}, nil
}

// stackBinding loads the binding of a stack already authorized, answering 404 when it
// has none.
func (s *API) stackBinding(r *http.Request, st store.Stack) (store.StackBinding, error) {
	b, err := s.store.GetStackBinding(r.Context(), st.ID)
	if errors.Is(err, store.ErrNotFound) {
		return b, errNotFound("VCS binding")
	}
	return b, err
}

func (s *API) getStackBinding(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.readableStack(r, p)
	if err != nil {
		return err
	}
	b, err := s.stackBinding(r, st)
	if err != nil {
		return err
	}
	writeBinding(w, http.StatusOK, b)
	return nil
}

// writeBinding answers with the binding and its version as the ETag.
func writeBinding(w http.ResponseWriter, status int, b store.StackBinding) {
	w.Header().Set("ETag", strconv.Quote(b.Version))
	writeJSON(w, status, toBindingResponse(b))
}

// createStackBinding is POST: it binds a stack that has no binding, and never
// replaces one (409 naming it, so that a second configuration imports it instead of
// taking it over). An Idempotency-Key makes a retried create answer the first one.
func (s *API) createStackBinding(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.writableStack(r, p)
	if err != nil {
		return err
	}
	var req bindingRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	b, err := s.bindingFor(r, p, st, &req)
	if err != nil {
		return err
	}
	err = s.respondCreated(w, r, http.StatusCreated, func(ctx context.Context) (any, error) {
		out, _, err := s.store.SetStackBinding(ctx, b, store.BindingCreateOnly)
		if err != nil {
			return nil, err
		}
		w.Header().Set("ETag", strconv.Quote(out.Version))
		return toBindingResponse(out), nil
	})
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Field == "stack_id" {
		return s.bindingTaken(r, st)
	}
	return bindingWriteError(err, req.IntegrationID)
}

// bindingTaken is the 409 of a create for a stack that has a binding: it names the
// binding in the way (the caller can read it: it may write the stack).
func (s *API) bindingTaken(r *http.Request, st store.Stack) error {
	existing, err := s.store.GetStackBinding(r.Context(), st.ID)
	if err != nil {
		return err
	}
	ae := errConflict("stack_id", fmt.Sprintf(
		"stack %q (%s) already has a VCS binding: %s/%s, branch %q, through integration %q, version %q. A create never replaces it: adopt it (import the binding by the stack id %s) or change it with PUT and If-Match",
		st.Name, st.ID, existing.Namespace, existing.Repository, existing.Branch, existing.IntegrationID, existing.Version, st.ID))
	ae.ExistingID = st.ID
	return ae
}

// replaceStackBinding is PUT: it replaces the binding the caller read, named by
// If-Match (its version, or * for whatever binding the stack has); pointing a
// detached binding at an integration re-attaches it.
func (s *API) replaceStackBinding(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.writableStack(r, p)
	if err != nil {
		return err
	}
	version, ok, err := ifMatch(r)
	if err != nil {
		return err
	}
	if !ok {
		return &apiError{Status: http.StatusPreconditionRequired, Code: httpx.CodePreconditionRequired, Field: "If-Match",
			Message: "replacing a VCS binding needs If-Match with the version read from it (its ETag; * for whatever binding the stack has); create one with POST"}
	}
	var req bindingRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	b, err := s.bindingFor(r, p, st, &req)
	if err != nil {
		return err
	}
	out, _, err := s.store.SetStackBinding(r.Context(), b, version)
	if err != nil {
		return bindingWriteError(err, req.IntegrationID)
	}
	writeBinding(w, http.StatusOK, out)
	return nil
}

// bindingWriteError names the field a failed binding write is about.
func bindingWriteError(err error, integrationID string) error {
	var nf *store.NotFoundError
	switch {
	case errors.As(err, &nf) && nf.Kind == "integration":
		// Deleted between the check and the write.
		return invalidArg("integration_id", "integration %q does not exist; choose an existing integration", integrationID)
	case errors.As(err, &nf) && nf.Kind == "binding":
		return errNotFound("VCS binding")
	case errors.Is(err, store.ErrVersionMismatch):
		return bindingChanged()
	}
	return err
}

func bindingChanged() error {
	return &apiError{Status: http.StatusPreconditionFailed, Code: httpx.CodePreconditionFailed, Field: "If-Match",
		Message: "the VCS binding is not the version named in If-Match: it was replaced, or deleted and made again, since that version was read; read it again"}
}

// deleteStackBinding deletes the binding; with If-Match only the version named.
func (s *API) deleteStackBinding(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.writableStack(r, p)
	if err != nil {
		return err
	}
	version, ok, err := ifMatch(r)
	if err != nil {
		return err
	}
	if !ok {
		version = store.BindingAnyVersion
	}
	if err := s.store.DeleteStackBinding(r.Context(), st.ID, version); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("VCS binding")
		}
		return bindingWriteError(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ifMatch reads the one entity tag of If-Match: a quoted version (a weak W/ prefix
// is accepted, versions are opaque strings either way) or * (store.BindingAnyVersion).
// ok is false when the header is absent.
func ifMatch(r *http.Request) (version string, ok bool, err error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return "", false, nil
	}
	raw := strings.TrimSpace(strings.Join(values, ","))
	if raw == "*" {
		return store.BindingAnyVersion, true, nil
	}
	tag := strings.TrimPrefix(raw, "W/")
	if len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' || strings.ContainsAny(tag[1:len(tag)-1], "\",\\") {
		return "", false, invalidArg("If-Match", "If-Match must be one quoted version as served in the binding's ETag (or *)")
	}
	return tag[1 : len(tag)-1], true, nil
}

// listIntegrationBindings shows what uses an integration (what deleting it would
// detach). Bindings of stacks the caller cannot read are left out, as in every list.
func (s *API) listIntegrationBindings(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.readableIntegration(r, p)
	if err != nil {
		return err
	}
	bindings, err := s.store.ListIntegrationBindings(r.Context(), in.ID)
	if err != nil {
		return err
	}
	resp := listResponse[bindingResponse]{Items: []bindingResponse{}}
	for _, b := range bindings {
		readable, err := p.Can(b.StackSpaceID, store.RoleRead)
		if err != nil {
			return err
		}
		if readable {
			resp.Items = append(resp.Items, toBindingResponse(b))
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// bindingsStayVisible refuses to move an integration (or make it a space integration)
// when a stack bound to it would no longer see it.
func (s *API) bindingsStayVisible(r *http.Request, p *principal, moved store.Integration) error {
	bindings, err := s.store.ListIntegrationBindings(r.Context(), moved.ID)
	if err != nil {
		return err
	}
	for _, b := range bindings {
		visible, err := integrationVisibleFrom(p, moved, b.StackSpaceID)
		if err != nil {
			return err
		}
		if !visible {
			return invalidArg("space_id", "stack %q (space %q) is bound to this integration and would no longer see it; bind that stack to another integration first (GET /api/v1/integrations/%s/bindings lists them)",
				b.StackID, b.StackSpaceID, moved.ID)
		}
	}
	return nil
}

// checkRepository asks Bitbucket, through the integration's kind and credential,
// whether namespace/repository exists and is readable, when the server has a checker
// that can (vcs.RepositoryChecker). A missing or unreadable repository is a 400 on
// repository naming it; a Bitbucket that cannot be asked is a 503 to retry, never a
// binding stored on a guess.
func (s *API) checkRepository(r *http.Request, in store.Integration, namespace, repository string) error {
	checker, ok := s.checker.(vcs.RepositoryChecker)
	if !ok {
		return nil
	}
	credential, err := s.box.Credential(in)
	if err != nil {
		return err
	}
	err = checker.CheckRepository(r.Context(), in, credential, namespace, repository)
	if err == nil {
		return nil
	}
	re := s.logRefError(r, in, namespace, repository, "", err)
	if re.Reason == vcs.RefUnreachable {
		return httpx.Unavailable(re.Message, bitbucketRetryAfter)
	}
	return invalidArg("repository", "%s", re.Message)
}

// globProblem puts a glob list's problem after the field name: "[2] must be ..." or
// " must have at most ...".
func globProblem(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "[") {
		return msg
	}
	return " " + msg
}
