// Package orbitapi is a typed client for the orbit-server HTTP API (/api/v1), as
// described in internal/server/API.md.
//
// Requests go through hashicorp/go-retryablehttp. Every request is safe to repeat, so
// every one is retried on transport errors, 5xx (but 501) and 429: GET, PUT and DELETE
// by nature, and POST because each carries an Idempotency-Key (a random UUID per
// logical call, the same on each of its retries) that orbit-server answers once and
// replays afterwards. Retry-After is honoured, up to a bound.
package orbitapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/orbit-iac/terraform-provider-orbit/internal/retry"
)

const (
	apiPrefix = "/api/v1"

	// maxResponseBytes bounds how much of a response body is read.
	maxResponseBytes = 8 << 20
)

// Client talks to one orbit-server with one API key. It is safe for concurrent use.
type Client struct {
	baseURL   *url.URL // the server root, without /api/v1
	apiKey    string
	userAgent string
	http      *retryablehttp.Client
	retry     retry.Policy

	Spaces        *SpacesService
	Stacks        *StacksService
	Integrations  *IntegrationsService
	VCSAgentPools *VCSAgentPoolsService
	Runs          *RunsService
}

// Option configures a Client.
type Option func(*Client)

// WithVersion sets the version in the user agent: terraform-provider-orbit/<version>.
func WithVersion(version string) Option {
	return func(c *Client) {
		if version != "" {
			c.userAgent = "terraform-provider-orbit/" + version
		}
	}
}

// WithHTTPClient replaces the underlying *http.Client (transport, timeouts, TLS).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http.HTTPClient = hc
		}
	}
}

// WithRetry sets how many times a retryable request is retried and the bounds of the
// exponential back-off used when the server gives no Retry-After.
func WithRetry(maxRetries int, waitMin, waitMax time.Duration) Option {
	return func(c *Client) {
		c.retry.MaxRetries = maxRetries
		c.retry.MinBackoff = waitMin
		c.retry.MaxBackoff = waitMax
	}
}

// WithRetryAfterMax bounds how long a Retry-After header may make the client wait: a
// longer one is waited as d.
func WithRetryAfterMax(d time.Duration) Option {
	return func(c *Client) { c.retry.MaxRetryAfter = d }
}

// defaultRetry is the client's retry policy unless WithRetry or WithRetryAfterMax
// change it. A Retry-After beyond the bound is shortened to it, not given up on:
// orbit-server's own limiter asks for short waits.
var defaultRetry = retry.Policy{
	MaxRetries:    4,
	MinBackoff:    500 * time.Millisecond,
	MaxBackoff:    10 * time.Second,
	MaxRetryAfter: time.Minute,
	CapRetryAfter: true,
}

// NewClient returns a client for the orbit-server at endpoint (its root URL, for
// example https://orbit.example.com; a trailing /api/v1 is accepted too).
func NewClient(endpoint, apiKey string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(endpoint) == "" {
		return nil, errors.New("orbitapi: endpoint is empty")
	}
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("orbitapi: API key is empty")
	}
	base, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("orbitapi: endpoint %q must be an absolute http:// or https:// URL", endpoint)
	}
	if base.User != nil {
		// Credentials in the URL would end up in logs and error messages.
		return nil, errors.New("orbitapi: endpoint must not contain credentials; use the API key")
	}
	base.Path = strings.TrimSuffix(strings.TrimSuffix(base.Path, "/"), apiPrefix)
	base.RawQuery, base.Fragment = "", ""

	rc := retryablehttp.NewClient()
	rc.Logger = nil // requests are logged through tflog in do
	rc.HTTPClient.Timeout = 60 * time.Second

	c := &Client{
		baseURL:   base,
		apiKey:    apiKey,
		userAgent: "terraform-provider-orbit/dev",
		http:      rc,
		retry:     defaultRetry,
	}
	for _, opt := range opts {
		opt(c)
	}
	c.retry.Hooks(rc, retryable)
	rc.ErrorHandler = keepLastResponse
	rc.RequestLogHook = logRetry

	c.Spaces = &SpacesService{client: c}
	c.Stacks = &StacksService{client: c}
	c.Integrations = &IntegrationsService{client: c}
	c.VCSAgentPools = &VCSAgentPoolsService{client: c}
	c.Runs = &RunsService{client: c}
	return c, nil
}

// Endpoint returns the server root the client talks to.
func (c *Client) Endpoint() string { return c.baseURL.String() }

// IdempotencyKeyHeader carries the key that makes a POST safe to retry (API.md).
const IdempotencyKeyHeader = "Idempotency-Key"

// newIdempotencyKey returns a random (version 4) UUID.
func newIdempotencyKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

type retrySafeKey struct{}

// retrySafe: GET, HEAD, PUT and DELETE are idempotent by nature, and a POST is made so
// by its Idempotency-Key.
func retrySafe(method string, header http.Header) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return header.Get(IdempotencyKeyHeader) != ""
}

// retryable decides which answers may be tried again; the retry policy decides on
// Retry-After and the budget. Whether the request is safe to repeat travels in the
// context because a transport error comes without a response to read it from.
func retryable(ctx context.Context, resp *http.Response, err error) (bool, error) {
	safe, _ := ctx.Value(retrySafeKey{}).(bool)
	if err != nil {
		if !safe {
			return false, nil
		}
		// Reuse the library's judgement of which transport errors are permanent.
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, nil
	case resp.StatusCode == http.StatusNotImplemented:
		return false, nil
	case resp.StatusCode == 0 || resp.StatusCode >= 500:
		return safe, nil
	}
	return false, nil
}

// keepLastResponse hands back the last response when retries run out, so that the
// caller turns it into an *APIError instead of a generic "giving up" error.
func keepLastResponse(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if resp != nil {
		return resp, nil
	}
	return nil, fmt.Errorf("after %d attempt(s): %w", attempts, err)
}

func logRetry(_ retryablehttp.Logger, req *http.Request, attempt int) {
	if attempt > 0 {
		tflog.Debug(req.Context(), "orbit API request retry", map[string]any{
			"method": req.Method, "path": req.URL.Path, "attempt": attempt + 1,
		})
	}
}

// request describes one API call.
type request struct {
	method string
	path   string // below /api/v1, already escaped
	query  url.Values
	body   any
	// ifMatch, when set, is sent as If-Match (quoted unless it is *): the write acts
	// only on that version of the object.
	ifMatch string
	// secrets are values of the body that must never appear in a log line or an error
	// (credentials); the API key is always treated as one.
	secrets []string
}

// do performs req and decodes a 2xx JSON answer into out (when non-nil). Any other
// answer becomes an *APIError.
func (c *Client) do(ctx context.Context, req request, out any) error {
	logPath := apiPrefix + req.path
	target := strings.TrimSuffix(c.baseURL.String(), "/") + logPath
	if q := req.query.Encode(); q != "" {
		target += "?" + q
	}

	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return fmt.Errorf("encoding %s %s request: %w", req.method, req.path, err)
		}
	}

	header := http.Header{}
	if req.method == http.MethodPost {
		// One key per logical call: retryablehttp sends the same headers on every
		// retry, so orbit-server creates once and replays its answer to a repeat.
		key, err := newIdempotencyKey()
		if err != nil {
			return fmt.Errorf("building %s %s request: idempotency key: %w", req.method, req.path, err)
		}
		header.Set(IdempotencyKeyHeader, key)
	}
	ctx = retry.Begin(context.WithValue(ctx, retrySafeKey{}, retrySafe(req.method, header)))
	httpReq, err := retryablehttp.NewRequestWithContext(ctx, req.method, target, bodyOrNil(body))
	if err != nil {
		return fmt.Errorf("building %s %s request: %w", req.method, req.path, err)
	}
	for k, v := range header {
		httpReq.Header[k] = v
	}
	if req.ifMatch != "" {
		httpReq.Header.Set("If-Match", entityTag(req.ifMatch))
	}
	httpReq.Header.Set("Authorization", "Bearer "+c.apiKey)
	httpReq.Header.Set("Accept", "application/json")
	httpReq.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}

	secrets := append([]string{c.apiKey}, req.secrets...)
	logCtx := tflog.MaskAllFieldValuesStrings(ctx, nonEmpty(secrets)...)
	logCtx = tflog.MaskMessageStrings(logCtx, nonEmpty(secrets)...)
	// Bodies are never logged: they may carry credentials.
	logFields := map[string]any{"method": req.method, "path": logPath}

	started := time.Now()
	resp, err := c.http.Do(httpReq)
	logFields["duration_ms"] = time.Since(started).Milliseconds()
	if err != nil {
		logFields["error"] = redact(err.Error(), secrets)
		tflog.Debug(logCtx, "orbit API request failed", logFields)
		// Transport errors name the URL and the cause, never the headers or the body.
		return fmt.Errorf("%s %s: %w", req.method, logPath, err)
	}
	defer resp.Body.Close()
	logFields["status"] = resp.StatusCode
	if id := resp.Header.Get("X-Request-Id"); id != "" {
		logFields["request_id"] = id
	}
	tflog.Debug(logCtx, "orbit API request", logFields)

	payload, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s %s: reading response: %w", req.method, logPath, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(req.method, logPath, resp, payload, secrets)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent || len(bytes.TrimSpace(payload)) == 0 {
		return nil
	}
	if err := json.Unmarshal(payload, out); err != nil {
		return fmt.Errorf("%s %s: %w: %w", req.method, logPath, errUndecodable, err)
	}
	return nil
}

// entityTag quotes a version for If-Match; * stays as is.
func entityTag(version string) string {
	if version == "*" {
		return version
	}
	return strconv.Quote(version)
}

// errUndecodable is wrapped when a 2xx answer is not the JSON expected.
var errUndecodable = errors.New("decoding response")

func bodyOrNil(body []byte) any {
	if body == nil {
		return nil
	}
	return body
}

func nonEmpty(values []string) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// minMaskedSecret is the shortest credential redact masks. Masking a shorter one
// would garble ordinary words (a token "t" turns "integration" into "in***egra***ion")
// and the pattern of masks would spell out which letters the secret holds.
const minMaskedSecret = 8

// redact replaces every whole occurrence of a secret of at least minMaskedSecret
// characters in s by "***". Longer secrets go first, so that one containing another is
// masked whole.
func redact(s string, secrets []string) string {
	long := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		if utf8.RuneCountInString(secret) >= minMaskedSecret {
			long = append(long, secret)
		}
	}
	sort.Slice(long, func(i, j int) bool { return len(long[i]) > len(long[j]) })
	for _, secret := range long {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

// pathEscape escapes one path segment (ids are opaque).
func pathEscape(segment string) string { return url.PathEscape(segment) }
