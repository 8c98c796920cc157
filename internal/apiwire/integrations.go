package apiwire

// IntegrationRequest is the body of POST and PUT /integrations (PUT replaces the
// mutable non-secret fields). Credentials are pointers: absent (or null) keeps the
// stored one on PUT, a value replaces it, "" is rejected. The omitted empty fields
// read as their zero value, so leaving them out changes nothing.
type IntegrationRequest struct {
	Provider    string   `json:"provider,omitempty"`
	Name        string   `json:"name"`
	IsDefault   bool     `json:"is_default"`
	SpaceID     string   `json:"space_id,omitempty"` // must be empty when IsDefault
	Description string   `json:"description"`
	Labels      []string `json:"labels"`
	VCSChecks   string   `json:"vcs_checks,omitempty"` // empty: individual

	// Bitbucket Cloud.
	Email       string  `json:"email,omitempty"`
	Username    string  `json:"username,omitempty"` // Cloud legacy form; required for Data Center
	APIToken    *string `json:"api_token,omitempty"`
	AppPassword *string `json:"app_password,omitempty"`

	// Bitbucket Data Center.
	APIHost        string  `json:"api_host,omitempty"`
	UserFacingHost string  `json:"user_facing_host,omitempty"` // empty: api_host
	AccessToken    *string `json:"access_token,omitempty"`
	UseGitCheckout *bool   `json:"use_git_checkout,omitempty"` // absent: false

	// SkipCredentialCheck is not part of the body: the client sends it as the query
	// parameter check_credentials=false, and the server then does not try the
	// credentials against Bitbucket.
	SkipCredentialCheck bool `json:"-"`
}

// Integration is an integration as the API answers it. Credentials are write-only:
// they are never part of an answer. The kind's own fields are pointers, present
// only for the kinds that have them (see the String and Bool helpers).
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
	// PreviousWebhookSecretExpiresAt is when the secret replaced by the last rotation
	// stops verifying deliveries (the rotation plus the server's
	// --webhook-secret-grace); null when the secret was never rotated. A time in the
	// past means only the current secret verifies.
	PreviousWebhookSecretExpiresAt *Time `json:"previous_webhook_secret_expires_at"`

	// Bitbucket Cloud.
	Email      *string `json:"email,omitempty"`
	Username   *string `json:"username,omitempty"` // Cloud legacy form; Data Center's user
	AuthMethod *string `json:"auth_method,omitempty"`

	// Bitbucket Data Center.
	APIHost        *string `json:"api_host,omitempty"`
	UserFacingHost *string `json:"user_facing_host,omitempty"`
	UseGitCheckout *bool   `json:"use_git_checkout,omitempty"`

	// Warnings the server attaches to an answer, e.g. about app passwords.
	Warnings []string `json:"warnings,omitempty"`

	CreatedAt Time `json:"created_at"`
	UpdatedAt Time `json:"updated_at"`
}

// String is *p, or "" when the field was absent.
func String(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Bool is *p, or false when the field was absent.
func Bool(p *bool) bool { return p != nil && *p }

// IntegrationWebhook is GET /integrations/{id}/webhook: what a repository webhook
// needs, where to send and how to sign.
type IntegrationWebhook struct {
	IntegrationID  string   `json:"integration_id"`
	Provider       string   `json:"provider"`
	WebhookURL     string   `json:"webhook_url"`
	WebhookSecret  string   `json:"webhook_secret"`
	RequiredEvents []string `json:"required_events"`
}

// Validation is POST /integrations/{id}/validate: the result of checking an
// integration's credentials against Bitbucket.
type Validation struct {
	Valid   bool   `json:"valid"`
	Reason  string `json:"reason"` // ok, bad_credentials, missing_scope, not_found, unreachable, tls_error, not_bitbucket, host_not_allowed, skipped
	Message string `json:"message"`
}
