package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/auth"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// The wire types are apiwire's (one definition for the server, the client and
// the demo).
type (
	roleBindingJSON = apiwire.RoleBinding
	apiKeyRequest   = apiwire.APIKeyRequest
	apiKeyResponse  = apiwire.APIKey
)

func toAPIKeyResponse(k store.APIKey) apiKeyResponse {
	roles := make([]roleBindingJSON, 0, len(k.Roles))
	for _, b := range k.Roles {
		roles = append(roles, roleBindingJSON{SpaceID: b.SpaceID, Role: string(b.Role)})
	}
	return apiKeyResponse{ID: k.ID, Name: k.Name, Roles: roles, CreatedAt: wireTime(k.CreatedAt)}
}

// requireKeyAdmin: every API key operation needs admin on root.
func requireKeyAdmin(p *principal) error {
	if !p.RootAdmin() {
		return errPermission("managing API keys needs the admin role on the root space")
	}
	return nil
}

func (s *API) createAPIKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := requireKeyAdmin(p); err != nil {
		return err
	}
	var req apiKeyRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := validateDisplayName("name", req.Name); err != nil {
		return err
	}
	if len(req.Roles) == 0 {
		return invalidArg("roles", "roles must hold at least one {space_id, role}")
	}
	if len(req.Roles) > maxRolesPerKey {
		return invalidArg("roles", "roles holds at most %d entries", maxRolesPerKey)
	}
	bindings := make([]store.RoleBinding, 0, len(req.Roles))
	seen := map[string]bool{}
	for i, b := range req.Roles {
		if err := checkSizes(sizeRule{fmt.Sprintf("roles[%d].space_id", i), b.SpaceID, maxIDLen}); err != nil {
			return err
		}
		if ok, err := p.Exists(b.SpaceID); err != nil {
			return err
		} else if !ok {
			return invalidArg(fmt.Sprintf("roles[%d].space_id", i), "space %q does not exist", b.SpaceID)
		}
		role := store.Role(b.Role)
		if roleRank[role] == 0 {
			return invalidArg(fmt.Sprintf("roles[%d].role", i), "role must be one of read, write, admin")
		}
		if seen[b.SpaceID] {
			return invalidArg(fmt.Sprintf("roles[%d].space_id", i), "space %q is listed twice", b.SpaceID)
		}
		seen[b.SpaceID] = true
		bindings = append(bindings, store.RoleBinding{SpaceID: b.SpaceID, Role: role})
	}
	key, id, hash, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	return s.respondCreated(w, r, http.StatusCreated, func(ctx context.Context) (any, error) {
		created, err := s.store.CreateAPIKey(ctx, store.APIKey{ID: id, Name: req.Name, SecretHash: hash, Roles: bindings})
		if err != nil {
			return nil, err
		}
		resp := toAPIKeyResponse(created)
		resp.Key = key
		return resp, nil
	})
}

func (s *API) listAPIKeys(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := requireKeyAdmin(p); err != nil {
		return err
	}
	keys, err := s.store.ListAPIKeys(r.Context())
	if err != nil {
		return err
	}
	resp := listResponse[apiKeyResponse]{Items: make([]apiKeyResponse, 0, len(keys))}
	for _, k := range keys {
		resp.Items = append(resp.Items, toAPIKeyResponse(k))
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *API) getAPIKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := requireKeyAdmin(p); err != nil {
		return err
	}
	k, err := s.store.GetAPIKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAPIKeyResponse(k))
	return nil
}

func (s *API) deleteAPIKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := requireKeyAdmin(p); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == p.Key().ID {
		return errConflict("", "an API key cannot delete itself")
	}
	if err := s.store.DeleteAPIKey(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
