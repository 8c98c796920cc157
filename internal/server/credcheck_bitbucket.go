package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/egress"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// BitbucketChecker checks integration credentials against Bitbucket itself: Cloud with
// GET /2.0/user, Data Center with a one-item project list on the integration's api_host.
//
// A Data Center api_host is chosen by the API caller, so the check must not become a
// network probe: connections go through an egress policy checked at dial time, and
// the caller gets one of a few fixed messages (unreachable, TLS failure, not
// Bitbucket, rejected credential) while the raw error goes to the server log
// (CredentialCheck.Detail).
type BitbucketChecker struct {
	// CloudBaseURL is Bitbucket Cloud's API origin; empty means https://api.bitbucket.org.
	CloudBaseURL string
	// Egress limits where Data Center checks connect (api_host is the caller's
	// choice); nil is egress.Default(): anything but link-local and cloud metadata
	// addresses. Cloud checks go to CloudBaseURL, the operator's choice, under
	// egress.Default().
	Egress *egress.Policy
	// TLSConfig, when set, is the TLS configuration of the checks' connections (e.g.
	// to trust a test or corporate certificate authority).
	TLSConfig *tls.Config
	// WrapTransport, when set, wraps the transport the checks use (tests validate
	// the traffic with it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// HTTPClient, when set, replaces the checks' own transport. Its connections do
	// not pass the egress policy at dial time, only a check of the host before the
	// request: it exists for tests that bring a ready-made client.
	HTTPClient *http.Client
	// UserAgent, when set, replaces the default user agent.
	UserAgent string
	// Timeout bounds one check, retries included; zero means 20s. An API request
	// waits on it, so it stays short.
	Timeout time.Duration

	once           sync.Once
	policy         *egress.Policy
	dcTransport    http.RoundTripper
	cloudTransport http.RoundTripper
}

// checkRetryPolicy retries a busy Bitbucket briefly: the caller is waiting.
var checkRetryPolicy = bitbucket.RetryPolicy{
	MaxRetries:    2,
	MinBackoff:    200 * time.Millisecond,
	MaxBackoff:    2 * time.Second,
	MaxRetryAfter: 5 * time.Second,
}

func (c *BitbucketChecker) init() {
	c.once.Do(func() {
		c.policy = c.Egress
		if c.policy == nil {
			c.policy = egress.Default()
		}
		if c.HTTPClient != nil {
			c.dcTransport = c.HTTPClient.Transport
			if c.dcTransport == nil {
				c.dcTransport = http.DefaultTransport
			}
			c.cloudTransport = c.dcTransport
			return
		}
		base := &http.Transport{}
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			base = dt.Clone()
		}
		if c.TLSConfig != nil {
			base.TLSClientConfig = c.TLSConfig.Clone()
		}
		c.dcTransport = c.policy.Transport(base)
		c.cloudTransport = egress.Default().Transport(base)
		if c.WrapTransport != nil {
			c.dcTransport = c.WrapTransport(c.dcTransport)
			c.cloudTransport = c.WrapTransport(c.cloudTransport)
		}
	})
}

func (c *BitbucketChecker) cloudBase() string {
	if c.CloudBaseURL == "" {
		return bitbucket.DefaultCloudBaseURL
	}
	return c.CloudBaseURL
}

// Check implements CredentialChecker.
func (c *BitbucketChecker) Check(ctx context.Context, in store.Integration, credential string) CredentialCheck {
	c.init()
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	options := func(rec *recorder) []bitbucket.Option {
		opts := []bitbucket.Option{
			bitbucket.WithRetryPolicy(checkRetryPolicy),
			bitbucket.WithHTTPClient(&http.Client{Transport: rec}),
		}
		if c.UserAgent != "" {
			opts = append(opts, bitbucket.WithUserAgent(c.UserAgent))
		}
		return opts
	}

	switch in.Provider {
	case store.ProviderBitbucketCloud:
		rec := &recorder{base: c.cloudTransport}
		return c.checkCloud(ctx, in, bitbucket.Secret(credential), options(rec), rec)
	case store.ProviderBitbucketDataCenter:
		rec := &recorder{base: c.dcTransport}
		return c.checkDataCenter(ctx, in, bitbucket.Secret(credential), options(rec), rec)
	default:
		return CredentialCheck{Valid: true, Reason: CheckSkipped, Message: "no credential check for provider " + string(in.Provider)}
	}
}

func (c *BitbucketChecker) checkCloud(ctx context.Context, in store.Integration, secret bitbucket.Secret, opts []bitbucket.Option, rec *recorder) CredentialCheck {
	const product = "Bitbucket Cloud"
	base := c.cloudBase()
	credential := cloud.APIToken(in.Email, secret)
	if in.AuthMethod == authAppPassword {
		credential = cloud.AppPassword(in.Username, secret)
	}
	client, err := cloud.New(credential, append(opts, bitbucket.WithBaseURL(base))...)
	if err != nil {
		return CredentialCheck{Valid: false, Reason: CheckUnreachable, Message: "cannot check the credential: the Bitbucket Cloud API URL is not usable", Detail: err.Error()}
	}
	host := hostOf(base)
	result := client.CheckCredentials(ctx, cloud.CheckTarget{})
	if check, ok := classifyConnection(product, host, rec.last()); ok && !result.OK() {
		check.Detail = result.Message
		return check
	}
	// Past the connection, the answer comes from the Bitbucket Cloud the operator
	// configured, so its own explanation is passed on.
	return CredentialCheck{Valid: result.OK(), Reason: string(result.Reason), Message: result.Message, Detail: result.Message}
}

func (c *BitbucketChecker) checkDataCenter(ctx context.Context, in store.Integration, secret bitbucket.Secret, opts []bitbucket.Option, rec *recorder) CredentialCheck {
	if strings.HasPrefix(in.APIHost, "private://") {
		return CredentialCheck{Valid: true, Reason: CheckSkipped,
			Message: "api_host is a private worker pool (" + in.APIHost + "), which orbit-server cannot reach; the credential was not checked"}
	}
	host := hostOf(in.APIHost)
	if err := c.policy.CheckHost(hostnameOf(in.APIHost)); err != nil {
		return CredentialCheck{Valid: false, Reason: CheckHostNotAllowed, Message: hostNotAllowedMessage(host), Detail: err.Error()}
	}
	client, err := datacenter.New(secret, append(opts, bitbucket.WithBaseURL(in.APIHost))...)
	if err != nil {
		return CredentialCheck{Valid: false, Reason: CheckNotBitbucket, Message: "api_host is not a URL orbit-server can check", Detail: err.Error()}
	}
	result := client.CheckCredentials(ctx, datacenter.CheckTarget{})
	check := classifyDataCenter(host, result, rec.last())
	check.Detail = strings.TrimSpace(result.Message + " " + rec.last().String())
	return check
}

// classifyDataCenter turns what happened on the wire into one of a few fixed
// messages. A Data Center api_host is the caller's choice, so nothing the far end
// said (error text, body, status line of a non-Bitbucket service) reaches the caller.
func classifyDataCenter(host string, result bitbucket.CheckResult, obs observation) CredentialCheck {
	const product = "Bitbucket Data Center"
	if check, ok := classifyConnection(product, host, obs); ok {
		return check
	}
	notBitbucket := CredentialCheck{Reason: CheckNotBitbucket,
		Message: host + " answered, but not as Bitbucket Data Center; check api_host, including any context path such as /bitbucket"}
	switch {
	case obs.status == 0:
		return notBitbucket
	case obs.status == http.StatusOK:
		if result.OK() && obs.jsonHas("isLastPage") {
			return CredentialCheck{Valid: true, Reason: CheckOK, Message: "access token accepted by Bitbucket Data Center"}
		}
		return notBitbucket
	case obs.status == http.StatusTooManyRequests || obs.status >= 500:
		return CredentialCheck{Reason: CheckUnreachable,
			Message: fmt.Sprintf("%s at %s could not be reached: it answered with a server error or asked to slow down; try again later", product, host)}
	case (obs.status == http.StatusUnauthorized || obs.status == http.StatusForbidden) && obs.bitbucketError():
		if result.Reason == bitbucket.ReasonMissingScope {
			return CredentialCheck{Reason: CheckMissingScope,
				Message: fmt.Sprintf("%s at %s accepted the access token, but it may not read the project list (%d); grant it at least project read permission", product, host, obs.status)}
		}
		return CredentialCheck{Reason: CheckBadCredentials,
			Message: fmt.Sprintf("%s at %s rejected the access token (%d); check that the HTTP access token is valid and not expired", product, host, obs.status)}
	}
	return notBitbucket
}

// classifyConnection reports a check that never got an HTTP answer: refused by the
// egress policy, a failed TLS handshake, or no connection at all.
func classifyConnection(product, host string, obs observation) (CredentialCheck, bool) {
	if obs.err == nil {
		return CredentialCheck{}, false
	}
	var blocked *egress.BlockedError
	switch {
	case errors.As(obs.err, &blocked):
		return CredentialCheck{Reason: CheckHostNotAllowed, Message: hostNotAllowedMessage(host)}, true
	case isTLSError(obs.err):
		return CredentialCheck{Reason: CheckTLSError,
			Message: fmt.Sprintf("the TLS handshake with %s failed: it does not serve HTTPS there, or its certificate is not one orbit-server trusts", host)}, true
	}
	return CredentialCheck{Reason: CheckUnreachable,
		Message: fmt.Sprintf("%s at %s could not be reached: no connection (the name does not resolve, the connection is refused, or it timed out)", product, host)}, true
}

func hostNotAllowedMessage(host string) string {
	return fmt.Sprintf("orbit-server may not connect to %s: it is outside the hosts the operator allows (--bitbucket-allowed-hosts), or a link-local or cloud metadata address", host)
}

func isTLSError(err error) bool {
	var (
		header     tls.RecordHeaderError
		verify     *tls.CertificateVerificationError
		alert      tls.AlertError
		authority  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalid    x509.CertificateInvalidError
		echReject  *tls.ECHRejectionError
		anyTLSText = strings.Contains(err.Error(), "tls: ")
	)
	return errors.As(err, &header) || errors.As(err, &verify) || errors.As(err, &alert) ||
		errors.As(err, &authority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &echReject) || anyTLSText
}

// hostOf is the host[:port] of a URL, for messages (the caller wrote it).
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "api_host"
}

func hostnameOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Hostname()
	}
	return raw
}

// recorder is the transport of one check: it remembers the outcome of the last
// round trip (the one the check's result is about) and the start of its body.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	obs  observation
}

// observation is what the wire showed of the last round trip.
type observation struct {
	err    error
	status int
	body   *cappedBuffer
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.obs = observation{err: err}
		return nil, err
	}
	buf := &cappedBuffer{max: 64 << 10}
	r.obs = observation{status: resp.StatusCode, body: buf}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, buf), resp.Body}
	return resp, nil
}

func (r *recorder) last() observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.obs
}

// String is for the server log: the raw error or the status.
func (o observation) String() string {
	switch {
	case o.err != nil:
		return "(" + o.err.Error() + ")"
	case o.status != 0:
		return fmt.Sprintf("(HTTP %d)", o.status)
	}
	return "(no request sent)"
}

func (o observation) object() map[string]json.RawMessage {
	if o.body == nil {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(o.body.Bytes(), &obj) != nil {
		return nil
	}
	return obj
}

// jsonHas reports whether the body is a JSON object with the key.
func (o observation) jsonHas(key string) bool {
	_, ok := o.object()[key]
	return ok
}

// bitbucketError reports whether the body is Data Center's error shape,
// {"errors":[{"message":...}]}.
func (o observation) bitbucketError() bool {
	var errs []struct {
		Message string `json:"message"`
	}
	raw, ok := o.object()["errors"]
	return ok && json.Unmarshal(raw, &errs) == nil && len(errs) > 0 && errs[0].Message != ""
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

var _ CredentialChecker = (*BitbucketChecker)(nil)
