package api

import (
	"context"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// The wire types are apiwire's (one definition for the server, the client and
// the demo).
type (
	stackRequest  = apiwire.StackRequest
	stackResponse = apiwire.Stack
)

func toStackResponse(st store.Stack) stackResponse {
	return stackResponse{
		ID:          st.ID,
		Name:        st.Name,
		SpaceID:     st.SpaceID,
		Description: st.Description,
		Labels:      orEmpty(st.Labels),
		CreatedAt:   wireTime(st.CreatedAt),
		UpdatedAt:   wireTime(st.UpdatedAt),
	}
}

// validateStack checks the body; the caller must hold write on the target space.
func validateStack(req *stackRequest, p *principal, lim limits) (store.Stack, error) {
	if err := validateDisplayName("name", req.Name); err != nil {
		return store.Stack{}, err
	}
	if err := checkSizes(sizeRule{"space_id", req.SpaceID, maxIDLen}); err != nil {
		return store.Stack{}, err
	}
	if req.SpaceID == "" {
		return store.Stack{}, invalidArg("space_id", "space_id is required")
	}
	rank, err := p.EffectiveRole(req.SpaceID)
	if err != nil {
		return store.Stack{}, err
	}
	if rank < roleRank[store.RoleRead] {
		return store.Stack{}, invalidArg("space_id", "space %q does not exist", req.SpaceID)
	}
	if rank < roleRank[store.RoleWrite] {
		ae := errPermission("this operation needs the write role on the stack's space")
		ae.Field = "space_id"
		return store.Stack{}, ae
	}
	if err := validateDescription(req.Description); err != nil {
		return store.Stack{}, err
	}
	labels, err := lim.labels(req.Labels)
	if err != nil {
		return store.Stack{}, err
	}
	return store.Stack{Name: req.Name, SpaceID: req.SpaceID, Description: req.Description, Labels: labels}, nil
}

// decodeStack reads the body of POST or PUT and validates it.
func decodeStack(r *http.Request, p *principal, lim limits) (store.Stack, error) {
	var req stackRequest
	if err := decodeBody(r, &req); err != nil {
		return store.Stack{}, err
	}
	return validateStack(&req, p, lim)
}

func (s *API) createStack(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := decodeStack(r, p, s.limits)
	if err != nil {
		return err
	}
	return s.respondCreated(w, r, http.StatusCreated, func(ctx context.Context) (any, error) {
		created, err := s.store.CreateStack(ctx, st)
		if err != nil {
			return nil, err
		}
		return toStackResponse(created), nil
	})
}

// readableStack loads a stack, answering 404 when the caller cannot read its space.
func (s *API) readableStack(r *http.Request, p *principal) (store.Stack, error) {
	st, err := s.store.GetStack(r.Context(), r.PathValue("id"))
	if err != nil {
		return store.Stack{}, err
	}
	if ok, err := p.Can(st.SpaceID, store.RoleRead); err != nil {
		return store.Stack{}, err
	} else if !ok {
		return store.Stack{}, errNotFound("stack")
	}
	return st, nil
}

// writableStack is readableStack plus the write role on its space.
func (s *API) writableStack(r *http.Request, p *principal) (store.Stack, error) {
	st, err := s.readableStack(r, p)
	if err != nil {
		return st, err
	}
	if err := p.RequireRole(st.SpaceID, store.RoleWrite, "stack"); err != nil {
		return st, err
	}
	return st, nil
}

func (s *API) getStack(w http.ResponseWriter, r *http.Request, p *principal) error {
	st, err := s.readableStack(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toStackResponse(st))
	return nil
}

func (s *API) listStacks(w http.ResponseWriter, r *http.Request, p *principal) error {
	lp, err := parseListParams(r, s.limits)
	if err != nil {
		return err
	}
	resp := listResponse[stackResponse]{Items: []stackResponse{}}
	f, ok, err := lp.filter(p)
	if err != nil {
		return err
	}
	if ok {
		stacks, next, err := s.store.ListStacks(r.Context(), f)
		if err != nil {
			return err
		}
		for _, st := range stacks {
			resp.Items = append(resp.Items, toStackResponse(st))
		}
		resp.NextPageToken = next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *API) updateStack(w http.ResponseWriter, r *http.Request, p *principal) error {
	current, err := s.writableStack(r, p)
	if err != nil {
		return err
	}
	st, err := decodeStack(r, p, s.limits)
	if err != nil {
		return err
	}
	st.ID = current.ID
	st.CreatedAt = current.CreatedAt
	if st.SpaceID != current.SpaceID {
		if err := s.bindingStaysVisible(r, p, st); err != nil {
			return err
		}
	}
	updated, err := s.store.UpdateStack(r.Context(), st)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toStackResponse(updated))
	return nil
}

func (s *API) deleteStack(w http.ResponseWriter, r *http.Request, p *principal) error {
	current, err := s.writableStack(r, p)
	if err != nil {
		return err
	}
	if err := s.store.DeleteStack(r.Context(), current.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bindingStaysVisible refuses to move a stack to a space from which the integration of
// its attached binding is not visible.
func (s *API) bindingStaysVisible(r *http.Request, p *principal, moved store.Stack) error {
	b, err := s.store.GetStackBinding(r.Context(), moved.ID)
	if isNotFound(err) || err == nil && b.Status != store.BindingAttached {
		return nil
	}
	if err != nil {
		return err
	}
	in, err := s.store.GetIntegration(r.Context(), b.IntegrationID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	visible, err := integrationVisibleFrom(p, in, moved.SpaceID)
	if err != nil {
		return err
	}
	if !visible {
		return invalidArg("space_id", "the stack's VCS binding uses integration %q, which is not visible from space %q: bind the stack to another integration first", in.Name, moved.SpaceID)
	}
	return nil
}
