package vcs

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
	"github.com/orbit-iac/terraform-provider-orbit/internal/egress"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// BitbucketChecker checks integration credentials against the product itself, through
// the integration's kind (Cloud: GET /2.0/user; Data Center: a one-item project list on
// the integration's api_host). A kind the registry does not hold is never valid.
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
	// Agents reaches a private://<pool> api_host through the pool's VCS agents
	// (orbit-server sets it to its hub when it is nil); nil: such a host is not
	// checked.
	Agents Agents

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

// CheckEnv is what a kind's credential check may use: the operator's Cloud URL,
// the egress policy, and clients whose traffic is recorded for classification.
type CheckEnv struct {
	// CloudBaseURL is Bitbucket Cloud's API origin (never empty).
	CloudBaseURL string
	// Policy limits where a caller-chosen host may be reached.
	Policy *egress.Policy
	// Agents reaches private://<pool> hosts (nil: they cannot be reached).
	Agents Agents
	c      *BitbucketChecker
}

// Client is the options of a client for one check and the recorder of its
// traffic. callerChosen: the host is the API caller's choice (it dials through the
// egress policy); otherwise it is the operator's.
func (e CheckEnv) Client(callerChosen bool) ([]bitbucket.Option, *Recorder) {
	rec := &Recorder{base: e.c.cloudTransport}
	if callerChosen {
		rec.base = e.c.dcTransport
	}
	opts := []bitbucket.Option{
		bitbucket.WithRetryPolicy(checkRetryPolicy),
		bitbucket.WithHTTPClient(&http.Client{Transport: rec}),
	}
	if e.c.UserAgent != "" {
		opts = append(opts, bitbucket.WithUserAgent(e.c.UserAgent))
	}
	return opts, rec
}

// AgentClient is Client for a private://<pool> host of in: the pool's agents
// carry the requests (with the same retry policy as a direct check), addressed to
// AgentBaseURL. ok is false when this server has no agents at all.
func (e CheckEnv) AgentClient(in store.Integration, pool string) (opts []bitbucket.Option, rec *Recorder, ok bool) {
	if e.Agents == nil {
		return nil, nil, false
	}
	rec = &Recorder{base: e.Agents.Transport(in, pool)}
	opts = []bitbucket.Option{
		bitbucket.WithRetryPolicy(checkRetryPolicy),
		bitbucket.WithHTTPClient(&http.Client{Transport: rec}),
		bitbucket.WithBaseURL(AgentBaseURL),
	}
	if e.c.UserAgent != "" {
		opts = append(opts, bitbucket.WithUserAgent(e.c.UserAgent))
	}
	return opts, rec, true
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

	kind, err := Lookup(in.Provider)
	if err != nil {
		// Never valid: a kind this server does not know has nothing to check with.
		return CredentialCheck{Valid: false, Reason: CheckNotFound, Message: err.Error(), Detail: err.Error()}
	}
	env := CheckEnv{CloudBaseURL: c.CloudBaseURL, Policy: c.policy, Agents: c.Agents, c: c}
	if env.CloudBaseURL == "" {
		env.CloudBaseURL = bitbucket.DefaultCloudBaseURL
	}
	return kind.CheckCredentials(ctx, env, in, credential)
}

// BranchHead implements BranchReader through the integration's kind, with the
// check's clients, egress policy and time bound.
func (c *BitbucketChecker) BranchHead(ctx context.Context, in store.Integration, credential, namespace, repository, branch string) (string, error) {
	var head string
	err := c.withKind(ctx, in, func(ctx context.Context, kind Kind, env CheckEnv) (err error) {
		head, err = kind.BranchHead(ctx, env, in, credential, namespace, repository, branch)
		return err
	})
	return head, err
}

// CheckRepository implements RepositoryChecker through the integration's kind, with
// the check's clients, egress policy and time bound.
func (c *BitbucketChecker) CheckRepository(ctx context.Context, in store.Integration, credential, namespace, repository string) error {
	return c.withKind(ctx, in, func(ctx context.Context, kind Kind, env CheckEnv) error {
		return kind.CheckRepository(ctx, env, in, credential, namespace, repository)
	})
}

// withKind runs do with in's kind and the check's environment, under the check's
// time bound. An unknown kind is a *RefError that says so.
func (c *BitbucketChecker) withKind(ctx context.Context, in store.Integration, do func(context.Context, Kind, CheckEnv) error) error {
	c.init()
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	kind, err := Lookup(in.Provider)
	if err != nil {
		return &RefError{Reason: RefUnreachable, Message: err.Error(), Detail: err.Error()}
	}
	env := CheckEnv{CloudBaseURL: c.CloudBaseURL, Policy: c.policy, Agents: c.Agents, c: c}
	if env.CloudBaseURL == "" {
		env.CloudBaseURL = bitbucket.DefaultCloudBaseURL
	}
	return do(ctx, kind, env)
}

// ClassifyRefError turns a Bitbucket client's error reading namespace/repository
// (and its branch, when branch is not "") into a *RefError. product names Bitbucket
// in messages; the classification keys on the status only, so nothing the far end
// said reaches the caller (Detail keeps it for the log).
func ClassifyRefError(product, namespace, repository, branch string, err error) *RefError {
	what := fmt.Sprintf("repository %s/%s", namespace, repository)
	missing := fmt.Sprintf("%s has no repository %s/%s, or the integration's credential may not see it", product, namespace, repository)
	if branch != "" {
		what = fmt.Sprintf("branch %q of %s/%s", branch, namespace, repository)
		missing = fmt.Sprintf("%s has no branch %q in repository %s/%s, or the integration's credential may not see that repository", product, branch, namespace, repository)
	}
	detail := err.Error()
	apiErr, ok := bitbucket.AsAPIError(err)
	switch {
	case !ok:
		return &RefError{Reason: RefUnreachable, Detail: detail,
			Message: fmt.Sprintf("%s could not be asked about %s (no connection or no answer); try again later", product, what)}
	case apiErr.StatusCode == http.StatusNotFound:
		return &RefError{Reason: RefNotFound, Detail: detail, Message: missing}
	case apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden:
		return &RefError{Reason: RefDenied, Detail: detail,
			Message: fmt.Sprintf("%s refused the integration's credential reading %s (HTTP %d): it needs read access to the repository", product, what, apiErr.StatusCode)}
	}
	return &RefError{Reason: RefUnreachable, Detail: detail,
		Message: fmt.Sprintf("%s answered HTTP %d when asked about %s; try again later", product, apiErr.StatusCode, what)}
}

// ClassifyConnection reports a check that never got an HTTP answer: refused by the
// egress policy, a failed TLS handshake, or no connection at all.
func ClassifyConnection(product, host string, obs Observation) (CredentialCheck, bool) {
	if obs.Err == nil {
		return CredentialCheck{}, false
	}
	var blocked *egress.BlockedError
	var noAgent *NoAgentError
	var agentErr *AgentError
	switch {
	case errors.As(obs.Err, &noAgent):
		return CredentialCheck{Reason: CheckUnreachable,
			Message: fmt.Sprintf("no agent of pool %q is connected to orbit-server, so %s could not be asked; start orbit-vcs-agent with a token of the pool, then try again", noAgent.Pool, product)}, true
	case errors.As(obs.Err, &agentErr) && agentErr.Reason == "unreachable":
		return CredentialCheck{Reason: CheckUnreachable,
			Message: fmt.Sprintf("the agent of pool %q could not reach %s (check its --bitbucket-url and its network)", agentErr.Pool, product)}, true
	case errors.As(obs.Err, &agentErr):
		return CredentialCheck{Reason: CheckUnreachable,
			Message: fmt.Sprintf("the agent of pool %q refused the request: it is not for its --bitbucket-url", agentErr.Pool)}, true
	case errors.As(obs.Err, &blocked):
		return CredentialCheck{Reason: CheckHostNotAllowed, Message: HostNotAllowedMessage(host)}, true
	case isTLSError(obs.Err):
		return CredentialCheck{Reason: CheckTLSError,
			Message: fmt.Sprintf("the TLS handshake with %s failed: it does not serve HTTPS there, or its certificate is not one orbit-server trusts", host)}, true
	}
	return CredentialCheck{Reason: CheckUnreachable,
		Message: fmt.Sprintf("%s at %s could not be reached: no connection (the name does not resolve, the connection is refused, or it timed out)", product, host)}, true
}

// HostNotAllowedMessage is the one message of an egress refusal.
func HostNotAllowedMessage(host string) string {
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

// HostOf is the host[:port] of a URL, for messages (the caller wrote it).
func HostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "api_host"
}

// HostnameOf is the host name of a URL.
func HostnameOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Hostname()
	}
	return raw
}

// Recorder is the transport of one check: it remembers the outcome of the last
// round trip (the one the check's result is about) and the start of its body.
type Recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	obs  Observation
}

// Observation is what the wire showed of the last round trip.
type Observation struct {
	Err    error
	Status int
	body   *cappedBuffer
}

func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.obs = Observation{Err: err}
		return nil, err
	}
	buf := &cappedBuffer{max: 64 << 10}
	r.obs = Observation{Status: resp.StatusCode, body: buf}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, buf), resp.Body}
	return resp, nil
}

// Last is what the wire showed of the last round trip.
func (r *Recorder) Last() Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.obs
}

// String is for the server log: the raw error or the status.
func (o Observation) String() string {
	switch {
	case o.Err != nil:
		return "(" + o.Err.Error() + ")"
	case o.Status != 0:
		return fmt.Sprintf("(HTTP %d)", o.Status)
	}
	return "(no request sent)"
}

func (o Observation) object() map[string]json.RawMessage {
	if o.body == nil {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(o.body.Bytes(), &obj) != nil {
		return nil
	}
	return obj
}

// JSONHas reports whether the body is a JSON object with the key.
func (o Observation) JSONHas(key string) bool {
	_, ok := o.object()[key]
	return ok
}

// BitbucketError reports whether the body is Data Center's error shape,
// {"errors":[{"message":...}]}.
func (o Observation) BitbucketError() bool {
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

var (
	_ CredentialChecker = (*BitbucketChecker)(nil)
	_ BranchReader      = (*BitbucketChecker)(nil)
	_ RepositoryChecker = (*BitbucketChecker)(nil)
)
