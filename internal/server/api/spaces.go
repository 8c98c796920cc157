package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// The wire types are apiwire's (one definition for the server, the client and
// the demo).
type (
	spaceRequest  = apiwire.SpaceRequest
	spaceResponse = apiwire.Space
)

func toSpaceResponse(sp store.Space) spaceResponse {
	return spaceResponse{
		ID:              sp.ID,
		Name:            sp.Name,
		ParentSpaceID:   sp.ParentSpaceID,
		InheritEntities: sp.InheritEntities,
		Description:     sp.Description,
		Labels:          orEmpty(sp.Labels),
		CreatedAt:       wireTime(sp.CreatedAt),
		UpdatedAt:       wireTime(sp.UpdatedAt),
	}
}

// validateSpace checks the body and resolves the parent; the caller must hold admin on it
// unless it is the space's current parent (an update that does not move the space).
func validateSpace(req *spaceRequest, p *principal, lim limits, currentParent string) (store.Space, error) {
	if err := validateDisplayName("name", req.Name); err != nil {
		return store.Space{}, err
	}
	if err := checkSizes(sizeRule{"parent_space_id", req.ParentSpaceID, maxIDLen}); err != nil {
		return store.Space{}, err
	}
	if err := validateDescription(req.Description); err != nil {
		return store.Space{}, err
	}
	labels, err := lim.labels(req.Labels)
	if err != nil {
		return store.Space{}, err
	}
	if req.ParentSpaceID == "" {
		req.ParentSpaceID = store.RootSpaceID
	}
	exists, err := p.Exists(req.ParentSpaceID)
	if err != nil {
		return store.Space{}, err
	}
	rank, err := p.EffectiveRole(req.ParentSpaceID)
	if err != nil {
		return store.Space{}, err
	}
	moving := req.ParentSpaceID != currentParent
	if !exists || (moving && rank < roleRank[store.RoleRead]) {
		return store.Space{}, invalidArg("parent_space_id", "parent space %q does not exist", req.ParentSpaceID)
	}
	if moving && rank < roleRank[store.RoleAdmin] {
		ae := errPermission("creating or moving a space needs the admin role on its parent space")
		ae.Field = "parent_space_id"
		return store.Space{}, ae
	}
	return store.Space{
		Name:            req.Name,
		ParentSpaceID:   req.ParentSpaceID,
		InheritEntities: req.InheritEntities,
		Description:     req.Description,
		Labels:          labels,
	}, nil
}

// decodeSpace reads the body of POST or PUT and validates it (currentParent is ""
// on create).
func decodeSpace(r *http.Request, p *principal, lim limits, currentParent string) (store.Space, error) {
	var req spaceRequest
	if err := decodeBody(r, &req); err != nil {
		return store.Space{}, err
	}
	return validateSpace(&req, p, lim, currentParent)
}

func (s *API) createSpace(w http.ResponseWriter, r *http.Request, p *principal) error {
	sp, err := decodeSpace(r, p, s.limits, "")
	if err != nil {
		return err
	}
	// A space that does not inherit gives its parent's admins no role in it: its
	// creator would lose access at once. The creator's key gets admin on it, in the
	// same transaction (an admin of root is admin everywhere already).
	if !sp.InheritEntities && !p.RootAdmin() {
		sp.GrantAdminTo = p.Key().ID
	}
	return s.respondCreated(w, r, http.StatusCreated, func(ctx context.Context) (any, error) {
		created, err := s.store.CreateSpace(ctx, sp)
		if err != nil {
			return nil, err
		}
		return toSpaceResponse(created), nil
	})
}

func (s *API) getSpace(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if ok, err := p.Can(id, store.RoleRead); err != nil {
		return err
	} else if !ok {
		return errNotFound("space")
	}
	sp, err := s.store.GetSpace(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSpaceResponse(sp))
	return nil
}

func (s *API) listSpaces(w http.ResponseWriter, r *http.Request, p *principal) error {
	lp, err := parseListParams(r, s.limits)
	if err != nil {
		return err
	}
	resp := listResponse[spaceResponse]{Items: []spaceResponse{}}
	f, ok, err := lp.filter(p)
	if err != nil {
		return err
	}
	if ok {
		spaces, next, err := s.store.ListSpaces(r.Context(), f)
		if err != nil {
			return err
		}
		for _, sp := range spaces {
			resp.Items = append(resp.Items, toSpaceResponse(sp))
		}
		resp.NextPageToken = next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// adminSpace is the space named in the path, when the caller is admin on it (404
// when it does not exist or the caller cannot read it).
func adminSpace(r *http.Request, p *principal) (store.Space, error) {
	id := r.PathValue("id")
	if err := p.RequireRole(id, store.RoleAdmin, "space"); err != nil {
		return store.Space{}, err
	}
	chain, err := p.Ancestry(id)
	if err != nil {
		return store.Space{}, err
	}
	return chain[0], nil
}

func (s *API) updateSpace(w http.ResponseWriter, r *http.Request, p *principal) error {
	current, err := adminSpace(r, p)
	if err != nil {
		return err
	}
	id := current.ID
	if id == store.RootSpaceID {
		return errConflict("", "the root space cannot be changed")
	}
	sp, err := decodeSpace(r, p, s.limits, current.ParentSpaceID)
	if err != nil {
		return err
	}
	// A space cannot move under itself or one of its descendants.
	ancestors, err := p.Ancestry(sp.ParentSpaceID)
	if err != nil {
		return err
	}
	for _, ancestor := range ancestors {
		if ancestor.ID == id {
			return invalidArg("parent_space_id", "a space cannot be moved under itself or one of its descendants")
		}
	}
	sp.ID = current.ID
	sp.CreatedAt = current.CreatedAt
	updated, err := s.store.UpdateSpace(r.Context(), sp)
	var ce *store.ConflictError
	if errors.As(err, &ce) && ce.Field == "parent_space_id" {
		// Another move committed between the check above and this write, and the two
		// together would make a cycle: the store refused this one. The loser of the
		// race gets the answer the check gives (API.md), not a 409.
		return invalidArg("parent_space_id", "a space cannot be moved under itself or one of its descendants")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toSpaceResponse(updated))
	return nil
}

func (s *API) deleteSpace(w http.ResponseWriter, r *http.Request, p *principal) error {
	current, err := adminSpace(r, p)
	if err != nil {
		return err
	}
	id := current.ID
	if id == store.RootSpaceID {
		return errConflict("", "the root space cannot be deleted")
	}
	if err := s.store.DeleteSpace(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
