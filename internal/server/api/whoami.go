package api

import (
	"net/http"
	"sort"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// The wire types are apiwire's (one definition for the server, the client and
// the demo).
type (
	whoamiResponse = apiwire.Whoami
	whoamiSpace    = apiwire.SpaceAccess
)

var rankRole = map[int]store.Role{1: store.RoleRead, 2: store.RoleWrite, 3: store.RoleAdmin}

func (s *API) whoami(w http.ResponseWriter, r *http.Request, p *principal) error {
	filter := store.ListFilter{ReadableBy: p.Key().ID, PageSize: 500}
	if p.RootAdmin() {
		filter.ReadableBy = ""
	}
	readable := map[string]store.Space{}
	for {
		page, next, err := s.store.ListSpaces(r.Context(), filter)
		if err != nil {
			return err
		}
		for _, sp := range page {
			readable[sp.ID] = sp
		}
		if next == "" {
			break
		}
		filter.PageToken = next
	}
	// The effective role follows the same rule as principal.effectiveRole, computed
	// over the readable spaces at once: a space reached through inherit_entities has
	// its parent among them.
	ranks := map[string]int{}
	var rank func(id string) int
	rank = func(id string) int {
		if got, ok := ranks[id]; ok {
			return got
		}
		ranks[id] = 0 // guards against a cycle the store would never hold
		sp, ok := readable[id]
		if !ok {
			return 0
		}
		best := p.DirectRank(id)
		if sp.InheritEntities && sp.ParentSpaceID != "" {
			best = max(best, rank(sp.ParentSpaceID))
		}
		ranks[id] = best
		return best
	}
	resp := whoamiResponse{ID: p.Key().ID, Name: p.Key().Name, Spaces: []whoamiSpace{}}
	for id, sp := range readable {
		r := rank(id)
		if p.RootAdmin() {
			r = roleRank[store.RoleAdmin]
		}
		if role, ok := rankRole[r]; ok {
			resp.Spaces = append(resp.Spaces, whoamiSpace{SpaceID: id, Name: sp.Name, Role: string(role)})
		}
	}
	sort.Slice(resp.Spaces, func(i, j int) bool { return resp.Spaces[i].SpaceID < resp.Spaces[j].SpaceID })
	writeJSON(w, http.StatusOK, resp)
	return nil
}
