package orbitapi

import (
	"context"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

type (
	// VCSAgentPool groups the VCS agents that carry orbit-server's Bitbucket calls
	// for the Data Center integrations whose api_host is private://<name>.
	VCSAgentPool = apiwire.VCSAgentPool
	// VCSAgentPoolRequest is the body of create and of update (a full replacement).
	VCSAgentPoolRequest = apiwire.VCSAgentPoolRequest
	// ConnectedAgent is one live connection of an agent of a pool.
	ConnectedAgent = apiwire.ConnectedAgent
	// VCSAgentPoolToken describes a pool token; Token is set only when it is issued.
	VCSAgentPoolToken = apiwire.VCSAgentPoolToken
	// VCSAgentPoolTokenRequest is the body of IssueToken.
	VCSAgentPoolTokenRequest = apiwire.VCSAgentPoolTokenRequest
	// VCSAgentPoolTokenRotateRequest is the body of RotateToken.
	VCSAgentPoolTokenRotateRequest = apiwire.VCSAgentPoolTokenRotateRequest
	// VCSAgentPoolTokenRotation is the answer of RotateToken.
	VCSAgentPoolTokenRotation = apiwire.VCSAgentPoolTokenRotation
)

// VCSAgentPoolsService manages /vcs-agent-pools.
type VCSAgentPoolsService struct{ client *Client }

func poolPath(id string) string { return "/vcs-agent-pools/" + pathEscape(id) }

// Create makes a pool. Retried with one Idempotency-Key, a create whose answer was
// lost answers the first; a name in use is a 409 (APIError.ExistingID when readable).
func (s *VCSAgentPoolsService) Create(ctx context.Context, in VCSAgentPoolRequest) (*VCSAgentPool, error) {
	var out VCSAgentPool
	if err := s.client.do(ctx, request{method: "POST", path: "/vcs-agent-pools", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *VCSAgentPoolsService) Get(ctx context.Context, id string) (*VCSAgentPool, error) {
	var out VCSAgentPool
	if err := s.client.do(ctx, request{method: "GET", path: poolPath(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *VCSAgentPoolsService) Update(ctx context.Context, id string, in VCSAgentPoolRequest) (*VCSAgentPool, error) {
	var out VCSAgentPool
	if err := s.client.do(ctx, request{method: "PUT", path: poolPath(id), body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *VCSAgentPoolsService) Delete(ctx context.Context, id string) error {
	return s.client.do(ctx, request{method: "DELETE", path: poolPath(id)}, nil)
}

// List returns one page and the token of the next one ("" on the last page).
func (s *VCSAgentPoolsService) List(ctx context.Context, opts ListOptions) ([]VCSAgentPool, string, error) {
	return listPage[VCSAgentPool](ctx, s.client, "/vcs-agent-pools", opts.values())
}

// ListAll returns every pool matching opts, following pages.
func (s *VCSAgentPoolsService) ListAll(ctx context.Context, opts ListOptions) ([]VCSAgentPool, error) {
	return listAll[VCSAgentPool](ctx, s.client, "/vcs-agent-pools", opts.values())
}

// IssueToken issues a pool token; the answer is the only place its secret appears.
func (s *VCSAgentPoolsService) IssueToken(ctx context.Context, poolID string, in VCSAgentPoolTokenRequest) (*VCSAgentPoolToken, error) {
	var out VCSAgentPoolToken
	if err := s.client.do(ctx, request{method: "POST", path: poolPath(poolID) + "/tokens", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTokens lists a pool's tokens, without their secrets.
func (s *VCSAgentPoolsService) ListTokens(ctx context.Context, poolID string) ([]VCSAgentPoolToken, error) {
	var out apiwire.Page[VCSAgentPoolToken]
	if err := s.client.do(ctx, request{method: "GET", path: poolPath(poolID) + "/tokens"}, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// RevokeToken deletes a token: no agent connects with it any more, and the
// sessions it holds on the replica that answers end at once; those on other
// replicas end when those check it again (within a minute).
func (s *VCSAgentPoolsService) RevokeToken(ctx context.Context, poolID, tokenID string) error {
	return s.client.do(ctx, request{method: "DELETE", path: poolPath(poolID) + "/tokens/" + pathEscape(tokenID)}, nil)
}

// RotateToken issues a token in place of tokenID, which keeps working for the grace.
func (s *VCSAgentPoolsService) RotateToken(ctx context.Context, poolID, tokenID string, in VCSAgentPoolTokenRotateRequest) (*VCSAgentPoolTokenRotation, error) {
	var out VCSAgentPoolTokenRotation
	if err := s.client.do(ctx, request{method: "POST", path: poolPath(poolID) + "/tokens/" + pathEscape(tokenID) + "/rotate", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
