// Package bitbucketcloud is the Bitbucket Cloud kind ("bitbucket_cloud") of the vcs
// registry: its integration fields (email + api_token, or the legacy username +
// app_password), its credential check, its webhook deliveries and its commit
// statuses, on top of the client in internal/bitbucket/cloud. It registers itself
// when imported. It may import vcs, httpx, apiwire, store and the Bitbucket client
// packages.
package bitbucketcloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/access"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsname"
)

const (
	authAPIToken    = "api_token"
	authAppPassword = "app_password"

	appPasswordWarning = "Bitbucket Cloud stopped accepting app passwords on 2026-07-28: this integration " +
		"cannot authenticate. Create an API token in Bitbucket (Personal settings > Atlassian account " +
		"settings > Security > API tokens) and update the integration with email + api_token."
)

// Kind is Bitbucket Cloud.
type Kind struct{}

func init() { vcs.Register(Kind{}) }

// Name implements vcs.Kind.
func (Kind) Name() store.Provider { return store.ProviderBitbucketCloud }

// PathSegment implements vcs.Kind.
func (Kind) PathSegment() string { return "bitbucket-cloud" }

// DefaultEvents implements vcs.Kind; the client package owns the list.
func (Kind) DefaultEvents() []string { return cloud.RequiredEvents() }

// CheckNamespace implements vcs.Kind: a workspace slug.
func (Kind) CheckNamespace(namespace string) error {
	return vcsname.CheckNamespace(string(store.ProviderBitbucketCloud), namespace)
}

// RepositoryURL implements vcs.Kind: the repository on bitbucket.org.
func (Kind) RepositoryURL(b store.StackBinding) string {
	return "https://bitbucket.org/" + url.PathEscape(b.Namespace) + "/" + url.PathEscape(b.Repository)
}

type fieldSet struct {
	field string
	set   bool
}

// BuildIntegration implements vcs.Kind.
func (Kind) BuildIntegration(req *apiwire.IntegrationRequest, in store.Integration, current *store.Integration) (store.Integration, *vcs.PendingCredential, error) {
	for _, c := range []fieldSet{
		{"api_host", req.APIHost != ""}, {"user_facing_host", req.UserFacingHost != ""},
		{"use_git_checkout", apiwire.Bool(req.UseGitCheckout)}, {"access_token", req.AccessToken != nil},
	} {
		if c.set {
			return in, nil, httpx.InvalidArg(c.field, "%s is a bitbucket_datacenter field, not used by bitbucket_cloud", c.field)
		}
	}
	in.APIHost, in.UserFacingHost, in.UseGitCheckout = "", "", false
	in.Email, in.Username = req.Email, req.Username

	authMethod := ""
	var cred *vcs.PendingCredential
	switch {
	case req.AppPassword != nil:
		if req.APIToken != nil || req.Email != "" {
			return in, nil, httpx.InvalidArg("app_password", "use either email + api_token or the legacy username + app_password, not both")
		}
		authMethod = authAppPassword
		cred = &vcs.PendingCredential{Field: "app_password", Plaintext: *req.AppPassword}
	case req.APIToken != nil:
		authMethod = authAPIToken
		cred = &vcs.PendingCredential{Field: "api_token", Plaintext: *req.APIToken}
	case current != nil && current.AuthMethod == authAppPassword && req.Email == "":
		authMethod = authAppPassword
	case current != nil && current.AuthMethod == authAppPassword:
		return in, nil, httpx.InvalidArg("api_token", "api_token is required to switch from app_password to email + api_token")
	case current != nil:
		authMethod = authAPIToken
	case req.Username != "" && req.Email == "":
		return in, nil, httpx.InvalidArg("app_password", "app_password is required with username (better: use email + api_token)")
	default:
		if req.Email != "" {
			if err := validateEmail(req.Email); err != nil {
				return in, nil, err
			}
		}
		return in, nil, httpx.InvalidArg("api_token", "api_token is required")
	}
	in.AuthMethod = authMethod
	if authMethod == authAppPassword {
		if in.Username == "" {
			return in, nil, httpx.InvalidArg("username", "username is required with app_password")
		}
	} else {
		if in.Email == "" {
			return in, nil, httpx.InvalidArg("email", "email is required with api_token")
		}
		if err := validateEmail(in.Email); err != nil {
			return in, nil, err
		}
	}
	return in, cred, nil
}

func validateEmail(email string) error {
	if rules.EmailProblem(email) != "" {
		return httpx.InvalidArg("email", "email must be a plain address such as dev@example.com")
	}
	return nil
}

// RenderIntegration implements vcs.Kind.
func (Kind) RenderIntegration(in store.Integration, resp *apiwire.Integration) {
	email, auth := in.Email, in.AuthMethod
	resp.Email, resp.AuthMethod = &email, &auth
	if auth == authAppPassword {
		resp.Warnings = append(resp.Warnings, appPasswordWarning)
	}
}

// CredentialField implements vcs.Kind: connection failures concern the operator's
// URL, no field of the request.
func (Kind) CredentialField(in store.Integration, reason string) string {
	switch reason {
	case vcs.CheckUnreachable, vcs.CheckTLSError, vcs.CheckNotBitbucket, vcs.CheckHostNotAllowed:
		return ""
	}
	if in.AuthMethod == authAppPassword {
		return "app_password"
	}
	return "api_token"
}

func credential(in store.Integration, secret bitbucket.Secret) cloud.Credential {
	if in.AuthMethod == authAppPassword {
		return cloud.AppPassword(in.Username, secret)
	}
	return cloud.APIToken(in.Email, secret)
}

// product names Bitbucket Cloud in messages.
const product = "Bitbucket Cloud"

// CheckCredentials implements vcs.Kind with GET /2.0/user on the operator's URL, and
// the scopes Bitbucket answers the token holds (checkScopes).
func (Kind) CheckCredentials(ctx context.Context, env vcs.CheckEnv, in store.Integration, secret string) vcs.CredentialCheck {
	opts, rec := env.Client(false)
	client, err := cloud.New(credential(in, bitbucket.Secret(secret)), append(opts, bitbucket.WithBaseURL(env.CloudBaseURL))...)
	if err != nil {
		return vcs.CredentialCheck{Valid: false, Reason: vcs.CheckUnreachable, Message: "cannot check the credential: the Bitbucket Cloud API URL is not usable", Detail: err.Error()}
	}
	host := vcs.HostOf(env.CloudBaseURL)
	result := client.CheckCredentials(ctx, cloud.CheckTarget{})
	if check, ok := vcs.ClassifyConnection(product, host, rec.Last()); ok && !result.OK() {
		check.Detail = result.Message
		return check
	}
	// Past the connection, the answer comes from the Bitbucket Cloud the operator
	// configured, so its own explanation is passed on.
	check := vcs.CredentialCheck{Valid: result.OK(), Reason: string(result.Reason), Message: result.Message, Detail: result.Message}
	if result.OK() {
		check = checkScopes(check, result)
	}
	return check
}

// checkScopes proves, from the scopes Bitbucket reported the token holds
// (X-OAuth-Scopes), that it may do everything orbit-server does with it
// (access.CloudRequiredScopes, from Atlassian's description); a token lacking one is
// refused, naming it and what needs it. When Bitbucket reports no API token scopes,
// nothing more can be proven without a repository: the check passes and says so
// (a binding's check then reads the repository with the token).
func checkScopes(check vcs.CredentialCheck, result bitbucket.CheckResult) vcs.CredentialCheck {
	required := strings.Join(access.CloudRequiredScopes(), ", ")
	if !result.ScopesReported || !slices.ContainsFunc(result.Scopes, access.IsScope) {
		check.Message += "; Bitbucket did not report the token's API token scopes, so they were not proven (orbit-server needs " + required + ")"
		check.Detail = check.Message
		return check
	}
	missing := access.MissingCloudScopes(result.Scopes)
	if len(missing) == 0 {
		check.Message += "; the token holds every scope orbit-server needs (" + required + ")"
		check.Detail = check.Message
		return check
	}
	var needs []string
	for _, m := range missing {
		needs = append(needs, m+" (to "+access.NeededFor(m)+")")
	}
	check.Valid, check.Reason = false, vcs.CheckMissingScope
	check.Message = fmt.Sprintf("the API token lacks the scope(s) %s; Bitbucket reports it holds %s. "+
		"Create an API token with the scopes %s", strings.Join(needs, ", "), strings.Join(result.Scopes, ", "), required)
	check.Detail = check.Message
	return check
}

// refClient is the client of BranchHead and CheckRepository: the operator's URL.
func refClient(env vcs.CheckEnv, in store.Integration, secret string) (*cloud.Client, error) {
	opts, _ := env.Client(false)
	client, err := cloud.New(credential(in, bitbucket.Secret(secret)), append(opts, bitbucket.WithBaseURL(env.CloudBaseURL))...)
	if err != nil {
		return nil, &vcs.RefError{Reason: vcs.RefUnreachable, Message: "cannot ask Bitbucket Cloud: its API URL or the integration's credential is not usable", Detail: err.Error()}
	}
	return client, nil
}

// BranchHead implements vcs.Kind with GET .../refs/branches/{name} on the operator's URL.
func (Kind) BranchHead(ctx context.Context, env vcs.CheckEnv, in store.Integration, secret, namespace, repository, branch string) (string, error) {
	client, err := refClient(env, in, secret)
	if err != nil {
		return "", err
	}
	b, err := client.GetBranch(ctx, namespace, repository, branch)
	if err != nil {
		return "", vcs.ClassifyRefError(product, namespace, repository, branch, err)
	}
	if b.Target.Hash == "" {
		return "", &vcs.RefError{Reason: vcs.RefUnreachable, Message: fmt.Sprintf("%s named no head commit for branch %q of %s/%s; try again later", product, branch, namespace, repository)}
	}
	return b.Target.Hash, nil
}

// CheckRepository implements vcs.Kind with GET /2.0/repositories/{workspace}/{slug}.
func (Kind) CheckRepository(ctx context.Context, env vcs.CheckEnv, in store.Integration, secret, namespace, repository string) error {
	client, err := refClient(env, in, secret)
	if err != nil {
		return err
	}
	if _, err := client.GetRepository(ctx, namespace, repository); err != nil {
		return vcs.ClassifyRefError(product, namespace, repository, "", err)
	}
	return nil
}

// ReadDelivery implements vcs.Kind: Cloud sends X-Request-UUID and counts its
// retries in X-Attempt-Number; it has no ping.
func (Kind) ReadDelivery(header http.Header) vcs.Delivery {
	d := vcs.Delivery{EventKey: header.Get("X-Event-Key"), RequestID: header.Get("X-Request-UUID"), Attempt: 1,
		Unsigned: header.Get(bitbucket.SignatureHeader) == ""}
	if n, err := strconv.Atoi(header.Get("X-Attempt-Number")); err == nil && n > 0 {
		d.Attempt = n
	}
	return d
}

// VerifyDelivery implements vcs.Kind: the X-Hub-Signature HMAC.
func (Kind) VerifyDelivery(header http.Header, body []byte, current, previous bitbucket.Secret) int {
	return bitbucket.VerifySignature(header.Get(bitbucket.SignatureHeader), body, current, previous)
}

// ParseEvent implements vcs.Kind.
func (Kind) ParseEvent(eventKey string, body []byte) (bitbucket.WebhookEvent, error) {
	return cloud.ParseWebhook(eventKey, body)
}

// client builds the Bitbucket Cloud client of in: it talks to the operator's Cloud URL.
func client(env vcs.StatusEnv, in store.Integration, secret string) (*cloud.Client, error) {
	opts := env.Options
	if env.OperatorClient != nil {
		opts = append(opts, bitbucket.WithHTTPClient(env.OperatorClient))
	}
	c, err := cloud.New(credential(in, bitbucket.Secret(secret)), append(opts, bitbucket.WithBaseURL(env.CloudAPIURL))...)
	if err != nil {
		return nil, &vcs.StatusRefusal{Msg: "cannot build the Bitbucket Cloud client: " + err.Error()}
	}
	return c, nil
}

// NewStatusPoster implements vcs.Kind: statuses go to the operator's Cloud URL.
func (Kind) NewStatusPoster(env vcs.StatusEnv, in store.Integration, secret string, run store.Run) (vcs.StatusPoster, error) {
	client, err := client(env, in, secret)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, st vcs.CommitStatus) error {
		_, err := client.SetBuildStatus(ctx, run.Namespace, run.Repository, run.Commit, cloud.BuildStatusRequest{
			Key: st.Key, State: cloud.BuildState(st.State), Name: st.Name, Description: st.Description, URL: st.URL, Refname: run.Branch})
		var appPassword *cloud.AppPasswordRejectedError
		if errors.As(err, &appPassword) {
			return &vcs.StatusRefusal{Msg: "Bitbucket refused the commit status: " + appPassword.Error()}
		}
		return err
	}, nil
}

// BranchURL implements vcs.LinkBuilder: the branch's source view on bitbucket.org.
func (k Kind) BranchURL(b store.StackBinding, branch string) string {
	return k.RepositoryURL(b) + "/branch/" + url.PathEscape(branch)
}

// CommitURL implements vcs.LinkBuilder.
func (k Kind) CommitURL(b store.StackBinding, commit string) string {
	return k.RepositoryURL(b) + "/commits/" + url.PathEscape(commit)
}

// PullRequestURL implements vcs.LinkBuilder.
func (k Kind) PullRequestURL(b store.StackBinding, id int64) string {
	return k.RepositoryURL(b) + "/pull-requests/" + strconv.FormatInt(id, 10)
}

// ChangedPaths implements vcs.Kind: the diffstat of the pull request, or of the
// push's range (a new branch: against the repository's main branch, read first).
func (Kind) ChangedPaths(ctx context.Context, env vcs.StatusEnv, in store.Integration, secret string, ch vcs.Change) ([]string, error) {
	client, err := client(env, in, secret)
	if err != nil {
		return nil, err
	}
	if ch.PullRequest > 0 {
		return client.PullRequestChangedPaths(ctx, ch.Namespace, ch.Repository, ch.PullRequest)
	}
	old := ch.Old
	if old == "" {
		repo, err := client.GetRepository(ctx, ch.Namespace, ch.Repository)
		if err != nil {
			return nil, err
		}
		if repo.MainBranch == nil || repo.MainBranch.Name == "" {
			return nil, errors.New("the repository has no main branch to compare the new branch with")
		}
		old = repo.MainBranch.Name
	}
	return client.ChangedPaths(ctx, ch.Namespace, ch.Repository, ch.Commit, old)
}
