package orbitapi

import (
	"context"
	"net/url"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

// The wire types are apiwire's, one definition for the server and this client.
type (
	// Integration is a Bitbucket Cloud or Data Center integration; the kind's own
	// fields are pointers, present for the kinds that have them.
	Integration = apiwire.Integration
	// IntegrationRequest is the body of create and of update (a full replacement of
	// the mutable non-secret fields). A nil credential is left out of the request,
	// which on update keeps the stored credential; a non-nil one replaces it.
	IntegrationRequest = apiwire.IntegrationRequest
	// IntegrationWebhook is what a repository webhook needs: where to send and how
	// to sign.
	IntegrationWebhook = apiwire.IntegrationWebhook
	// Validation is the result of checking an integration's credentials.
	Validation = apiwire.Validation
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

func integrationSecrets(r IntegrationRequest) []string {
	var out []string
	for _, secret := range []*string{r.APIToken, r.AppPassword, r.AccessToken} {
		if secret != nil && *secret != "" {
			out = append(out, *secret)
		}
	}
	return out
}

func integrationQuery(r IntegrationRequest) url.Values {
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

// IntegrationsService manages /integrations.
type IntegrationsService struct{ client *Client }

func integrationPath(id string) string { return "/integrations/" + pathEscape(id) }

func (s *IntegrationsService) Create(ctx context.Context, in IntegrationRequest) (*Integration, error) {
	in.Labels = labelsOrEmpty(in.Labels)
	var out Integration
	err := s.client.do(ctx, request{method: "POST", path: "/integrations", query: integrationQuery(in), body: in, secrets: integrationSecrets(in)}, &out)
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
	err := s.client.do(ctx, request{method: "PUT", path: integrationPath(id), query: integrationQuery(in), body: in, secrets: integrationSecrets(in)}, &out)
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

// String is *p, or "" when the answer left the field out (a kind without it).
func String(p *string) string { return apiwire.String(p) }

// Bool is *p, or false when the answer left the field out (a kind without it).
func Bool(p *bool) bool { return apiwire.Bool(p) }

// Bindings lists the stack VCS bindings that use the integration (those of stacks
// the key may read), with the repository names Bitbucket renamed them from.
func (s *IntegrationsService) Bindings(ctx context.Context, id string) ([]StackVCSBinding, error) {
	var out struct {
		Items []StackVCSBinding `json:"items"`
	}
	if err := s.client.do(ctx, request{method: "GET", path: integrationPath(id) + "/bindings"}, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}
