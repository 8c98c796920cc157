package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcsagent/pooltoken"
)

// VCS agent pools follow the integrations' rules: reading one needs read on its
// space, managing it (and its tokens) admin. Names are unique across the server,
// since an integration's api_host names the pool by name alone (private://<name>).

const (
	// maxTokenLifetime bounds expires_in_seconds (ten years).
	maxTokenLifetime = 10 * 365 * 24 * time.Hour
	// maxRotationGrace bounds grace_seconds (thirty days).
	maxRotationGrace = 30 * 24 * time.Hour
)

func (s *API) toPoolResponse(p store.VCSAgentPool) apiwire.VCSAgentPool {
	agents := s.agents.ConnectedAgents(p.ID)
	if agents == nil {
		agents = []apiwire.ConnectedAgent{}
	}
	return apiwire.VCSAgentPool{
		ID: p.ID, Name: p.Name, SpaceID: p.SpaceID, Description: p.Description,
		ConnectedAgents: agents, ConnectedAgentCount: len(agents),
		CreatedAt: wireTime(p.CreatedAt), UpdatedAt: wireTime(p.UpdatedAt),
	}
}

func toPoolTokenResponse(t store.VCSAgentPoolToken, secret string) apiwire.VCSAgentPoolToken {
	out := apiwire.VCSAgentPoolToken{ID: t.ID, PoolID: t.PoolID, Description: t.Description, CreatedAt: wireTime(t.CreatedAt), Token: secret}
	if !t.ExpiresAt.IsZero() {
		at := wireTime(t.ExpiresAt)
		out.ExpiresAt = &at
	}
	return out
}

// decodePool reads and validates the body of POST or PUT; current is nil on create.
func decodePool(r *http.Request, p *principal, current *store.VCSAgentPool) (store.VCSAgentPool, error) {
	var req apiwire.VCSAgentPoolRequest
	if err := decodeBody(r, &req); err != nil {
		return store.VCSAgentPool{}, err
	}
	if err := checkSizes(
		sizeRule{"name", req.Name, rules.MaxIntegrationLen},
		sizeRule{"space_id", req.SpaceID, maxIDLen},
		sizeRule{"description", req.Description, maxDescriptionLen},
	); err != nil {
		return store.VCSAgentPool{}, err
	}
	var out store.VCSAgentPool
	if current == nil {
		if req.Name == "" {
			return out, invalidArg("name", "name is required")
		}
		if !rules.Pool.MatchString(req.Name) {
			return out, invalidArg("name", "name must match %s (integrations name the pool in api_host = private://<name>)", rules.PoolPattern)
		}
		out.Name = req.Name
	} else {
		if req.Name != "" && req.Name != current.Name {
			return out, invalidArg("name", "name cannot be changed (integrations name the pool in api_host = private://%s); create a new pool instead", current.Name)
		}
		out = *current
	}
	if req.SpaceID == "" {
		return out, invalidArg("space_id", "space_id is required")
	}
	out.SpaceID = req.SpaceID
	rank, err := p.EffectiveRole(out.SpaceID)
	if err != nil {
		return out, err
	}
	if rank < roleRank[store.RoleRead] {
		return out, invalidArg("space_id", "space %q does not exist", out.SpaceID)
	}
	if rank < roleRank[store.RoleAdmin] {
		ae := errPermission(fmt.Sprintf("managing VCS agent pools needs the admin role on space %q", out.SpaceID))
		ae.Field = "space_id"
		return out, ae
	}
	out.Description = req.Description
	return out, nil
}

func (s *API) createVCSAgentPool(w http.ResponseWriter, r *http.Request, p *principal) error {
	pool, err := decodePool(r, p, nil)
	if err != nil {
		return err
	}
	return s.respondCreated(w, r, http.StatusCreated, func(ctx context.Context) (any, error) {
		created, err := s.store.CreateVCSAgentPool(ctx, pool)
		if err != nil {
			return nil, s.explainPoolConflict(r.Context(), p, pool, err)
		}
		return s.toPoolResponse(created), nil
	})
}

// explainPoolConflict names the pool in the way (id and name) when the caller can
// read it, so that a client can suggest importing it.
func (s *API) explainPoolConflict(ctx context.Context, p *principal, pool store.VCSAgentPool, err error) error {
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Field != "name" {
		return err
	}
	ae := errConflict(ce.Field, ce.Reason)
	other, getErr := s.store.GetVCSAgentPoolByName(ctx, pool.Name)
	if getErr != nil {
		return ae
	}
	if readable, canErr := p.Can(other.SpaceID, store.RoleRead); canErr != nil || !readable {
		return ae
	}
	ae.ExistingID = other.ID
	ae.Message = fmt.Sprintf("a VCS agent pool named %q already exists (id %q)", other.Name, other.ID)
	return ae
}

// readablePool loads the pool of the path, answering 404 when the caller cannot
// read its space.
func (s *API) readablePool(r *http.Request, p *principal) (store.VCSAgentPool, error) {
	pool, err := s.store.GetVCSAgentPool(r.Context(), r.PathValue("id"))
	if err != nil {
		return pool, err
	}
	if ok, err := p.Can(pool.SpaceID, store.RoleRead); err != nil {
		return pool, err
	} else if !ok {
		return pool, errNotFound("VCS agent pool")
	}
	return pool, nil
}

// adminPool is readablePool plus the admin role on its space.
func (s *API) adminPool(r *http.Request, p *principal) (store.VCSAgentPool, error) {
	pool, err := s.readablePool(r, p)
	if err != nil {
		return pool, err
	}
	return pool, p.RequireRole(pool.SpaceID, store.RoleAdmin, "VCS agent pool")
}

func (s *API) getVCSAgentPool(w http.ResponseWriter, r *http.Request, p *principal) error {
	pool, err := s.readablePool(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toPoolResponse(pool))
	return nil
}

func (s *API) listVCSAgentPools(w http.ResponseWriter, r *http.Request, p *principal) error {
	lp, err := parseListParams(r, s.limits)
	if err != nil {
		return err
	}
	if len(lp.labels) > 0 {
		return invalidArg("label", "VCS agent pools carry no labels")
	}
	resp := listResponse[apiwire.VCSAgentPool]{Items: []apiwire.VCSAgentPool{}}
	f, ok, err := lp.filter(p)
	if err != nil {
		return err
	}
	if ok {
		pools, next, err := s.store.ListVCSAgentPools(r.Context(), f)
		if err != nil {
			return err
		}
		for _, pool := range pools {
			resp.Items = append(resp.Items, s.toPoolResponse(pool))
		}
		resp.NextPageToken = next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *API) updateVCSAgentPool(w http.ResponseWriter, r *http.Request, p *principal) error {
	current, err := s.adminPool(r, p)
	if err != nil {
		return err
	}
	pool, err := decodePool(r, p, &current)
	if err != nil {
		return err
	}
	if pool.SpaceID != current.SpaceID {
		users, err := s.store.IntegrationsUsingVCSAgentPool(r.Context(), pool.Name)
		if err != nil {
			return err
		}
		for _, in := range users {
			visible, err := poolVisibleFrom(p, pool, in.SpaceID)
			if err != nil {
				return err
			}
			if !visible {
				return invalidArg("space_id", "integration %q (space %q) reaches Bitbucket through this pool, which would not be visible from its space in space %q: move or change the integration first",
					in.Name, in.SpaceID, pool.SpaceID)
			}
		}
	}
	updated, err := s.store.UpdateVCSAgentPool(r.Context(), pool)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.toPoolResponse(updated))
	return nil
}

func (s *API) deleteVCSAgentPool(w http.ResponseWriter, r *http.Request, p *principal) error {
	pool, err := s.adminPool(r, p)
	if err != nil {
		return err
	}
	if err := s.store.DeleteVCSAgentPool(r.Context(), pool.ID); err != nil {
		return err
	}
	s.agents.Disconnect(pool.ID, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// poolVisibleFrom says whether an integration in spaceID may use pool: a pool of
// root from every space (as a default integration is); another from its own space
// and from the spaces below it that inherit entities, all the way up to it (the rule
// of integrations for stacks).
func poolVisibleFrom(p *principal, pool store.VCSAgentPool, spaceID string) (bool, error) {
	if pool.SpaceID == store.RootSpaceID {
		return true, nil
	}
	chain, err := p.Ancestry(spaceID)
	if err != nil {
		return false, err
	}
	for _, sp := range chain {
		if sp.ID == pool.SpaceID {
			return true, nil
		}
		if !sp.InheritEntities {
			break
		}
	}
	return false, nil
}

// checkPrivatePool: an integration whose api_host is private://<pool> must name an
// existing pool the caller can read, visible from the integration's space.
func (s *API) checkPrivatePool(ctx context.Context, p *principal, in store.Integration) error {
	name, ok := strings.CutPrefix(in.APIHost, rules.PrivateHostPrefix)
	if !ok {
		return nil
	}
	pool, err := s.store.GetVCSAgentPoolByName(ctx, name)
	readable := false
	if err == nil {
		readable, err = p.Can(pool.SpaceID, store.RoleRead)
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && !readable {
		return invalidArg("api_host", "api_host names VCS agent pool %q, which does not exist or this key cannot read it: create the pool first (orbit_vcs_agent_pool)", name)
	}
	if err != nil {
		return err
	}
	visible, err := poolVisibleFrom(p, pool, in.SpaceID)
	if err != nil {
		return err
	}
	if !visible {
		return invalidArg("api_host", "VCS agent pool %q lives in space %q, which is not visible from the integration's space %q: use a pool in that space or in a space it inherits from",
			name, pool.SpaceID, in.SpaceID)
	}
	return nil
}

// secondsField checks a number of seconds against its bound.
func secondsField(field string, v int64, bound time.Duration) (time.Duration, error) {
	if v < 0 || v > int64(bound/time.Second) {
		return 0, invalidArg(field, "%s must be from 0 to %d", field, int64(bound/time.Second))
	}
	return time.Duration(v) * time.Second, nil
}

func (s *API) issueVCSAgentPoolToken(w http.ResponseWriter, r *http.Request, p *principal) error {
	pool, err := s.adminPool(r, p)
	if err != nil {
		return err
	}
	var req apiwire.VCSAgentPoolTokenRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	row, secret, err := newPoolToken(pool.ID, req.Description, req.ExpiresInSeconds)
	if err != nil {
		return err
	}
	return s.respondCreated(w, r, http.StatusCreated, func(ctx context.Context) (any, error) {
		created, err := s.store.CreateVCSAgentPoolToken(ctx, row)
		if err != nil {
			return nil, err
		}
		return toPoolTokenResponse(created, secret), nil
	})
}

// newPoolToken validates a token's description and lifetime and mints it.
func newPoolToken(poolID, description string, expiresIn int64) (store.VCSAgentPoolToken, string, error) {
	if err := checkSizes(sizeRule{"description", description, maxDescriptionLen}); err != nil {
		return store.VCSAgentPoolToken{}, "", err
	}
	lifetime, err := secondsField("expires_in_seconds", expiresIn, maxTokenLifetime)
	if err != nil {
		return store.VCSAgentPoolToken{}, "", err
	}
	secret, row, err := pooltoken.New(poolID)
	if err != nil {
		return row, "", err
	}
	row.Description = description
	if lifetime > 0 {
		row.ExpiresAt = time.Now().Add(lifetime)
	}
	return row, secret, nil
}

func (s *API) listVCSAgentPoolTokens(w http.ResponseWriter, r *http.Request, p *principal) error {
	pool, err := s.adminPool(r, p)
	if err != nil {
		return err
	}
	tokens, err := s.store.ListVCSAgentPoolTokens(r.Context(), pool.ID)
	if err != nil {
		return err
	}
	resp := listResponse[apiwire.VCSAgentPoolToken]{Items: []apiwire.VCSAgentPoolToken{}}
	for _, t := range tokens {
		resp.Items = append(resp.Items, toPoolTokenResponse(t, ""))
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *API) revokeVCSAgentPoolToken(w http.ResponseWriter, r *http.Request, p *principal) error {
	pool, err := s.adminPool(r, p)
	if err != nil {
		return err
	}
	if err := s.store.DeleteVCSAgentPoolToken(r.Context(), pool.ID, r.PathValue("token_id")); err != nil {
		if isNotFound(err) {
			return errNotFound("VCS agent pool token")
		}
		return err
	}
	s.agents.Disconnect(pool.ID, r.PathValue("token_id"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *API) rotateVCSAgentPoolToken(w http.ResponseWriter, r *http.Request, p *principal) error {
	pool, err := s.adminPool(r, p)
	if err != nil {
		return err
	}
	var req apiwire.VCSAgentPoolTokenRotateRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	grace, err := secondsField("grace_seconds", req.GraceSeconds, maxRotationGrace)
	if err != nil {
		return err
	}
	oldID := r.PathValue("token_id")
	old, err := s.store.GetVCSAgentPoolToken(r.Context(), oldID)
	if isNotFound(err) || err == nil && old.PoolID != pool.ID {
		return errNotFound("VCS agent pool token")
	}
	if err != nil {
		return err
	}
	description := req.Description
	if description == "" {
		description = old.Description
	}
	row, secret, err := newPoolToken(pool.ID, description, req.ExpiresInSeconds)
	if err != nil {
		return err
	}
	// A retried rotation must not rotate twice: the client would keep a token that
	// is already gone.
	until := time.Now().Add(grace).UTC().Truncate(time.Microsecond)
	return s.respondCreated(w, r, http.StatusOK, func(ctx context.Context) (any, error) {
		issued, err := s.store.RotateVCSAgentPoolToken(ctx, oldID, row, until)
		if isNotFound(err) {
			return nil, errNotFound("VCS agent pool token")
		}
		if err != nil {
			return nil, err
		}
		// What the store wrote (its read would not see this uncommitted write).
		previous := old
		if previous.ExpiresAt.IsZero() || until.Before(previous.ExpiresAt) {
			previous.ExpiresAt = until
		}
		return apiwire.VCSAgentPoolTokenRotation{Issued: toPoolTokenResponse(issued, secret), Previous: toPoolTokenResponse(previous, "")}, nil
	})
}
