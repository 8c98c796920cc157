package server

import (
	"net/http"
	"sort"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// whoamiResponse is GET /api/v1/whoami: the calling key and its effective role on
// every space it can read. Clients (the Terraform provider) call it to tell orbit-server
// from another HTTP service, and to know whether a 404 on an object means "deleted"
// (the key can read the object's space) or "not visible to this key".
type whoamiResponse struct {
	ID     string        `json:"id"`
	Name   string        `json:"name"`
	Spaces []whoamiSpace `json:"spaces"`
}

type whoamiSpace struct {
	SpaceID string `json:"space_id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
}

var rankRole = map[int]store.Role{1: store.RoleRead, 2: store.RoleWrite, 3: store.RoleAdmin}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, p *principal) error {
	resp := whoamiResponse{ID: p.key.ID, Name: p.key.Name, Spaces: []whoamiSpace{}}
	for id, sp := range p.spaces {
		if role, ok := rankRole[p.effectiveRole(id)]; ok {
			resp.Spaces = append(resp.Spaces, whoamiSpace{SpaceID: id, Name: sp.Name, Role: string(role)})
		}
	}
	sort.Slice(resp.Spaces, func(i, j int) bool { return resp.Spaces[i].SpaceID < resp.Spaces[j].SpaceID })
	writeJSON(w, http.StatusOK, resp)
	return nil
}
