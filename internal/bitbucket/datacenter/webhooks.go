package datacenter

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"strconv"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// Webhook is a repository webhook as Bitbucket Data Center returns it.
type Webhook struct {
	ID                      int64
	Name                    string
	URL                     string
	Active                  bool
	Events                  []string
	SSLVerificationRequired bool
	ScopeType               string
	CreatedDate             int64 // milliseconds since the epoch
	UpdatedDate             int64
	// Secret is configuration.secret, which only older servers return on reads
	// (compare it when non-empty). It prints redacted.
	Secret bitbucket.Secret
}

type wireWebhook struct {
	ID                      int64             `json:"id,omitempty"`
	Name                    string            `json:"name"`
	URL                     string            `json:"url"`
	Active                  bool              `json:"active"`
	Events                  []string          `json:"events"`
	SSLVerificationRequired bool              `json:"sslVerificationRequired"`
	ScopeType               string            `json:"scopeType,omitempty"`
	CreatedDate             int64             `json:"createdDate,omitempty"`
	UpdatedDate             int64             `json:"updatedDate,omitempty"`
	Configuration           map[string]string `json:"configuration,omitempty"`
}

func (w *Webhook) UnmarshalJSON(data []byte) error {
	var raw struct {
		wireWebhook
		// Configuration values are not always strings (e.g. createdBy); keep raw.
		Configuration map[string]json.RawMessage `json:"configuration"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*w = Webhook{
		ID: raw.ID, Name: raw.Name, URL: raw.URL, Active: raw.Active, Events: raw.Events,
		SSLVerificationRequired: raw.SSLVerificationRequired, ScopeType: raw.ScopeType,
		CreatedDate: raw.CreatedDate, UpdatedDate: raw.UpdatedDate,
	}
	if s, ok := raw.Configuration["secret"]; ok {
		var secret string
		if json.Unmarshal(s, &secret) == nil {
			w.Secret = bitbucket.Secret(secret)
		}
	}
	return nil
}

// CreateWebhookRequest is the body of a webhook creation. An empty Secret creates an
// unsigned webhook.
type CreateWebhookRequest struct {
	Name                    string
	URL                     string
	Active                  bool
	Events                  []string
	SSLVerificationRequired bool
	Secret                  bitbucket.Secret
}

// wire is the JSON body; the only place the secret is revealed.
func (r CreateWebhookRequest) wire() any {
	w := wireWebhook{Name: r.Name, URL: r.URL, Active: r.Active, Events: r.Events, SSLVerificationRequired: r.SSLVerificationRequired}
	if r.Secret != "" {
		w.Configuration = map[string]string{"secret": r.Secret.Reveal()}
	}
	return w
}

// SecretUpdate says what an update does to the webhook secret. The zero value keeps
// it (configuration is left out of the body); UpdateWebhook refuses SetSecret with an
// empty value, and removal is asked for explicitly with RemoveSecret.
type SecretUpdate = bitbucket.SecretUpdate

// KeepSecret leaves the secret unchanged (the default).
func KeepSecret() SecretUpdate { return bitbucket.KeepSecret() }

// SetSecret replaces the secret; an empty value is rejected by UpdateWebhook.
func SetSecret(secret bitbucket.Secret) SecretUpdate { return bitbucket.SetSecret(secret) }

// RemoveSecret deletes the secret (sends an empty configuration).
func RemoveSecret() SecretUpdate { return bitbucket.RemoveSecret() }

// UpdateWebhookRequest replaces a webhook's settings. Secret defaults to KeepSecret.
type UpdateWebhookRequest struct {
	Name                    string
	URL                     string
	Active                  bool
	Events                  []string
	SSLVerificationRequired bool
	Secret                  SecretUpdate
}

// wire is the JSON body: configuration is present only to set or remove the secret.
func (r UpdateWebhookRequest) wire() any {
	body := map[string]any{
		"name":                    r.Name,
		"url":                     r.URL,
		"active":                  r.Active,
		"events":                  r.Events,
		"sslVerificationRequired": r.SSLVerificationRequired,
	}
	if secret, ok := r.Secret.NewSecret(); ok {
		body["configuration"] = map[string]string{"secret": secret.Reveal()}
	} else if r.Secret.Removes() {
		body["configuration"] = map[string]string{}
	}
	return body
}

func validateWebhook(name, hookURL string, events []string) error {
	if name == "" {
		return &bitbucket.ValidationError{Field: "name", Message: "is required"}
	}
	return bitbucket.ValidateWebhookTarget(hookURL, events)
}

func webhookPath(projectKey, repoSlug string, id int64) (string, error) {
	if err := requireRepo(projectKey, repoSlug); err != nil {
		return "", err
	}
	if id <= 0 {
		return "", &bitbucket.ValidationError{Field: "id", Message: "must be a positive webhook id"}
	}
	return repoPath(projectKey, repoSlug, "webhooks", strconv.FormatInt(id, 10)), nil
}

// Webhooks iterates over every webhook of a repository, page by page.
func (c *Client) Webhooks(ctx context.Context, projectKey, repoSlug string) iter.Seq2[Webhook, error] {
	if err := requireRepo(projectKey, repoSlug); err != nil {
		return func(yield func(Webhook, error) bool) { yield(Webhook{}, err) }
	}
	return paged[Webhook](ctx, c.rest, repoPath(projectKey, repoSlug, "webhooks"), nil)
}

// ListWebhooks returns every webhook of a repository (all pages).
func (c *Client) ListWebhooks(ctx context.Context, projectKey, repoSlug string) ([]Webhook, error) {
	return rest.Collect(c.Webhooks(ctx, projectKey, repoSlug))
}

// GetWebhook reads one webhook; bitbucket.IsNotFound(err) when it does not exist.
func (c *Client) GetWebhook(ctx context.Context, projectKey, repoSlug string, id int64) (Webhook, error) {
	path, err := webhookPath(projectKey, repoSlug, id)
	if err != nil {
		return Webhook{}, err
	}
	var w Webhook
	_, err = c.rest.Do(ctx, rest.Request{Method: http.MethodGet, Path: path, Out: &w, Expect: []int{http.StatusOK}})
	return w, err
}

// CreateWebhook creates a webhook (Bitbucket answers 200). POST: never retried.
// Needs REPO_ADMIN; without it Data Center answers 401 (bitbucket.IsUnauthorized).
func (c *Client) CreateWebhook(ctx context.Context, projectKey, repoSlug string, in CreateWebhookRequest) (Webhook, error) {
	if err := requireRepo(projectKey, repoSlug); err != nil {
		return Webhook{}, err
	}
	if err := validateWebhook(in.Name, in.URL, in.Events); err != nil {
		return Webhook{}, err
	}
	var w Webhook
	_, err := c.rest.Do(ctx, rest.Request{
		Method: http.MethodPost, Path: repoPath(projectKey, repoSlug, "webhooks"),
		Body: in.wire(), Out: &w, Expect: []int{http.StatusOK, http.StatusCreated},
		Secrets: []string{in.Secret.Reveal()},
	})
	return w, err
}

// UpdateWebhook replaces a webhook's settings (PUT). The secret is kept unless
// in.Secret says otherwise.
func (c *Client) UpdateWebhook(ctx context.Context, projectKey, repoSlug string, id int64, in UpdateWebhookRequest) (Webhook, error) {
	path, err := webhookPath(projectKey, repoSlug, id)
	if err != nil {
		return Webhook{}, err
	}
	if err := validateWebhook(in.Name, in.URL, in.Events); err != nil {
		return Webhook{}, err
	}
	secret, setsSecret := in.Secret.NewSecret()
	if setsSecret && secret == "" {
		return Webhook{}, &bitbucket.ValidationError{Field: "secret", Message: "must not be empty; use RemoveSecret to remove it deliberately"}
	}
	var w Webhook
	_, err = c.rest.Do(ctx, rest.Request{
		Method: http.MethodPut, Path: path, Body: in.wire(), Out: &w, Expect: []int{http.StatusOK},
		Secrets: []string{secret.Reveal()},
	})
	return w, err
}

// DeleteWebhook removes a webhook (204); bitbucket.IsNotFound(err) when already gone.
func (c *Client) DeleteWebhook(ctx context.Context, projectKey, repoSlug string, id int64) error {
	path, err := webhookPath(projectKey, repoSlug, id)
	if err != nil {
		return err
	}
	_, err = c.rest.Do(ctx, rest.Request{Method: http.MethodDelete, Path: path, Expect: []int{http.StatusNoContent, http.StatusOK}})
	return err
}
