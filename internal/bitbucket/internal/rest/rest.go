// Package rest is the HTTP core both Bitbucket clients share: request building,
// authentication, the retry policy (idempotent calls only), and turning error answers
// into *bitbucket.APIError with Bitbucket's own message and no secrets.
package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/retry"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Client sends requests for one product with one credential.
type Client struct {
	product   bitbucket.Product
	base      *url.URL
	userAgent string
	authorize func(h http.Header)
	secrets   []string // values scrubbed from every error message
	http      *retryablehttp.Client
	log       *slog.Logger
}

// New builds a client. authorize sets the Authorization header; secrets lists the
// credential values to keep out of error messages.
func New(product bitbucket.Product, cfg bitbucket.Config, authorize func(http.Header), secrets ...string) (*Client, error) {
	base, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	// The credential must never follow a redirect to another origin.
	if hc.CheckRedirect == nil {
		copied := *hc
		copied.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
				return fmt.Errorf("refusing redirect to another origin (%s)", req.URL.Host)
			}
			return nil
		}
		hc = &copied
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		product:   product,
		base:      base,
		userAgent: cfg.UserAgent,
		authorize: authorize,
		log:       log,
	}
	for _, s := range secrets {
		if s != "" {
			c.secrets = append(c.secrets, s)
		}
	}
	c.http = &retryablehttp.Client{
		HTTPClient: hc,
		Logger:     slogAdapter{log},
		// Hand back the last answer so it becomes an *APIError with Bitbucket's message.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	cfg.Retry.Hooks(c.http, retryable)
	return c, nil
}

// ParseBaseURL checks an API origin: absolute http(s), no query, fragment or userinfo.
func ParseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, &bitbucket.ValidationError{Field: "base_url", Message: "is required"}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &bitbucket.ValidationError{Field: "base_url", Message: fmt.Sprintf("%q is not an http(s) URL", raw)}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &bitbucket.ValidationError{Field: "base_url", Message: "must not carry credentials, a query or a fragment"}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Product reports which Bitbucket this client talks to.
func (c *Client) Product() bitbucket.Product { return c.product }

// Request is one call. Path is already escaped (see Path) and relative to the base URL.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// URL, when set, is an absolute URL Bitbucket handed out (a Cloud `next` link); it
	// replaces Path and Query and must share the base URL's origin.
	URL  string
	Body any
	// Expect lists the success statuses; anything else is an *APIError.
	Expect []int
	// Out receives the decoded JSON answer when non-nil.
	Out any
	// Secrets are extra values (e.g. a webhook secret in Body) scrubbed from errors.
	Secrets []string
}

// Path joins segments, escaping each one, e.g. Path("2.0", "repositories", ws, slug).
func Path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

type idempotentKey struct{}

// Do sends the request and decodes the answer. GET, PUT, DELETE and HEAD are retried
// on 429 and 502/503/504; every other method is sent once.
func (c *Client) Do(ctx context.Context, r Request) (http.Header, error) {
	target, err := c.target(r)
	if err != nil {
		return nil, err
	}
	var body any
	if r.Body != nil {
		encoded, err := json.Marshal(r.Body)
		if err != nil {
			return nil, fmt.Errorf("bitbucket %s: encode %s body: %w", c.product, r.Method, err)
		}
		body = encoded
	}
	idempotent := r.Method == http.MethodGet || r.Method == http.MethodPut || r.Method == http.MethodDelete || r.Method == http.MethodHead
	ctx = retry.Begin(context.WithValue(ctx, idempotentKey{}, idempotent))
	req, err := retryablehttp.NewRequestWithContext(ctx, r.Method, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("bitbucket %s: build request: %w", c.product, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	c.authorize(req.Header)

	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("bitbucket %s: %s %s: %w", c.product, r.Method, target.EscapedPath(), ctxErr)
		}
		return nil, &TransportError{Product: c.product, Method: r.Method, Host: target.Host, Err: errors.New(c.scrub(err.Error(), r.Secrets))}
	}
	defer resp.Body.Close()

	if !expected(resp.StatusCode, r.Expect) {
		return resp.Header, c.apiError(resp, r, target)
	}
	if r.Out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(r.Out); err != nil {
			return resp.Header, fmt.Errorf("bitbucket %s: %s %s: decode answer: %w", c.product, r.Method, target.EscapedPath(), err)
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return resp.Header, nil
}

func (c *Client) target(r Request) (*url.URL, error) {
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil {
			return nil, fmt.Errorf("bitbucket %s: bad link from server: %w", c.product, err)
		}
		// Following a link elsewhere would hand our credential to another host.
		if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			return nil, fmt.Errorf("bitbucket %s: refusing to follow a link to another origin (%s://%s)", c.product, u.Scheme, u.Host)
		}
		return u, nil
	}
	raw := c.base.String() + r.Path
	if len(r.Query) > 0 {
		raw += "?" + r.Query.Encode()
	}
	return url.Parse(raw)
}

func expected(status int, expect []int) bool {
	if len(expect) == 0 {
		return status >= 200 && status < 300
	}
	for _, s := range expect {
		if s == status {
			return true
		}
	}
	return false
}

func (c *Client) apiError(resp *http.Response, r Request, target *url.URL) *bitbucket.APIError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg, exception := ParseErrorMessage(raw)
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	apiErr := &bitbucket.APIError{
		Product:    c.product,
		Method:     r.Method,
		Path:       target.EscapedPath(),
		StatusCode: resp.StatusCode,
		Message:    c.scrub(msg, r.Secrets),
		Exception:  exception,
	}
	if d, ok := retry.Of(resp, time.Now()); ok {
		apiErr.RetryAfter = d
	}
	return apiErr
}

// ParseErrorMessage extracts Bitbucket's message (and Data Center's exceptionName)
// from a Cloud or Data Center error body; "" when the body is neither.
func ParseErrorMessage(body []byte) (message, exception string) {
	var shape struct {
		Error *struct {
			Message string          `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"error"`
		Errors []struct {
			Message       string `json:"message"`
			ExceptionName string `json:"exceptionName"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &shape) != nil {
		return "", ""
	}
	if shape.Error != nil && shape.Error.Message != "" {
		if detail := cloudDetail(shape.Error.Detail); detail != "" && detail != shape.Error.Message {
			return shape.Error.Message + ": " + detail, ""
		}
		return shape.Error.Message, ""
	}
	var msgs []string
	for _, e := range shape.Errors {
		if e.Message != "" {
			msgs = append(msgs, e.Message)
		}
		if exception == "" {
			exception = e.ExceptionName
		}
	}
	return strings.Join(msgs, "; "), exception
}

// cloudDetail reads Cloud's error.detail: a string, or, on a refusal for a missing
// scope, {"required": [...], "granted": [...]}.
func cloudDetail(raw json.RawMessage) string {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return text
	}
	var scopes struct {
		Required []string `json:"required"`
		Granted  []string `json:"granted"`
	}
	if json.Unmarshal(raw, &scopes) != nil || len(scopes.Required) == 0 {
		return ""
	}
	return "required scopes " + strings.Join(scopes.Required, ", ") + "; granted " + strings.Join(scopes.Granted, ", ")
}

func (c *Client) scrub(s string, extra []string) string {
	for _, secret := range append(append([]string(nil), c.secrets...), extra...) {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}

// TransportError means Bitbucket could not be reached (DNS, refused connection, TLS,
// timeout). It names the host, never the credential.
type TransportError struct {
	Product bitbucket.Product
	Method  string
	Host    string
	Err     error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("bitbucket %s: %s %s: cannot reach Bitbucket: %v", e.Product, e.Method, e.Host, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryable: only idempotent calls, only on 429/502/503/504; the policy then decides
// on the Retry-After and the budget. Transport errors are not retried: the caller
// learns at once that Bitbucket is unreachable.
func retryable(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if err != nil || resp == nil {
		return false, err
	}
	// A 429 is the rate limiter refusing the request before it was acted on, so
	// it is retried whatever the method; other failures of a non-idempotent
	// request (a POST that may have been applied) are not.
	if idempotent, _ := ctx.Value(idempotentKey{}).(bool); !idempotent && resp.StatusCode != http.StatusTooManyRequests {
		return false, nil
	}
	return retryableStatus(resp.StatusCode), nil
}

type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Error(msg string, kv ...any) { a.log.Debug(msg, kv...) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.log.Debug(msg, kv...) }
func (a slogAdapter) Debug(msg string, kv ...any) { a.log.Debug(msg, kv...) }
func (a slogAdapter) Warn(msg string, kv ...any)  { a.log.Debug(msg, kv...) }
