package api

import (
	"fmt"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// triggerStack is POST /stacks/{id}/trigger: a manual run of the stack on the head of
// its binding's branch. A stack without a binding, or whose binding is detached, is
// refused with a 409 before anything else happens.
func (s *API) triggerStack(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.writableStack(r, p)
	if err != nil {
		return err
	}
	b, err := s.store.GetStackBinding(r.Context(), st.ID)
	if err != nil {
		if isNotFound(err) {
			return errConflict("", fmt.Sprintf("stack %q has no VCS binding: bind it to a repository (POST /api/v1/stacks/%s/vcs-binding) before triggering it", st.Name, st.ID))
		}
		return err
	}
	if b.Status != store.BindingAttached {
		return errConflict("", fmt.Sprintf("stack %q is detached: %s. Choose a new integration for its VCS binding (PUT /api/v1/stacks/%s/vcs-binding with another integration_id and If-Match) to re-attach it, then trigger again",
			st.Name, b.DetachedReason, st.ID))
	}
	return s.startManualRun(w, r, p, st, b)
}
