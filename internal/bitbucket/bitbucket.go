// Package bitbucket holds what the Bitbucket Cloud (package cloud) and Bitbucket Data
// Center (package datacenter) clients share: client options, the typed *APIError and
// its helpers, the credential-check result, and the Secret type that keeps tokens and
// webhook secrets out of logs and error strings.
package bitbucket

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/retry"
)

// Product names which Bitbucket an error or result came from.
type Product string

const (
	ProductCloud      Product = "cloud"
	ProductDataCenter Product = "datacenter"
)

// DefaultCloudBaseURL is Bitbucket Cloud's API origin; the clients add "/2.0".
const DefaultCloudBaseURL = "https://api.bitbucket.org"

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "terraform-provider-orbit/dev"

// UserAgent builds the user agent for a released version.
func UserAgent(version string) string {
	if version == "" {
		return DefaultUserAgent
	}
	return "terraform-provider-orbit/" + version
}

// Secret is a credential or webhook secret. Printing it with any fmt verb or slog
// shows a placeholder, so a struct holding one can be logged by mistake without
// leaking; Reveal returns the value for the wire.
type Secret string

const redacted = "[REDACTED]"

func (s Secret) String() string { return redacted }

// GoString keeps %#v redacted too.
func (s Secret) GoString() string { return redacted }

// LogValue keeps slog attributes redacted.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON keeps the secret out of JSON dumps and JSON log handlers; the clients
// put secrets on the wire with Reveal.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Fingerprint is the first 16 hex digits of SHA-256 of the secret: enough to tell two
// secrets apart, useless for recovering a 256-bit one. orbit-server publishes it as an
// integration's webhook_secret_fingerprint, and the provider records the one it
// installed on a hook.
func (s Secret) Fingerprint() string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// Reveal returns the secret itself. Call it only to put the value on the wire.
func (s Secret) Reveal() string { return string(s) }

// RetryPolicy bounds retries of idempotent calls (GET, PUT, DELETE) on 429 and
// 502/503/504, and of any call on 429 (the limiter refused it before acting). It is
// the one retry policy (package retry); a Retry-After longer than MaxRetryAfter ends
// the call with the 429 (its RetryAfter set) instead of sleeping.
type RetryPolicy = retry.Policy

// DefaultRetryPolicy rides out about a minute of straight 429s per call, starting from
// waits of tens of milliseconds (retry.DefaultBitbucket says why).
var DefaultRetryPolicy = retry.DefaultBitbucket

// Config is what Options set. The product packages read it; callers use Options.
type Config struct {
	BaseURL    string
	UserAgent  string
	HTTPClient *http.Client
	Retry      RetryPolicy
	Logger     *slog.Logger
}

// Option configures a Cloud or Data Center client.
type Option func(*Config)

// NewConfig applies opts over the defaults.
func NewConfig(opts ...Option) Config {
	cfg := Config{UserAgent: DefaultUserAgent, Retry: DefaultRetryPolicy}
	for _, opt := range opts {
		opt(&cfg)
	}
	return cfg
}

// WithBaseURL sets the API origin (Cloud: default https://api.bitbucket.org, the
// client adds /2.0; Data Center: required, e.g. https://bitbucket.example.com or
// https://example.com/bitbucket, the client adds /rest/api/latest).
func WithBaseURL(baseURL string) Option { return func(c *Config) { c.BaseURL = baseURL } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(userAgent string) Option { return func(c *Config) { c.UserAgent = userAgent } }

// WithHTTPClient sets the underlying HTTP client (its Transport may wrap another one,
// for instance to validate traffic against an OpenAPI description in tests).
func WithHTTPClient(hc *http.Client) Option { return func(c *Config) { c.HTTPClient = hc } }

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Config) { c.Retry = p } }

// WithLogger sets where the client logs requests and retries (at debug level). It
// never logs headers or bodies. Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// CheckReason says why a credential check passed or failed. The values are the ones
// orbit-server's validate endpoint reports.
type CheckReason string

const (
	ReasonOK             CheckReason = "ok"
	ReasonBadCredentials CheckReason = "bad_credentials"
	ReasonMissingScope   CheckReason = "missing_scope"
	ReasonNotFound       CheckReason = "not_found"
	ReasonUnreachable    CheckReason = "unreachable"
)

// CheckResult is the outcome of a credential check. Message is meant for a person and
// never contains the credential.
type CheckResult struct {
	Reason  CheckReason
	Message string
	// Account identifies who the credential authenticates as when that is known
	// (Cloud: display name or nickname; Data Center: not reported).
	Account string
	// Scopes are the scopes Bitbucket Cloud reported the credential holds (its
	// X-OAuth-Scopes header on GET /2.0/user); ScopesReported is false when it sent
	// no such header.
	Scopes         []string
	ScopesReported bool
}

// OK reports whether the credential works for everything that was checked.
func (r CheckResult) OK() bool { return r.Reason == ReasonOK }
