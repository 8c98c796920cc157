// Package api is orbit-server's management API (API.md, openapi.json): the one
// route table, the handlers of spaces, API keys, stacks, bindings, integrations
// and runs, decoding and validating requests, idempotent creates, and the mapping
// of errors to answers; plus the public health, readiness, metrics and OpenAPI
// routes, and the access log around every route.
//
// It may import apiwire (its request and response types), store, auth, secrets,
// secretbox, vcs, httpx and metrics. It reaches the
// receiver and the worker only through the interfaces WebhookTargets and Waker
// (ARCHITECTURE.md), which the server root wires.
package api

import (
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/httpguard"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/metrics"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secrets"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcsagent/pooltoken"
)

// WebhookTargets is what the API needs of the receiver: to drop what it cached of
// an integration that was rotated, changed or deleted.
type WebhookTargets interface {
	Forget(provider store.Provider, name string)
}

// Waker is what the API needs of the worker: to say that jobs are waiting.
type Waker interface {
	Wake(kind store.JobKind)
}

// Config is what the API is built from.
type Config struct {
	Store     store.Store
	Box       *secrets.Box
	PublicURL string
	Logger    *slog.Logger
	// Checker checks credentials; nil: no check.
	Checker   vcs.CredentialChecker
	Metrics   *metrics.Metrics
	MaxLabels int
	AuthLimit *httpguard.FailureLimiter
	// TrustedProxies: see server.Config.TrustedProxies (normalized).
	TrustedProxies []netip.Prefix
	Inflight       *httpx.Inflight
	// Draining makes /readyz answer 503.
	Draining *atomic.Bool
	Targets  WebhookTargets
	Queue    Waker
	// RunPages serves the runs' HTML pages and their links.
	RunPages RunPages
	// PublicRoutes are the routes of other components (the receiver's).
	PublicRoutes []httpx.Route
	// Agents says which VCS agents of each pool are connected (nil: none, as on a
	// server without an agent hub).
	Agents pooltoken.AgentDirectory
}

// API serves the management API.
type API struct {
	store          store.Store
	box            *secrets.Box
	publicURL      string
	logger         *slog.Logger
	checker        vcs.CredentialChecker
	metrics        *metrics.Metrics
	limits         limits
	authLimit      *httpguard.FailureLimiter
	trustedProxies []netip.Prefix
	inflight       *httpx.Inflight
	draining       *atomic.Bool
	ready          writeProbe
	webhookTargets WebhookTargets
	queue          Waker
	runPages       RunPages
	publicRoutes   []httpx.Route
	agents         pooltoken.AgentDirectory
	// bodyLimits are the routes (patterns) whose body cap is not httpx.MaxBodyBytes.
	bodyLimits map[string]int64
	// refusedLog writes the access-log lines of requests refused before anyone was
	// authenticated, a few per second (refusedLogSample).
	refusedLog *slog.Logger
	// beforeIntegrationUpdate, when set (tests only), runs in PUT /integrations/{id}
	// between loading the integration and writing it.
	beforeIntegrationUpdate atomic.Pointer[func()]
	// idempotencyHashKey keys the hash of requests sent with an Idempotency-Key.
	idempotencyHashKey []byte
}

// refusedLogSample is how many access-log lines of refused unauthenticated requests
// are written per second; the others are counted (orbit_log_lines_dropped_total).
var refusedLogSample = httpguard.Sample{PerInterval: 20, Interval: time.Second}

// New builds the API.
func New(cfg Config) *API {
	s := &API{
		store: cfg.Store, box: cfg.Box, publicURL: cfg.PublicURL, logger: cfg.Logger, checker: cfg.Checker,
		metrics: cfg.Metrics, limits: limits{maxLabels: cfg.MaxLabels}, authLimit: cfg.AuthLimit,
		trustedProxies: cfg.TrustedProxies, inflight: cfg.Inflight, draining: cfg.Draining,
		ready:          writeProbe{interval: readyProbeInterval, now: time.Now},
		webhookTargets: cfg.Targets, queue: cfg.Queue, runPages: cfg.RunPages, publicRoutes: cfg.PublicRoutes,
		idempotencyHashKey: cfg.Box.DeriveKey("orbit idempotency request hash"),
		bodyLimits:         map[string]int64{},
		agents:             cfg.Agents,
	}
	if s.agents == nil {
		s.agents = pooltoken.NoAgents{}
	}
	for _, rt := range cfg.PublicRoutes {
		if rt.MaxBodyBytes > 0 {
			s.bodyLimits[rt.Method+" "+rt.Path] = rt.MaxBodyBytes
		}
	}
	sampled := httpguard.NewSampledHandler(cfg.Logger.Handler(), refusedLogSample)
	s.refusedLog = slog.New(sampled)
	cfg.Metrics.DroppedLogLines(func() float64 { return float64(sampled.Dropped()) })
	return s
}

// SetBeforeIntegrationUpdate installs f (nil: none) to run in PUT /integrations/{id}
// after the integration was loaded and validated and before the store writes it, so
// a test can interleave another request deterministically.
func (s *API) SetBeforeIntegrationUpdate(f func()) {
	if f == nil {
		s.beforeIntegrationUpdate.Store(nil)
		return
	}
	s.beforeIntegrationUpdate.Store(&f)
}

// SetStore replaces the store (tests that make one call fail).
func (s *API) SetStore(st store.Store) { s.store = st }

// RoutePatterns are the patterns of a route table holding publicRoutes besides the
// API's own, for the test that holds it to openapi.json.
func RoutePatterns(publicRoutes []httpx.Route) []string {
	return (&API{publicRoutes: publicRoutes}).Patterns()
}

// InputSizeLimits maps "Schema.property" of openapi.json to the limit the API
// enforces (characters for strings, entries for arrays), for the test that holds
// the document to the code.
var InputSizeLimits = map[string]int{
	"SpaceInput.name": maxNameLen, "SpaceInput.parent_space_id": maxIDLen, "SpaceInput.description": maxDescriptionLen,
	"StackInput.name": maxNameLen, "StackInput.space_id": maxIDLen, "StackInput.description": maxDescriptionLen,
	"APIKeyInput.name": maxNameLen, "APIKeyInput.roles": maxRolesPerKey, "RoleBinding.space_id": maxIDLen,
	"IntegrationInput.space_id": maxIDLen, "IntegrationInput.description": maxDescriptionLen,
	"IntegrationInput.email": maxEmailLen, "IntegrationInput.username": maxUsernameLen,
	"IntegrationInput.api_token": maxCredentialLen, "IntegrationInput.app_password": maxCredentialLen,
	"IntegrationInput.access_token": maxCredentialLen, "IntegrationInput.api_host": maxURLLen,
	"IntegrationInput.user_facing_host": maxURLLen,
	"VCSAgentPoolInput.space_id":        maxIDLen, "VCSAgentPoolInput.description": maxDescriptionLen,
	"VCSAgentPoolTokenInput.description": maxDescriptionLen, "VCSAgentPoolTokenRotateInput.description": maxDescriptionLen,
	"SpaceInput.labels": DefaultMaxLabels, "StackInput.labels": DefaultMaxLabels, "IntegrationInput.labels": DefaultMaxLabels,
	"param.NameFilter": maxFilterLen, "param.SpaceIDFilter": maxFilterLen, "param.PageToken": maxPageTokenLen,
	"param.LabelFilter": DefaultMaxLabels,
}
