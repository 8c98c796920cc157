package store

import (
	"context"
	"time"
)

// VCSAgentPool is a group of VCS agents: processes inside a private network that
// connect out to orbit-server and carry its Bitbucket API calls for the Data
// Center integrations whose api_host is private://<Name>. Names are unique across
// the server (the api_host names the pool by name alone, as a webhook URL names an
// integration).
type VCSAgentPool struct {
	ID          string
	Name        string
	SpaceID     string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// VCSAgentPoolToken is the stored half of a pool token: what an agent presents to
// connect. The store keeps only the SHA-256 of its secret part.
type VCSAgentPoolToken struct {
	ID          string
	PoolID      string
	Description string
	SecretHash  []byte
	CreatedAt   time.Time
	// ExpiresAt is when the token stops working (zero: never). Rotation sets it on
	// the token it replaces: the grace period's end.
	ExpiresAt time.Time
}

// MaxVCSAgentPoolTokens is the most tokens one pool may hold (expired ones are
// dropped first when a token is issued).
const MaxVCSAgentPoolTokens = 200

// VCSAgentPoolStore keeps pools and their tokens.
type VCSAgentPoolStore interface {
	// CreateVCSAgentPool: *ConflictError{Field: "name"} when the name is taken.
	CreateVCSAgentPool(ctx context.Context, p VCSAgentPool) (VCSAgentPool, error)
	GetVCSAgentPool(ctx context.Context, id string) (VCSAgentPool, error)
	GetVCSAgentPoolByName(ctx context.Context, name string) (VCSAgentPool, error)
	// ListVCSAgentPools honours SpaceIDs, ReadableBy, Name and paging (pools have no
	// labels: a Labels filter matches nothing).
	ListVCSAgentPools(ctx context.Context, f ListFilter) ([]VCSAgentPool, string, error)
	// UpdateVCSAgentPool replaces SpaceID and Description (the name is fixed: the
	// integrations name the pool by it).
	UpdateVCSAgentPool(ctx context.Context, p VCSAgentPool) (VCSAgentPool, error)
	// DeleteVCSAgentPool deletes the pool and its tokens: a *ConflictError{Field: ""}
	// while an integration's api_host names it.
	DeleteVCSAgentPool(ctx context.Context, id string) error
	// IntegrationsUsingVCSAgentPool lists the integrations whose api_host is
	// private://<poolName>, by name.
	IntegrationsUsingVCSAgentPool(ctx context.Context, poolName string) ([]Integration, error)

	// CreateVCSAgentPoolToken stores t (ID filled when empty) after dropping the
	// pool's expired tokens; a pool holding MaxVCSAgentPoolTokens live tokens is a
	// *QuotaError. A missing pool is a *NotFoundError{Kind: "vcs_agent_pool"}.
	CreateVCSAgentPoolToken(ctx context.Context, t VCSAgentPoolToken) (VCSAgentPoolToken, error)
	// GetVCSAgentPoolToken returns a token by id, expired or not.
	GetVCSAgentPoolToken(ctx context.Context, id string) (VCSAgentPoolToken, error)
	// ListVCSAgentPoolTokens lists a pool's tokens, oldest first.
	ListVCSAgentPoolTokens(ctx context.Context, poolID string) ([]VCSAgentPoolToken, error)
	// DeleteVCSAgentPoolToken revokes a token of the pool at once.
	DeleteVCSAgentPoolToken(ctx context.Context, poolID, id string) error
	// RotateVCSAgentPoolToken stores next and makes token oldID of the same pool
	// expire at previousUntil (or earlier, when it already expires sooner), in one
	// transaction.
	RotateVCSAgentPoolToken(ctx context.Context, oldID string, next VCSAgentPoolToken, previousUntil time.Time) (VCSAgentPoolToken, error)
}
