// Package datacenter is a client for Bitbucket Data Center REST (api/latest):
// repository webhooks, commit build statuses and a credential check. Authentication is
// a Bearer HTTP access token (personal, project or repository token).
package datacenter

import (
	"net/http"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// Client talks to one Bitbucket Data Center instance. It is safe for concurrent use.
type Client struct {
	rest *rest.Client
}

// New builds a client. bitbucket.WithBaseURL is required: the instance's URL, with its
// context path if any (e.g. https://bitbucket.example.com or https://example.com/bitbucket);
// a trailing /rest is accepted.
func New(token bitbucket.Secret, opts ...bitbucket.Option) (*Client, error) {
	if token == "" {
		return nil, &bitbucket.ValidationError{Field: "access_token", Message: "is required"}
	}
	cfg := bitbucket.NewConfig(opts...)
	if cfg.BaseURL == "" {
		return nil, &bitbucket.ValidationError{Field: "base_url", Message: "is required for Bitbucket Data Center"}
	}
	cfg.BaseURL = strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/rest")
	bearer := "Bearer " + token.Reveal()
	authorize := func(h http.Header) { h.Set("Authorization", bearer) }
	rc, err := rest.New(bitbucket.ProductDataCenter, cfg, authorize, token.Reveal())
	if err != nil {
		return nil, err
	}
	return &Client{rest: rc}, nil
}

func apiPath(segments ...string) string {
	return rest.Path(append([]string{"rest", "api", "latest"}, segments...)...)
}

func repoPath(projectKey, repoSlug string, more ...string) string {
	return apiPath(append([]string{"projects", projectKey, "repos", repoSlug}, more...)...)
}

func requireRepo(projectKey, repoSlug string) error {
	if strings.TrimSpace(projectKey) == "" {
		return &bitbucket.ValidationError{Field: "project_key", Message: "is required"}
	}
	if strings.TrimSpace(repoSlug) == "" {
		return &bitbucket.ValidationError{Field: "repository_slug", Message: "is required"}
	}
	return nil
}
