package server

import (
	"fmt"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// triggerStack is POST /stacks/{id}/trigger: a manual run of the stack on the head of
// its binding's branch. A stack without a binding, or whose binding is detached, is
// refused with a 409 before anything else happens.
func (s *Server) triggerStack(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.writableStack(r, p)
	if err != nil {
		return err
	}
	b, err := s.store.GetStackBinding(r.Context(), st.ID)
	if err != nil {
		if isNotFound(err) {
			return errConflict("", fmt.Sprintf("stack %q has no VCS binding: bind it to a repository (PUT /api/v1/stacks/%s/vcs-binding) before triggering it", st.Name, st.ID))
		}
		return err
	}
	if b.Status != store.BindingAttached {
		return errConflict("", fmt.Sprintf("stack %q is detached: %s. Choose a new integration for its VCS binding (PUT /api/v1/stacks/%s/vcs-binding with another integration_id) to re-attach it, then trigger again",
			st.Name, b.DetachedReason, st.ID))
	}
	return s.startManualRun(w, r, p, st, b)
}

// startManualRun starts a tracked run of an attached stack on the head of b.Branch and
// answers with it. Runs are built by the webhook receiver work (issue 9); until then
// the route answers 501.
//
//nolint:unparam // w answers with the run once runs exist (issue 9)
func (s *Server) startManualRun(w http.ResponseWriter, r *http.Request, p *principal, st store.Stack, b store.StackBinding) error {
	return &apiError{Status: http.StatusNotImplemented, Code: codeNotImplemented, Message: "manual runs are not implemented yet"}
}
