package apiwire

// VCSAgentPoolRequest is the body of POST and PUT /vcs-agent-pools (a full
// replacement; the name cannot change, since integrations name the pool by it).
type VCSAgentPoolRequest struct {
	Name        string `json:"name"`
	SpaceID     string `json:"space_id"`
	Description string `json:"description"`
}

// VCSAgentPool is a group of VCS agents: processes inside a private network that
// connect out to orbit-server and carry the Bitbucket calls of the Data Center
// integrations whose api_host is private://<name>.
type VCSAgentPool struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	SpaceID     string `json:"space_id"`
	Description string `json:"description"`
	// ConnectedAgents are the agents of the pool connected now (to any replica
	// this server can see), oldest connection first.
	ConnectedAgents     []ConnectedAgent `json:"connected_agents"`
	ConnectedAgentCount int              `json:"connected_agent_count"`
	CreatedAt           Time             `json:"created_at"`
	UpdatedAt           Time             `json:"updated_at"`
}

// ConnectedAgent is one live connection of an agent of a pool.
type ConnectedAgent struct {
	// ID names the connection (new at every connection).
	ID string `json:"id"`
	// Version is the agent's build, as it announced it.
	Version        string `json:"version"`
	ConnectedSince Time   `json:"connected_since"`
	// Replica names the orbit-server replica the agent is connected to.
	Replica string `json:"replica"`
}

// VCSAgentPoolTokenRequest is the body of POST /vcs-agent-pools/{id}/tokens.
type VCSAgentPoolTokenRequest struct {
	Description string `json:"description,omitempty"`
	// ExpiresInSeconds makes the token stop working that long after it is issued
	// (absent or 0: it works until revoked or rotated).
	ExpiresInSeconds int64 `json:"expires_in_seconds,omitempty"`
}

// VCSAgentPoolTokenRotateRequest is the body of POST
// /vcs-agent-pools/{id}/tokens/{token_id}/rotate.
type VCSAgentPoolTokenRotateRequest struct {
	// GraceSeconds is how long the rotated token keeps working (0: it stops now).
	GraceSeconds int64 `json:"grace_seconds"`
	// Description of the new token (absent: the rotated token's).
	Description string `json:"description,omitempty"`
	// ExpiresInSeconds of the new token, as when issuing one.
	ExpiresInSeconds int64 `json:"expires_in_seconds,omitempty"`
}

// VCSAgentPoolToken describes a pool token. Token, the secret an agent presents,
// is in the answer that issues it and nowhere else: the server keeps only its hash.
type VCSAgentPoolToken struct {
	ID          string `json:"id"`
	PoolID      string `json:"pool_id"`
	Description string `json:"description"`
	CreatedAt   Time   `json:"created_at"`
	// ExpiresAt is null for a token that works until revoked.
	ExpiresAt *Time  `json:"expires_at"`
	Token     string `json:"token,omitempty"`
}

// VCSAgentPoolTokenRotation is the answer to a rotation: the new token (with its
// secret) and the rotated one, which works until its expires_at.
type VCSAgentPoolTokenRotation struct {
	Issued   VCSAgentPoolToken `json:"issued"`
	Previous VCSAgentPoolToken `json:"previous"`
}
