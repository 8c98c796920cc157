// Package store is orbit-server's persistence: one interface, implemented on SQLite
// (embedded default) and PostgreSQL, sharing one set of SQL migrations and one
// conformance suite (package storetest).
//
// The store knows nothing of HTTP or roles. It enforces what the database must
// enforce whatever the caller: uniqueness, referential integrity, and atomicity (a
// failed call changes nothing). Secrets reach it already sealed (encrypted) or hashed.
package store

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Errors every implementation returns (wrapped is fine; callers use errors.Is).
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned for a unique violation or a delete blocked by dependants.
	// Implementations wrap it in *ConflictError to say which field.
	ErrConflict = errors.New("conflict")
	// ErrBadPageToken is returned by List methods for a PageToken they did not issue.
	ErrBadPageToken = errors.New("invalid page token")
	// ErrQuota is returned when a write would exceed a Quotas limit. Implementations
	// wrap it in *QuotaError.
	ErrQuota = errors.New("quota exceeded")
	// ErrVersionMismatch is returned by a conditional write whose expected version is
	// not the stored one (the object was changed or re-created since it was read).
	ErrVersionMismatch = errors.New("version mismatch")
)

// Quotas bound what one database may hold; a zero field is no limit. The store
// checks them inside the write's transaction.
type Quotas struct {
	// MaxSpaces is the most spaces besides root.
	MaxSpaces int
	// MaxSpaceDepth is how many levels below root a space may be (a child of root
	// is at depth 1).
	MaxSpaceDepth int
}

// QuotaError says which limit a write would exceed. Field is the request field
// to blame ("parent_space_id" for depth) or "" when the limit is not about one
// field (the number of spaces).
type QuotaError struct {
	Field  string
	Limit  int
	Reason string
}

func (e *QuotaError) Error() string { return e.Reason }
func (e *QuotaError) Unwrap() error { return ErrQuota }

// NotFoundError says which object was missing: the one addressed, or one it
// refers to (e.g. the parent of a new space). It wraps ErrNotFound.
type NotFoundError struct {
	Kind string // "space", "stack", "integration", "api_key"
	ID   string
}

func (e *NotFoundError) Error() string { return e.Kind + " " + strconv.Quote(e.ID) + " not found" }
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// ConflictError says which field caused a conflict (e.g. "name", "is_default").
// Field is "" when the conflict is not about one field (a space that is not
// empty, a change to the root space).
type ConflictError struct {
	Field  string
	Reason string
}

func (e *ConflictError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}
func (e *ConflictError) Unwrap() error { return ErrConflict }

// RootSpaceID is the id of the space every tree starts from. Migrations create it.
const RootSpaceID = "root"

type Space struct {
	ID              string
	Name            string
	ParentSpaceID   string // "" only for root
	InheritEntities bool
	Description     string
	Labels          []string // sorted, unique
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// GrantAdminTo, read by CreateSpace only, is an API key id that gets the admin
	// role on the new space in the same transaction (the creator of a space that
	// does not inherit, who would otherwise lose access to it at once). A missing
	// key is a *NotFoundError{Kind: "api_key"} and creates nothing.
	GrantAdminTo string
}

type Role string

const (
	RoleRead  Role = "read"
	RoleWrite Role = "write"
	RoleAdmin Role = "admin"
)

type RoleBinding struct {
	SpaceID string
	Role    Role
}

type APIKey struct {
	ID         string
	Name       string
	SecretHash []byte // SHA-256 of the key's secret part
	Roles      []RoleBinding
	CreatedAt  time.Time
}

type Stack struct {
	ID          string
	Name        string
	SpaceID     string
	Description string
	Labels      []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

type Provider string

const (
	ProviderBitbucketCloud      Provider = "bitbucket_cloud"
	ProviderBitbucketDataCenter Provider = "bitbucket_datacenter"
)

// Integration holds both provider kinds; fields that do not apply are zero.
// Sealed* fields are AES-256-GCM ciphertexts produced by the server; the store
// never sees plaintext credentials or the plaintext webhook secret.
type Integration struct {
	ID          string
	Provider    Provider
	Name        string
	IsDefault   bool
	SpaceID     string // RootSpaceID when IsDefault
	Description string
	Labels      []string
	VCSChecks   string // individual | aggregated | all

	// Bitbucket Cloud
	Email      string
	Username   string // Cloud legacy (app password) and Data Center
	AuthMethod string // Cloud: api_token | app_password; "" for DC

	// Bitbucket Data Center
	APIHost        string
	UserFacingHost string
	UseGitCheckout bool

	SealedCredential    []byte // api_token, app_password or access_token, sealed
	SealedWebhookSecret []byte
	// PreviousSealedWebhookSecret is the secret SetWebhookSecret replaced (nil until
	// the first rotation) and WebhookSecretRotatedAt when; the receiver accepts it
	// for a grace period so that no delivery is lost while the hooks are updated.
	PreviousSealedWebhookSecret []byte
	WebhookSecretRotatedAt      time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Binding statuses. A binding is attached while its integration exists; deleting the
// integration detaches it (the binding and its stack stay) until it is pointed at an
// integration again.
const (
	BindingAttached = "attached"
	BindingDetached = "detached"
)

// The conditions of SetStackBinding and DeleteStackBinding besides a version.
const (
	BindingCreateOnly = ""
	BindingAnyVersion = "*"
)

// StackBinding ties a stack to one repository and branch through one integration.
// There is at most one per stack.
type StackBinding struct {
	StackID       string
	IntegrationID string // when detached: the integration that was deleted
	Provider      Provider
	Namespace     string // Cloud workspace slug or Data Center project key
	Repository    string // repository slug
	Branch        string
	ProjectRoot   string
	// AdditionalProjectGlobs are doublestar globs relative to the repository root: a
	// change to a matching path concerns the stack too (nil or empty: none).
	AdditionalProjectGlobs []string
	PullRequestRuns        bool

	// Set by the store, ignored on write.
	Status         string // BindingAttached or BindingDetached
	DetachedReason string
	// Version is opaque and new at every SetStackBinding (the API's ETag): a
	// conditional write names the one it read. Detaching keeps it.
	Version string
	// Host is the integration's user-facing host (Data Center; "" for Cloud): the
	// current one while attached, the last one known when detached.
	Host         string
	StackSpaceID string // the space of the stack, for visibility and role checks
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ListFilter narrows a list. Empty fields do not filter. Labels: the object must
// carry every one. Results are ordered by name, then id; PageToken is opaque and
// returned as NextPageToken by the previous page ("" = last page).
//
// SpaceIDs: nil means every space; a non-nil empty slice matches nothing (so a
// caller that can read no space gets an empty list). For ListSpaces it matches
// the space's own ID, for stacks and integrations the space they live in.
type ListFilter struct {
	SpaceIDs []string // any of these; nil = all spaces
	// ReadableBy, when set, is an API key id: only objects in spaces that key can
	// read are listed (spaces it holds a role on, and their descendants reached
	// through inherit_entities). The store resolves this in SQL, so the caller
	// never passes one value per space.
	ReadableBy string
	Labels     []string
	Name       string
	Provider   Provider // integrations only
	PageSize   int      // 0 = implementation default (100)
	PageToken  string
}

// Store is implemented by the SQLite and PostgreSQL stores. Every method is atomic.
// A reference to a missing space (parent, stack/integration space, API key
// role) is a *NotFoundError{Kind: "space"}; a preset ID already in use is a
// *ConflictError{Field: "id"}. Labels come back sorted, unique and never nil.
// Create methods fill ID (when empty), CreatedAt and UpdatedAt on the passed value's
// copy and return it. Update methods replace every mutable field and return the
// stored result; they return ErrNotFound when the id does not exist.
type Store interface {
	Ping(ctx context.Context) error
	Close() error

	CreateSpace(ctx context.Context, s Space) (Space, error) // ErrNotFound when the parent does not exist
	GetSpace(ctx context.Context, id string) (Space, error)
	ListSpaces(ctx context.Context, f ListFilter) ([]Space, string, error)
	// AllSpaces returns the whole tree with labels. It reads every space: request
	// paths use SpaceAncestry and ListFilter.ReadableBy instead.
	AllSpaces(ctx context.Context) ([]Space, error)
	// SpaceAncestry returns the space id and then its ancestors, nearest first,
	// ending with root, in one query (Labels are not loaded). A missing id is a
	// *NotFoundError{Kind: "space"}.
	SpaceAncestry(ctx context.Context, id string) ([]Space, error)
	// SetQuotas sets the limits CreateSpace and UpdateSpace enforce (*QuotaError).
	SetQuotas(q Quotas)
	UpdateSpace(ctx context.Context, s Space) (Space, error)
	DeleteSpace(ctx context.Context, id string) error // ConflictError when it has children, stacks or integrations

	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	DeleteAPIKey(ctx context.Context, id string) error
	CountAPIKeys(ctx context.Context) (int, error)
	// CreateFirstAPIKey creates k (as CreateAPIKey) only when the store holds no
	// API key, and reports whether it did. Servers sharing one database call it at
	// the same moment when they start on an empty one: exactly one of them gets
	// created == true, whatever the process.
	CreateFirstAPIKey(ctx context.Context, k APIKey) (created bool, err error)

	CreateStack(ctx context.Context, s Stack) (Stack, error)
	GetStack(ctx context.Context, id string) (Stack, error)
	ListStacks(ctx context.Context, f ListFilter) ([]Stack, string, error)
	UpdateStack(ctx context.Context, s Stack) (Stack, error)
	DeleteStack(ctx context.Context, id string) error

	// CreateIntegration: ConflictError{Field:"name"} when the name is taken for the
	// provider, ConflictError{Field:"is_default"} when a default already exists.
	CreateIntegration(ctx context.Context, in Integration) (Integration, error)
	GetIntegration(ctx context.Context, id string) (Integration, error)
	GetIntegrationByName(ctx context.Context, p Provider, name string) (Integration, error)
	ListIntegrations(ctx context.Context, f ListFilter) ([]Integration, string, error)
	// UpdateIntegration replaces all fields but ID, Provider, Name, CreatedAt
	// (Provider and Name passed in are ignored). A nil SealedCredential keeps the
	// stored one; so does a nil SealedWebhookSecret (rotate with SetWebhookSecret).
	// IsDefault forces SpaceID to RootSpaceID, on create as well.
	UpdateIntegration(ctx context.Context, in Integration) (Integration, error)
	// SetWebhookSecret replaces only the sealed webhook secret; the replaced one
	// becomes PreviousSealedWebhookSecret, rotated now.
	SetWebhookSecret(ctx context.Context, id string, sealed []byte) (Integration, error)
	// DeleteIntegration detaches the integration's bindings in the same transaction:
	// they stay, with Status BindingDetached and a DetachedReason naming it.
	DeleteIntegration(ctx context.Context, id string) error

	QueueStore
	RetentionStore
	KeyStore
	DeliveryLogStore
	RunPageStore
	VCSAgentPoolStore
	// SetStackBinding writes the binding of b.StackID and attaches it to
	// b.IntegrationID (re-attaching a detached binding). Provider is taken from the
	// integration. A missing stack or integration is a *NotFoundError of that kind.
	// ifVersion says what it may overwrite: BindingCreateOnly creates, and a stack
	// that already has a binding is a *ConflictError{Field: "stack_id"} (never a
	// takeover); BindingAnyVersion replaces the binding whatever its version;
	// any other value replaces only the binding of that Version (ErrVersionMismatch
	// otherwise). Replacing when the stack has no binding is a
	// *NotFoundError{Kind: "binding"}. Every write gives the binding a new Version.
	// created is true when the stack had no binding.
	SetStackBinding(ctx context.Context, b StackBinding, ifVersion string) (out StackBinding, created bool, err error)
	// GetStackBinding: *NotFoundError{Kind: "binding"} when the stack has none.
	GetStackBinding(ctx context.Context, stackID string) (StackBinding, error)
	// DeleteStackBinding deletes the binding of a stack when its Version is ifVersion
	// (ErrVersionMismatch otherwise), or whatever its version with BindingAnyVersion.
	DeleteStackBinding(ctx context.Context, stackID, ifVersion string) error
	// ListIntegrationBindings lists the bindings pointing at an integration, ordered
	// by stack id.
	ListIntegrationBindings(ctx context.Context, integrationID string) ([]StackBinding, error)
	// ListBindingsForRepository returns the attached bindings of one integration on
	// one repository (namespace and repository compared exactly), ordered by stack
	// id: the stacks a webhook delivery for that repository concerns. Detached
	// bindings are never returned.
	ListBindingsForRepository(ctx context.Context, integrationID, namespace, repository string) ([]StackBinding, error)

	// Idempotent runs write and records its answer under (rec.APIKeyID, rec.Key) in
	// the same transaction: every store write write makes with the context it is
	// given joins that transaction, so the object and the record commit together or
	// not at all. When a record younger than IdempotencyTTL already exists for the
	// key, write does not run: the stored record is returned with replayed = true
	// (whatever its RequestHash; the caller compares). A record is kept only when
	// write returns nil.
	Idempotent(ctx context.Context, rec IdempotencyRecord, write func(ctx context.Context) (IdempotencyRecord, error)) (stored IdempotencyRecord, replayed bool, err error)
	// GetIdempotencyRecord returns the live record of a key, or ErrNotFound.
	GetIdempotencyRecord(ctx context.Context, apiKeyID, key string) (IdempotencyRecord, error)
}

// IdempotencyTTL is how long the answer to a create is kept for its Idempotency-Key.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyRecord is the stored answer to one create sent with an Idempotency-Key.
// Response is sealed by the server (it may carry a webhook secret); RequestHash is a
// keyed hash of the request, to refuse the reuse of a key for a different request.
type IdempotencyRecord struct {
	APIKeyID       string
	Key            string
	RequestHash    string
	Status         int
	SealedResponse []byte
	CreatedAt      time.Time
}
