package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// BitbucketChecker checks integration credentials against Bitbucket itself: Cloud with
// GET /2.0/user, Data Center with a one-item project list on the integration's api_host.
type BitbucketChecker struct {
	// CloudBaseURL is Bitbucket Cloud's API origin; empty means https://api.bitbucket.org.
	CloudBaseURL string
	// HTTPClient, when set, sends the checks (e.g. to trust a test certificate).
	HTTPClient *http.Client
	// UserAgent, when set, replaces the default user agent.
	UserAgent string
	// Timeout bounds one check, retries included; zero means 20s. An API request
	// waits on it, so it stays short.
	Timeout time.Duration
}

// checkRetryPolicy retries a busy Bitbucket briefly: the caller is waiting.
var checkRetryPolicy = bitbucket.RetryPolicy{
	MaxRetries:    2,
	MinBackoff:    200 * time.Millisecond,
	MaxBackoff:    2 * time.Second,
	MaxRetryAfter: 5 * time.Second,
}

// Check implements CredentialChecker.
func (c *BitbucketChecker) Check(ctx context.Context, in store.Integration, credential string) CredentialCheck {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	opts := []bitbucket.Option{bitbucket.WithRetryPolicy(checkRetryPolicy)}
	if c.HTTPClient != nil {
		opts = append(opts, bitbucket.WithHTTPClient(c.HTTPClient))
	}
	if c.UserAgent != "" {
		opts = append(opts, bitbucket.WithUserAgent(c.UserAgent))
	}

	switch in.Provider {
	case store.ProviderBitbucketCloud:
		return c.checkCloud(ctx, in, bitbucket.Secret(credential), opts)
	case store.ProviderBitbucketDataCenter:
		return c.checkDataCenter(ctx, in, bitbucket.Secret(credential), opts)
	default:
		return CredentialCheck{Valid: true, Reason: CheckSkipped, Message: "no credential check for provider " + string(in.Provider)}
	}
}

func (c *BitbucketChecker) checkCloud(ctx context.Context, in store.Integration, secret bitbucket.Secret, opts []bitbucket.Option) CredentialCheck {
	base := c.CloudBaseURL
	if base == "" {
		base = bitbucket.DefaultCloudBaseURL
	}
	credential := cloud.APIToken(in.Email, secret)
	if in.AuthMethod == authAppPassword {
		credential = cloud.AppPassword(in.Username, secret)
	}
	client, err := cloud.New(credential, append(opts, bitbucket.WithBaseURL(base))...)
	if err != nil {
		return CredentialCheck{Valid: false, Reason: CheckBadCredentials, Message: "cannot check the credential: " + err.Error()}
	}
	return fromResult(client.CheckCredentials(ctx, cloud.CheckTarget{}))
}

func (c *BitbucketChecker) checkDataCenter(ctx context.Context, in store.Integration, secret bitbucket.Secret, opts []bitbucket.Option) CredentialCheck {
	if strings.HasPrefix(in.APIHost, "private://") {
		return CredentialCheck{Valid: true, Reason: CheckSkipped,
			Message: "api_host is a private worker pool (" + in.APIHost + "), which orbit-server cannot reach; the credential was not checked"}
	}
	client, err := datacenter.New(secret, append(opts, bitbucket.WithBaseURL(in.APIHost))...)
	if err != nil {
		return CredentialCheck{Valid: false, Reason: CheckUnreachable, Message: "cannot check the credential: " + err.Error()}
	}
	return fromResult(client.CheckCredentials(ctx, datacenter.CheckTarget{}))
}

// fromResult maps the client's result; its reasons are the API's reasons.
func fromResult(r bitbucket.CheckResult) CredentialCheck {
	return CredentialCheck{Valid: r.OK(), Reason: string(r.Reason), Message: r.Message}
}

var _ CredentialChecker = (*BitbucketChecker)(nil)
