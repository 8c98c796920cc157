// Package cloud is a client for Bitbucket Cloud REST 2.0: repository webhooks, commit
// build statuses and a credential check. Authentication is HTTP Basic with the
// Atlassian account email and an API token.
package cloud

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// AppPasswordsRetired is when Bitbucket Cloud stopped accepting app passwords.
const AppPasswordsRetired = "2026-07-28"

type credentialKind int

const (
	kindAPIToken credentialKind = iota + 1
	kindAppPassword
)

// Credential is what the client authenticates with. Build it with APIToken (the only
// form Bitbucket accepts) or AppPassword (legacy: kept so that a stored app password
// yields a precise error instead of a bare 401).
type Credential struct {
	kind   credentialKind
	user   string
	secret bitbucket.Secret
}

// APIToken is an Atlassian API token used with the account's email address.
func APIToken(email string, token bitbucket.Secret) Credential {
	return Credential{kind: kindAPIToken, user: email, secret: token}
}

// AppPassword is a legacy Bitbucket username + app password. Bitbucket rejects these
// since 2026-07-28; the client turns that 401 into an *AppPasswordRejectedError.
func AppPassword(username string, password bitbucket.Secret) Credential {
	return Credential{kind: kindAppPassword, user: username, secret: password}
}

// User is the email (API token) or username (app password).
func (c Credential) User() string { return c.user }

// IsAppPassword reports the legacy form.
func (c Credential) IsAppPassword() bool { return c.kind == kindAppPassword }

// String never shows the secret.
func (c Credential) String() string {
	if c.kind == kindAppPassword {
		return "app password for " + c.user
	}
	return "API token for " + c.user
}

func (c Credential) validate() error {
	switch c.kind {
	case kindAPIToken:
		if c.user == "" {
			return &bitbucket.ValidationError{Field: "email", Message: "is required with an API token"}
		}
		if c.secret == "" {
			return &bitbucket.ValidationError{Field: "api_token", Message: "is required"}
		}
	case kindAppPassword:
		if c.user == "" {
			return &bitbucket.ValidationError{Field: "username", Message: "is required with an app password"}
		}
		if c.secret == "" {
			return &bitbucket.ValidationError{Field: "app_password", Message: "is required"}
		}
	default:
		return &bitbucket.ValidationError{Field: "api_token", Message: "no credential given"}
	}
	return nil
}

// Client talks to Bitbucket Cloud. It is safe for concurrent use.
type Client struct {
	rest       *rest.Client
	credential Credential
}

// New builds a client. Options: bitbucket.WithBaseURL (default
// https://api.bitbucket.org; a trailing /2.0 is accepted), WithUserAgent,
// WithHTTPClient, WithRetryPolicy, WithLogger.
func New(credential Credential, opts ...bitbucket.Option) (*Client, error) {
	if err := credential.validate(); err != nil {
		return nil, err
	}
	cfg := bitbucket.NewConfig(opts...)
	if cfg.BaseURL == "" {
		cfg.BaseURL = bitbucket.DefaultCloudBaseURL
	}
	cfg.BaseURL = strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/2.0")
	encoded := base64.StdEncoding.EncodeToString([]byte(credential.user + ":" + credential.secret.Reveal()))
	authorize := func(h http.Header) { h.Set("Authorization", "Basic "+encoded) }
	// Scrub the encoded pair too: a server echoing the header must not leak it.
	rc, err := rest.New(bitbucket.ProductCloud, cfg, authorize, credential.secret.Reveal(), encoded)
	if err != nil {
		return nil, err
	}
	return &Client{rest: rc, credential: credential}, nil
}

// AppPasswordRejectedError is a 401 for an app password: Bitbucket no longer accepts
// them. It wraps the *APIError (so bitbucket.IsUnauthorized holds) and names the fix.
type AppPasswordRejectedError struct {
	Username string
	Err      *bitbucket.APIError
}

func (e *AppPasswordRejectedError) Error() string {
	return fmt.Sprintf("Bitbucket Cloud rejected the app password of %q: Bitbucket stopped accepting app passwords on %s; "+
		"create an Atlassian API token and use it with your Atlassian account email (email + api_token) instead (%s)",
		e.Username, AppPasswordsRetired, e.Err.Message)
}

func (e *AppPasswordRejectedError) Unwrap() error { return e.Err }

// IsAppPasswordRejected reports whether err is the retired-app-password 401.
func IsAppPasswordRejected(err error) bool {
	var target *AppPasswordRejectedError
	return errors.As(err, &target)
}

// do sends a request and turns a 401 for an app password into the precise error.
//
//nolint:unparam // the response header is part of rest.Do's contract; callers may need it
func (c *Client) do(ctx context.Context, r rest.Request) (http.Header, error) {
	h, err := c.rest.Do(ctx, r)
	if err != nil && c.credential.IsAppPassword() {
		if apiErr, ok := bitbucket.AsAPIError(err); ok && apiErr.StatusCode == http.StatusUnauthorized {
			return h, &AppPasswordRejectedError{Username: c.credential.user, Err: apiErr}
		}
	}
	return h, err
}

func repoPath(workspace, repoSlug string, rest_ ...string) string {
	return rest.Path(append([]string{"2.0", "repositories", workspace, repoSlug}, rest_...)...)
}

func requireRepo(workspace, repoSlug string) error {
	if strings.TrimSpace(workspace) == "" {
		return &bitbucket.ValidationError{Field: "workspace", Message: "is required"}
	}
	if strings.TrimSpace(repoSlug) == "" {
		return &bitbucket.ValidationError{Field: "repo_slug", Message: "is required"}
	}
	return nil
}
