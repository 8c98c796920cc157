// Package bitbucket holds what the Bitbucket Cloud (package cloud) and Bitbucket Data
// Center (package datacenter) clients share: client options, the typed *APIError and
// its helpers, the credential-check result, and the Secret type that keeps tokens and
// webhook secrets out of logs and error strings.
package bitbucket

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
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
// 502/503/504. POST is never retried.
type RetryPolicy struct {
	// MaxRetries after the first attempt; 0 disables retries.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff used when the answer
	// carries no Retry-After.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for; a longer one
	// ends the call with the 429 (its RetryAfter set) instead of sleeping.
	MaxRetryAfter time.Duration
}

// Backoff is the wait before retry attempt+1 when Bitbucket gave no Retry-After:
// MinBackoff doubled per attempt up to MaxBackoff, with jitter in [wait/2, wait]
// so that clients limited together do not come back together.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	wait := p.MinBackoff
	for i := 0; i < attempt && wait < p.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, p.MaxBackoff)
	if wait <= 0 {
		return 0
	}
	half := wait / 2
	return half + rand.N(wait-half+1)
}

// DefaultRetryPolicy waits at most about a minute per call in total (0.5+1+2+4+8+15+15+15 s
// of backoff without Retry-After): Bitbucket Cloud's rate limiter often answers several
// 429s in a row without Retry-After, and an apply of hundreds of hooks must ride them out.
var DefaultRetryPolicy = RetryPolicy{
	MaxRetries:    8,
	MinBackoff:    500 * time.Millisecond,
	MaxBackoff:    15 * time.Second,
	MaxRetryAfter: 60 * time.Second,
}

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
}

// OK reports whether the credential works for everything that was checked.
func (r CheckResult) OK() bool { return r.Reason == ReasonOK }
