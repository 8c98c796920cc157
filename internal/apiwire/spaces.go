package apiwire

// SpaceRequest is the body of POST and PUT /spaces (a full replacement).
type SpaceRequest struct {
	Name            string   `json:"name"`
	ParentSpaceID   string   `json:"parent_space_id,omitempty"` // empty: root
	InheritEntities bool     `json:"inherit_entities"`
	Description     string   `json:"description"`
	Labels          []string `json:"labels"`
}

// Space is a node of the space tree.
type Space struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	ParentSpaceID   string   `json:"parent_space_id"`
	InheritEntities bool     `json:"inherit_entities"`
	Description     string   `json:"description"`
	Labels          []string `json:"labels"`
	CreatedAt       Time     `json:"created_at"`
	UpdatedAt       Time     `json:"updated_at"`
}

// Whoami is GET /whoami: the calling key and its effective role on every space it
// can read.
type Whoami struct {
	ID     string        `json:"id"`
	Name   string        `json:"name"`
	Spaces []SpaceAccess `json:"spaces"`
}

// RootSpaceID is the space that always exists; default integrations live there.
const RootSpaceID = "root"

// Roles, weakest first.
const (
	RoleRead  = "read"
	RoleWrite = "write"
	RoleAdmin = "admin"
)

var roleRank = map[string]int{RoleRead: 1, RoleWrite: 2, RoleAdmin: 3}

// Role returns the key's effective role on spaceID, or "" when it cannot read it.
// Admin on root is admin everywhere (API.md "Roles"), also on spaces created after
// this answer.
func (w *Whoami) Role(spaceID string) string {
	var role string
	for _, sp := range w.Spaces {
		if sp.SpaceID == RootSpaceID && sp.Role == RoleAdmin {
			return RoleAdmin
		}
		if sp.SpaceID == spaceID {
			role = sp.Role
		}
	}
	return role
}

// Can reports whether the key holds at least role on spaceID.
func (w *Whoami) Can(spaceID, role string) bool {
	return roleRank[w.Role(spaceID)] >= roleRank[role]
}

// SpaceAccess is the key's effective role (read, write or admin) on one space.
type SpaceAccess struct {
	SpaceID string `json:"space_id"`
	Name    string `json:"name"`
	Role    string `json:"role"`
}

// RoleBinding grants an API key a role on a space.
type RoleBinding struct {
	SpaceID string `json:"space_id"`
	Role    string `json:"role"`
}

// APIKeyRequest is the body of POST /api-keys.
type APIKeyRequest struct {
	Name  string        `json:"name"`
	Roles []RoleBinding `json:"roles"`
}

// APIKey is an API key as the API answers it.
type APIKey struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Roles     []RoleBinding `json:"roles"`
	CreatedAt Time          `json:"created_at"`
	// Key is the secret, present only in the answer to POST.
	Key string `json:"key,omitempty"`
}
