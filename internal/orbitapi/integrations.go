package orbitapi

import (
	"context"
	"net/url"
	"time"
)

// Integration providers (the "provider" discriminator of /integrations).
const (
	ProviderBitbucketCloud      = "bitbucket_cloud"
	ProviderBitbucketDataCenter = "bitbucket_datacenter"
)

// Cloud authentication methods, as reported in Integration.AuthMethod.
const (
	AuthMethodAPIToken    = "api_token"
	AuthMethodAppPassword = "app_password"
)

// Integration is a Bitbucket Cloud or Data Center integration. Credentials are
// write-only: they are never part of an answer.
type Integration struct {
	ID          string   `json:"id"`
	Provider    string   `json:"provider"`
	Name        string   `json:"name"`
	IsDefault   bool     `json:"is_default"`
	SpaceID     string   `json:"space_id"`
	Description string   `json:"description"`
	Labels      []string `json:"labels"`
	VCSChecks   string   `json:"vcs_checks"`
	WebhookURL  string   `json:"webhook_url"`
	// WebhookSecret is only present for a caller with admin on the integration's space.
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// WebhookSecretFingerprint identifies the current secret without revealing it
	// (first 16 hex digits of its SHA-256); every reader sees it.
	WebhookSecretFingerprint string `json:"webhook_secret_fingerprint"`

	// Bitbucket Cloud.
	Email      string `json:"email,omitempty"`
	Username   string `json:"username,omitempty"` // Cloud legacy form; required for Data Center
	AuthMethod string `json:"auth_method,omitempty"`

	// Bitbucket Data Center.
	APIHost        string `json:"api_host,omitempty"`
	UserFacingHost string `json:"user_facing_host,omitempty"`
	UseGitCheckout bool   `json:"use_git_checkout,omitempty"`

	// Warnings the server attaches to a write, e.g. about app passwords.
	Warnings []string `json:"warnings,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IntegrationRequest is the body of create and of update (a full replacement of the
// mutable non-secret fields). A nil credential is left out of the request, which on
// update keeps the stored credential; a non-nil one replaces it.
type IntegrationRequest struct {
	Provider    string   `json:"provider,omitempty"`
	Name        string   `json:"name"`
	IsDefault   bool     `json:"is_default"`
	SpaceID     string   `json:"space_id,omitempty"` // must be empty when IsDefault
	Description string   `json:"description"`
	Labels      []string `json:"labels"`
	VCSChecks   string   `json:"vcs_checks,omitempty"` // empty: individual

	Email       string  `json:"email,omitempty"`
	Username    string  `json:"username,omitempty"`
	APIToken    *string `json:"api_token,omitempty"`
	AppPassword *string `json:"app_password,omitempty"`

	APIHost        string  `json:"api_host,omitempty"`
	UserFacingHost string  `json:"user_facing_host,omitempty"` // empty: api_host
	AccessToken    *string `json:"access_token,omitempty"`
	UseGitCheckout *bool   `json:"use_git_checkout,omitempty"`

	// SkipCredentialCheck sends ?check_credentials=false: the server then does not
	// try the credentials against Bitbucket.
	SkipCredentialCheck bool `json:"-"`
}

func (r IntegrationRequest) secrets() []string {
	var out []string
	for _, secret := range []*string{r.APIToken, r.AppPassword, r.AccessToken} {
		if secret != nil && *secret != "" {
			out = append(out, *secret)
		}
	}
	return out
}

func (r IntegrationRequest) query() url.Values {
	q := url.Values{}
	if r.SkipCredentialCheck {
		q.Set("check_credentials", "false")
	}
	return q
}

// IntegrationListOptions filters GET /integrations.
type IntegrationListOptions struct {
	ListOptions
	Provider string // ProviderBitbucketCloud or ProviderBitbucketDataCenter; empty: both
}

func (o IntegrationListOptions) values() url.Values {
	q := o.ListOptions.values()
	if o.Provider != "" {
		q.Set("provider", o.Provider)
	}
	return q
}

// IntegrationWebhook is what a repository webhook needs: where to send and how to sign.
type IntegrationWebhook struct {
	IntegrationID  string   `json:"integration_id"`
	Provider       string   `json:"provider"`
	WebhookURL     string   `json:"webhook_url"`
	WebhookSecret  string   `json:"webhook_secret"`
	RequiredEvents []string `json:"required_events"`
}

// Validation is the result of checking an integration's credentials against Bitbucket.
type Validation struct {
	Valid   bool   `json:"valid"`
	Reason  string `json:"reason"` // ok, bad_credentials, missing_scope, not_found, unreachable, tls_error, not_bitbucket, host_not_allowed, skipped
	Message string `json:"message"`
}

// IntegrationsService manages /integrations.
type IntegrationsService struct{ client *Client }

func integrationPath(id string) string { return "/integrations/" + pathEscape(id) }

func (s *IntegrationsService) Create(ctx context.Context, in IntegrationRequest) (*Integration, error) {
	in.Labels = labelsOrEmpty(in.Labels)
	var out Integration
	err := s.client.do(ctx, request{method: "POST", path: "/integrations", query: in.query(), body: in, secrets: in.secrets()}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *IntegrationsService) Get(ctx context.Context, id string) (*Integration, error) {
	var out Integration
	if err := s.client.do(ctx, request{method: "GET", path: integrationPath(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *IntegrationsService) Update(ctx context.Context, id string, in IntegrationRequest) (*Integration, error) {
	in.Labels = labelsOrEmpty(in.Labels)
	var out Integration
	err := s.client.do(ctx, request{method: "PUT", path: integrationPath(id), query: in.query(), body: in, secrets: in.secrets()}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *IntegrationsService) Delete(ctx context.Context, id string) error {
	return s.client.do(ctx, request{method: "DELETE", path: integrationPath(id)}, nil)
}

// List returns one page and the token of the next one ("" on the last page).
func (s *IntegrationsService) List(ctx context.Context, opts IntegrationListOptions) ([]Integration, string, error) {
	return listPage[Integration](ctx, s.client, "/integrations", opts.values())
}

// ListAll returns every integration matching opts, following pages.
func (s *IntegrationsService) ListAll(ctx context.Context, opts IntegrationListOptions) ([]Integration, error) {
	return listAll[Integration](ctx, s.client, "/integrations", opts.values())
}

// RotateSecret gives the integration a new webhook secret and returns it.
func (s *IntegrationsService) RotateSecret(ctx context.Context, id string) (*Integration, error) {
	var out Integration
	if err := s.client.do(ctx, request{method: "POST", path: integrationPath(id) + "/rotate-secret"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Webhook returns the webhook URL, secret and required events (admin only).
func (s *IntegrationsService) Webhook(ctx context.Context, id string) (*IntegrationWebhook, error) {
	var out IntegrationWebhook
	if err := s.client.do(ctx, request{method: "GET", path: integrationPath(id) + "/webhook"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Validate checks the stored credentials against Bitbucket.
func (s *IntegrationsService) Validate(ctx context.Context, id string) (*Validation, error) {
	var out Validation
	if err := s.client.do(ctx, request{method: "POST", path: integrationPath(id) + "/validate"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
