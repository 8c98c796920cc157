// Package apiwire holds the JSON bodies of orbit-server's management API as the
// server decodes and encodes them (openapi.json describes them; a test in
// internal/server holds the two together). It imports nothing of the project.
package apiwire

// IntegrationRequest is the body of POST and PUT /integrations. Credentials are
// pointers: absent (or null) keeps the stored one on PUT, a value replaces it, ""
// is rejected.
type IntegrationRequest struct {
	Provider       string   `json:"provider"`
	Name           string   `json:"name"`
	IsDefault      bool     `json:"is_default"`
	SpaceID        string   `json:"space_id"`
	Description    string   `json:"description"`
	Labels         []string `json:"labels"`
	VCSChecks      string   `json:"vcs_checks"`
	Email          string   `json:"email"`
	Username       string   `json:"username"`
	APIToken       *string  `json:"api_token"`
	AppPassword    *string  `json:"app_password"`
	APIHost        string   `json:"api_host"`
	UserFacingHost string   `json:"user_facing_host"`
	UseGitCheckout bool     `json:"use_git_checkout"`
	AccessToken    *string  `json:"access_token"`
}

// Integration is an integration as the API answers it. The kind's own fields are
// pointers, present only for the kinds that have them.
type Integration struct {
	ID            string   `json:"id"`
	Provider      string   `json:"provider"`
	Name          string   `json:"name"`
	IsDefault     bool     `json:"is_default"`
	SpaceID       string   `json:"space_id"`
	Description   string   `json:"description"`
	Labels        []string `json:"labels"`
	VCSChecks     string   `json:"vcs_checks"`
	WebhookURL    string   `json:"webhook_url"`
	WebhookSecret string   `json:"webhook_secret,omitempty"`
	// WebhookSecretFingerprint lets a reader tell that the secret changed without
	// seeing it.
	WebhookSecretFingerprint string   `json:"webhook_secret_fingerprint"`
	Email                    *string  `json:"email,omitempty"`
	Username                 *string  `json:"username,omitempty"`
	AuthMethod               *string  `json:"auth_method,omitempty"`
	APIHost                  *string  `json:"api_host,omitempty"`
	UserFacingHost           *string  `json:"user_facing_host,omitempty"`
	UseGitCheckout           *bool    `json:"use_git_checkout,omitempty"`
	Warnings                 []string `json:"warnings,omitempty"`
	CreatedAt                string   `json:"created_at"`
	UpdatedAt                string   `json:"updated_at"`
}

// IntegrationWebhook is GET /integrations/{id}/webhook.
type IntegrationWebhook struct {
	IntegrationID  string   `json:"integration_id"`
	Provider       string   `json:"provider"`
	WebhookURL     string   `json:"webhook_url"`
	WebhookSecret  string   `json:"webhook_secret"`
	RequiredEvents []string `json:"required_events"`
}

// Validation is POST /integrations/{id}/validate.
type Validation struct {
	Valid   bool   `json:"valid"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}
