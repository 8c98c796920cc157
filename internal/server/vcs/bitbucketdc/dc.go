// Package bitbucketdc is the Bitbucket Data Center kind ("bitbucket_datacenter") of
// the vcs registry: its integration fields (api_host, user_facing_host, username,
// access_token), its credential check against the caller-chosen api_host, its
// webhook deliveries (with the ping) and its commit statuses, on top of the client
// in internal/bitbucket/datacenter. It registers itself when imported. It may import
// vcs, httpx, apiwire, store, egress and the Bitbucket client packages.
package bitbucketdc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/access"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsname"
)

// Kind is Bitbucket Data Center.
type Kind struct{}

func init() { vcs.Register(Kind{}) }

// Name implements vcs.Kind.
func (Kind) Name() store.Provider { return store.ProviderBitbucketDataCenter }

// PathSegment implements vcs.Kind.
func (Kind) PathSegment() string { return "bitbucket-datacenter" }

// DefaultEvents implements vcs.Kind; the client package owns the list.
func (Kind) DefaultEvents() []string { return datacenter.RequiredEvents() }

// CheckNamespace implements vcs.Kind: a project key.
func (Kind) CheckNamespace(namespace string) error {
	return vcsname.CheckNamespace(string(store.ProviderBitbucketDataCenter), namespace)
}

// RepositoryURL implements vcs.Kind: the repository on the user-facing host.
func (Kind) RepositoryURL(b store.StackBinding) string {
	repo := url.PathEscape(b.Repository)
	host := strings.TrimRight(b.Host, "/")
	if user, ok := strings.CutPrefix(b.Namespace, "~"); ok {
		return host + "/users/" + url.PathEscape(strings.ToLower(user)) + "/repos/" + repo
	}
	return host + "/projects/" + url.PathEscape(b.Namespace) + "/repos/" + repo
}

type fieldSet struct {
	field string
	set   bool
}

// BuildIntegration implements vcs.Kind.
func (Kind) BuildIntegration(req *apiwire.IntegrationRequest, in store.Integration, current *store.Integration) (store.Integration, *vcs.PendingCredential, error) {
	for _, c := range []fieldSet{
		{"email", req.Email != ""}, {"api_token", req.APIToken != nil}, {"app_password", req.AppPassword != nil},
	} {
		if c.set {
			return in, nil, httpx.InvalidArg(c.field, "%s is a bitbucket_cloud field, not used by bitbucket_datacenter", c.field)
		}
	}
	in.Email, in.AuthMethod = "", ""
	if req.APIHost == "" {
		return in, nil, httpx.InvalidArg("api_host", "api_host is required: an https:// URL or private://<pool>")
	}
	private, err := validateAPIHost(req.APIHost)
	if err != nil {
		return in, nil, err
	}
	in.APIHost = req.APIHost
	switch {
	case req.UserFacingHost != "":
		if err := validateServerURL("user_facing_host", req.UserFacingHost); err != nil {
			return in, nil, err
		}
		in.UserFacingHost = req.UserFacingHost
	case private:
		return in, nil, httpx.InvalidArg("user_facing_host", "user_facing_host is required when api_host is private://…, since users cannot open that address")
	default:
		in.UserFacingHost = req.APIHost
	}
	if req.Username == "" {
		return in, nil, httpx.InvalidArg("username", "username is required")
	}
	in.Username = req.Username
	in.UseGitCheckout = apiwire.Bool(req.UseGitCheckout)
	var cred *vcs.PendingCredential
	switch {
	case req.AccessToken != nil:
		cred = &vcs.PendingCredential{Field: "access_token", Plaintext: *req.AccessToken}
	case current == nil:
		return in, nil, httpx.InvalidArg("access_token", "access_token is required")
	}
	return in, cred, nil
}

// validateAPIHost accepts an https URL or private://<pool>; private reports the latter.
func validateAPIHost(raw string) (private bool, err error) {
	if pool, ok := strings.CutPrefix(raw, "private://"); ok {
		if !rules.Pool.MatchString(pool) {
			return true, httpx.InvalidArg("api_host", "api_host private://<pool>: pool must match %s", rules.Pool.String())
		}
		return true, nil
	}
	return false, validateServerURL("api_host", raw)
}

// validateServerURL is validateHTTPSURL, except that plain http:// is accepted on a
// loopback host, so that a local sandbox can stand in for Bitbucket Data Center.
func validateServerURL(field, raw string) error {
	if u, err := url.Parse(raw); err == nil && u.Scheme == "http" {
		if !bitbucket.IsLoopbackHost(u.Hostname()) {
			return httpx.InvalidArg(field, "%s may use http:// only on a loopback host (localhost, 127.0.0.0/8, ::1); use https://", field)
		}
		// Checked as https otherwise: the same rules on host, user info, query and fragment.
		u.Scheme = "https"
		return validateHTTPSURL(field, u.String())
	}
	return validateHTTPSURL(field, raw)
}

func validateHTTPSURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Hostname() == "" {
		if field == "api_host" {
			return httpx.InvalidArg(field, "api_host must be an https:// URL or private://<pool>")
		}
		return httpx.InvalidArg(field, "%s must be an https:// URL", field)
	}
	if u.User != nil {
		return httpx.InvalidArg(field, "%s must not contain user info; credentials go in their own fields", field)
	}
	// The rest (query, fragment, port 1-65535) as the provider checks it.
	if problem := rules.URLProblem(raw, rules.URLRule{}); problem != "" {
		return httpx.InvalidArg(field, "%s is not acceptable: %s", field, problem)
	}
	return nil
}

// RenderIntegration implements vcs.Kind.
func (Kind) RenderIntegration(in store.Integration, resp *apiwire.Integration) {
	apiHost, userFacing, gitCheckout := in.APIHost, in.UserFacingHost, in.UseGitCheckout
	resp.APIHost, resp.UserFacingHost, resp.UseGitCheckout = &apiHost, &userFacing, &gitCheckout
}

// CredentialField implements vcs.Kind: connection failures concern api_host.
func (Kind) CredentialField(_ store.Integration, reason string) string {
	switch reason {
	case vcs.CheckUnreachable, vcs.CheckTLSError, vcs.CheckNotBitbucket, vcs.CheckHostNotAllowed:
		return "api_host"
	}
	return "access_token"
}

// CheckCredentials implements vcs.Kind with a one-item project list on api_host, then
// a one-item list of the repositories the token holds REPO_READ on (what everything
// orbit-server does with it needs, per Atlassian's description: access.DataCenter).
// api_host is the caller's choice: it is reached through the egress policy, and
// answered with a few fixed messages (the raw outcome goes to Detail, for the log).
func (Kind) CheckCredentials(ctx context.Context, env vcs.CheckEnv, in store.Integration, secret string) vcs.CredentialCheck {
	if pool, ok := vcs.PrivatePool(in.APIHost); ok {
		opts, rec, ok := env.AgentClient(in, pool)
		if !ok {
			return vcs.CredentialCheck{Valid: true, Reason: vcs.CheckSkipped,
				Message: "api_host is a private worker pool (" + in.APIHost + "), and this server takes no VCS agents; the credential was not checked"}
		}
		return checkWith(ctx, in.APIHost, secret, opts, rec)
	}
	host := vcs.HostOf(in.APIHost)
	if err := env.Policy.CheckHost(vcs.HostnameOf(in.APIHost)); err != nil {
		return vcs.CredentialCheck{Valid: false, Reason: vcs.CheckHostNotAllowed, Message: vcs.HostNotAllowedMessage(host), Detail: err.Error()}
	}
	opts, rec := env.Client(true)
	return checkWith(ctx, host, secret, append(opts, bitbucket.WithBaseURL(in.APIHost)), rec)
}

// checkWith makes the check with a client of opts (base URL included); host names
// the far end in messages (api_host's host, or private://<pool>).
func checkWith(ctx context.Context, host, secret string, opts []bitbucket.Option, rec *vcs.Recorder) vcs.CredentialCheck {
	client, err := datacenter.New(bitbucket.Secret(secret), opts...)
	if err != nil {
		return vcs.CredentialCheck{Valid: false, Reason: vcs.CheckNotBitbucket, Message: "api_host is not a URL orbit-server can check", Detail: err.Error()}
	}
	result := client.CheckCredentials(ctx, datacenter.CheckTarget{SomeRepository: true})
	check := classify(host, result, rec.Last())
	check.Detail = strings.TrimSpace(result.Message + " " + rec.Last().String())
	return check
}

// refClient is the client of BranchHead and CheckRepository: api_host, which the
// integration's admin chose, through the egress policy like the credential check,
// or a private://<pool> through the pool's agents. ok is false (and the client nil)
// for a private pool on a server that takes no agents.
func refClient(env vcs.CheckEnv, in store.Integration, secret string) (client *datacenter.Client, where string, rec *vcs.Recorder, ok bool, err error) {
	var opts []bitbucket.Option
	if pool, private := vcs.PrivatePool(in.APIHost); private {
		opts, rec, ok = env.AgentClient(in, pool)
		if !ok {
			return nil, "", nil, false, nil
		}
		where = fmt.Sprintf("Bitbucket Data Center (through the agents of pool %q)", pool)
	} else {
		host := vcs.HostOf(in.APIHost)
		if err := env.Policy.CheckHost(vcs.HostnameOf(in.APIHost)); err != nil {
			return nil, "", nil, false, &vcs.RefError{Reason: vcs.RefUnreachable, Message: vcs.HostNotAllowedMessage(host), Detail: err.Error()}
		}
		opts, _ = env.Client(true)
		opts = append(opts, bitbucket.WithBaseURL(in.APIHost))
		where = "Bitbucket Data Center at " + host
	}
	client, err = datacenter.New(bitbucket.Secret(secret), opts...)
	if err != nil {
		return nil, "", nil, false, &vcs.RefError{Reason: vcs.RefUnreachable, Message: "api_host is not a URL orbit-server can ask", Detail: err.Error()}
	}
	return client, where, rec, true, nil
}

// BranchHead implements vcs.Kind with GET .../branches?filterText= on api_host. A
// private worker pool cannot be asked: unreachable, with what to do instead.
func (Kind) BranchHead(ctx context.Context, env vcs.CheckEnv, in store.Integration, secret, namespace, repository, branch string) (string, error) {
	client, where, rec, ok, err := refClient(env, in, secret)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &vcs.RefError{Reason: vcs.RefUnreachable, Message: fmt.Sprintf("api_host is a private worker pool (%s), which orbit-server cannot reach: it cannot ask for the head of branch %q of %s/%s; push to the branch (the webhook starts a run)", in.APIHost, branch, namespace, repository)}
	}
	b, err := client.Branch(ctx, namespace, repository, branch)
	if err != nil {
		return "", refError(rec, where, namespace, repository, branch, err)
	}
	if b.LatestCommit == "" {
		return "", &vcs.RefError{Reason: vcs.RefUnreachable, Message: fmt.Sprintf("%s named no head commit for branch %q of %s/%s; try again later", where, branch, namespace, repository)}
	}
	return b.LatestCommit, nil
}

// CheckRepository implements vcs.Kind with GET .../repos/{slug} on api_host. A
// private worker pool is not checked (as its credential is not): orbit-server cannot
// reach it by design, and says so in the integration's validation.
func (Kind) CheckRepository(ctx context.Context, env vcs.CheckEnv, in store.Integration, secret, namespace, repository string) error {
	client, where, rec, ok, err := refClient(env, in, secret)
	if err != nil || !ok {
		return err
	}
	if _, err := client.GetRepository(ctx, namespace, repository); err != nil {
		return refError(rec, where, namespace, repository, "", err)
	}
	return nil
}

// refError is vcs.ClassifyRefError, except that a request no agent of the pool
// could carry (rec saw a *vcs.NoAgentError) says so.
func refError(rec *vcs.Recorder, where, namespace, repository, branch string, err error) *vcs.RefError {
	var noAgent *vcs.NoAgentError
	if rec != nil && errors.As(rec.Last().Err, &noAgent) {
		return &vcs.RefError{Reason: vcs.RefUnreachable, Message: noAgent.Error(), Detail: err.Error()}
	}
	return vcs.ClassifyRefError(where, namespace, repository, branch, err)
}

// classify turns what happened on the wire into one of a few fixed messages. A
// Data Center api_host is the caller's choice, so nothing the far end said (error
// text, body, status line of a non-Bitbucket service) reaches the caller.
func classify(host string, result bitbucket.CheckResult, obs vcs.Observation) vcs.CredentialCheck {
	const product = "Bitbucket Data Center"
	if check, ok := vcs.ClassifyConnection(product, host, obs); ok {
		return check
	}
	notBitbucket := vcs.CredentialCheck{Reason: vcs.CheckNotBitbucket,
		Message: host + " answered, but not as Bitbucket Data Center; check api_host, including any context path such as /bitbucket"}
	switch {
	case obs.Status == 0:
		return notBitbucket
	case obs.Status == http.StatusOK:
		switch {
		case !obs.JSONHas("isLastPage"):
			return notBitbucket
		case result.OK():
			return vcs.CredentialCheck{Valid: true, Reason: vcs.CheckOK,
				Message: "access token accepted by Bitbucket Data Center; it holds " + access.RepoRead + " on at least one repository (each bound repository is checked when it is bound)"}
		case result.Reason == bitbucket.ReasonMissingScope:
			return vcs.CredentialCheck{Reason: vcs.CheckMissingScope,
				Message: fmt.Sprintf("%s at %s accepted the access token, but it holds %s on no repository: orbit-server needs %s on every bound repository (to %s); grant the token repository read (or project read) permission", product, host, access.RepoRead, access.RepoRead, dcNeeds())}
		}
		return notBitbucket
	case obs.Status == http.StatusTooManyRequests || obs.Status >= 500:
		return vcs.CredentialCheck{Reason: vcs.CheckUnreachable,
			Message: fmt.Sprintf("%s at %s could not be reached: it answered with a server error or asked to slow down; try again later", product, host)}
	case (obs.Status == http.StatusUnauthorized || obs.Status == http.StatusForbidden) && obs.BitbucketError():
		if result.Reason == bitbucket.ReasonMissingScope {
			return vcs.CredentialCheck{Reason: vcs.CheckMissingScope,
				Message: fmt.Sprintf("%s at %s accepted the access token, but it may not read the project list (%d); grant it at least project read permission", product, host, obs.Status)}
		}
		return vcs.CredentialCheck{Reason: vcs.CheckBadCredentials,
			Message: fmt.Sprintf("%s at %s rejected the access token (%d); check that the HTTP access token is valid and not expired", product, host, obs.Status)}
	}
	return notBitbucket
}

// dcNeeds is what orbit-server does with REPO_READ, from access.DataCenter.
func dcNeeds() string {
	var uses []string
	for _, op := range access.ServerUses(access.DataCenter) {
		if op.Permission == access.RepoRead && !slices.Contains(uses, op.Use) {
			uses = append(uses, op.Use)
		}
	}
	return strings.Join(uses, "; ")
}

// ReadDelivery implements vcs.Kind: Data Center sends X-Request-Id, and a
// diagnostics:ping when an admin tests the hook.
func (Kind) ReadDelivery(header http.Header) vcs.Delivery {
	eventKey := header.Get("X-Event-Key")
	return vcs.Delivery{Ping: eventKey == datacenter.EventPing, EventKey: eventKey, RequestID: header.Get("X-Request-Id"), Attempt: 1,
		Unsigned: header.Get(bitbucket.SignatureHeader) == ""}
}

// VerifyDelivery implements vcs.Kind: the X-Hub-Signature HMAC.
func (Kind) VerifyDelivery(header http.Header, body []byte, current, previous bitbucket.Secret) int {
	return bitbucket.VerifySignature(header.Get(bitbucket.SignatureHeader), body, current, previous)
}

// ParseEvent implements vcs.Kind.
func (Kind) ParseEvent(eventKey string, body []byte) (bitbucket.WebhookEvent, error) {
	return datacenter.ParseWebhook(eventKey, body)
}

// client builds the Data Center client of in. api_host is what the integration's
// admin chose, so it is reached only through the egress policy; a private://<pool>
// through the pool's agents (memo then tells a missing agent from other failures).
func client(env vcs.StatusEnv, in store.Integration, secret string) (*datacenter.Client, *noAgentMemo, error) {
	opts := env.Options
	var memo *noAgentMemo
	if pool, ok := vcs.PrivatePool(in.APIHost); ok {
		if env.Agents == nil {
			return nil, nil, &vcs.StatusRefusal{Msg: fmt.Sprintf("api_host is the private worker pool %q, and this server takes no VCS agents", pool)}
		}
		memo = &noAgentMemo{base: env.Agents.Transport(in, pool)}
		opts = append(append([]bitbucket.Option{}, opts...), bitbucket.WithHTTPClient(&http.Client{Transport: memo}), bitbucket.WithBaseURL(vcs.AgentBaseURL))
	} else {
		if u, err := url.Parse(in.APIHost); err == nil {
			if err := env.Egress.CheckHost(u.Hostname()); err != nil {
				return nil, nil, &vcs.StatusRefusal{Msg: fmt.Sprintf("orbit-server may not connect to %s: it is outside the hosts the operator allows (--bitbucket-allowed-hosts), or a link-local or cloud metadata address", u.Host)}
			}
		}
		if env.CallerClient != nil {
			opts = append(append([]bitbucket.Option{}, opts...), bitbucket.WithHTTPClient(env.CallerClient))
		}
		opts = append(opts, bitbucket.WithBaseURL(in.APIHost))
	}
	c, err := datacenter.New(bitbucket.Secret(secret), opts...)
	if err != nil {
		return nil, nil, &vcs.StatusRefusal{Msg: "cannot build the Bitbucket Data Center client: " + err.Error()}
	}
	return c, memo, nil
}

// noAgentMemo is a pool's transport that remembers when no agent was connected:
// the Bitbucket client reports transport errors as text, and the queue must tell
// "no agent" (wait for one) from other failures.
type noAgentMemo struct {
	base    http.RoundTripper
	noAgent atomic.Pointer[vcs.NoAgentError]
}

func (m *noAgentMemo) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.base.RoundTrip(req)
	var noAgent *vcs.NoAgentError
	if errors.As(err, &noAgent) {
		m.noAgent.Store(noAgent)
	}
	return resp, err
}

// explain is err, or the *vcs.NoAgentError behind it.
func (m *noAgentMemo) explain(err error) error {
	if err == nil || m == nil {
		return err
	}
	if noAgent := m.noAgent.Swap(nil); noAgent != nil {
		return noAgent
	}
	return err
}

// NewStatusPoster implements vcs.Kind: statuses go to api_host, through the egress policy.
func (Kind) NewStatusPoster(env vcs.StatusEnv, in store.Integration, secret string, run store.Run) (vcs.StatusPoster, error) {
	client, memo, err := client(env, in, secret)
	if err != nil {
		var refusal *vcs.StatusRefusal
		if errors.As(err, &refusal) {
			return nil, &vcs.StatusRefusal{Msg: refusal.Msg + ": commit statuses are not posted"}
		}
		return nil, err
	}
	return func(ctx context.Context, st vcs.CommitStatus) error {
		state := datacenter.BuildState(st.State)
		if st.State == "STOPPED" {
			state = datacenter.StateCancelled
		}
		return memo.explain(client.SetBuildStatus(ctx, run.Namespace, run.Repository, run.Commit, datacenter.BuildStatusRequest{
			Key: st.Key, State: state, Name: st.Name, Description: st.Description, URL: st.URL, Ref: "refs/heads/" + run.Branch}))
	}, nil
}

// BranchURL implements vcs.LinkBuilder: the repository browsed at the branch, on
// the user-facing host.
func (k Kind) BranchURL(b store.StackBinding, branch string) string {
	return k.RepositoryURL(b) + "/browse?at=" + url.QueryEscape("refs/heads/"+branch)
}

// CommitURL implements vcs.LinkBuilder.
func (k Kind) CommitURL(b store.StackBinding, commit string) string {
	return k.RepositoryURL(b) + "/commits/" + url.PathEscape(commit)
}

// PullRequestURL implements vcs.LinkBuilder.
func (k Kind) PullRequestURL(b store.StackBinding, id int64) string {
	return k.RepositoryURL(b) + "/pull-requests/" + strconv.FormatInt(id, 10)
}

// ChangedPaths implements vcs.Kind: the pull request's changes, or compare/changes of
// the push's range (a new branch: "to" left out, the repository's default branch).
func (Kind) ChangedPaths(ctx context.Context, env vcs.StatusEnv, in store.Integration, secret string, ch vcs.Change) ([]string, error) {
	client, memo, err := client(env, in, secret)
	if err != nil {
		return nil, err
	}
	if ch.PullRequest > 0 {
		paths, err := client.PullRequestChangedPaths(ctx, ch.Namespace, ch.Repository, ch.PullRequest)
		return paths, memo.explain(err)
	}
	paths, err := client.CompareChangedPaths(ctx, ch.Namespace, ch.Repository, ch.Commit, ch.Old)
	return paths, memo.explain(err)
}
