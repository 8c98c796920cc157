package datacenter

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/access"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// Project is the part of a project the client reads.
type Project struct {
	ID   int64  `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Repository is the part of a repository the client reads.
type Repository struct {
	ID      int64           `json:"id"`
	Slug    string          `json:"slug"`
	Name    string          `json:"name"`
	Project Project         `json:"project"`
	Links   RepositoryLinks `json:"links"`
}

// listProjectsPage reads one page of visible projects (limit 1 is enough to prove
// that a token is accepted).
func (c *Client) listProjectsPage(ctx context.Context, limit int) ([]Project, error) {
	var page page[Project]
	_, err := c.rest.Do(ctx, rest.Request{
		Method: http.MethodGet, Path: apiPath("projects"),
		Query: url.Values{"limit": {fmt.Sprint(limit)}}, Out: &page, Expect: []int{http.StatusOK},
	})
	return page.Values, err
}

// repositoriesWith reads one page of the repositories the token holds permission on.
func (c *Client) repositoriesWith(ctx context.Context, permission string, limit int) ([]Repository, error) {
	var page page[Repository]
	_, err := c.rest.Do(ctx, rest.Request{
		Method: http.MethodGet, Path: apiPath("repos"),
		Query: url.Values{"permission": {permission}, "limit": {fmt.Sprint(limit)}}, Out: &page, Expect: []int{http.StatusOK},
	})
	return page.Values, err
}

// GetProject reads a project.
func (c *Client) GetProject(ctx context.Context, projectKey string) (Project, error) {
	if strings.TrimSpace(projectKey) == "" {
		return Project{}, &bitbucket.ValidationError{Field: "project_key", Message: "is required"}
	}
	var p Project
	_, err := c.rest.Do(ctx, rest.Request{Method: http.MethodGet, Path: apiPath("projects", projectKey), Out: &p, Expect: []int{http.StatusOK}})
	return p, err
}

// GetRepository reads a repository.
func (c *Client) GetRepository(ctx context.Context, projectKey, repoSlug string) (Repository, error) {
	if err := requireRepo(projectKey, repoSlug); err != nil {
		return Repository{}, err
	}
	var r Repository
	_, err := c.rest.Do(ctx, rest.Request{Method: http.MethodGet, Path: repoPath(projectKey, repoSlug), Out: &r, Expect: []int{http.StatusOK}})
	return r, err
}

// CheckTarget narrows a credential check; empty fields are not checked.
type CheckTarget struct {
	ProjectKey string
	Repository string // needs ProjectKey
	// SomeRepository asks for proof that the token holds REPO_READ (what everything
	// orbit-server does needs, per Atlassian's description) on at least one
	// repository: GET /rest/api/latest/repos?permission=REPO_READ&limit=1.
	SomeRepository bool
}

// authorisationException is the exceptionName of a 401 for a valid token that lacks
// a permission (a bad token gives ...IncorrectPasswordAuthenticationException).
const authorisationException = "AuthorisationException"

// CheckCredentials tells whether the token works: a one-item project list, then the
// project and repository when given. The result says why it failed.
func (c *Client) CheckCredentials(ctx context.Context, target CheckTarget) bitbucket.CheckResult {
	if _, err := c.listProjectsPage(ctx, 1); err != nil {
		return classify(err, "the project list", false)
	}
	if target.ProjectKey != "" && target.Repository == "" {
		if _, err := c.GetProject(ctx, target.ProjectKey); err != nil {
			return classify(err, fmt.Sprintf("project %q", target.ProjectKey), true)
		}
	}
	if target.Repository != "" {
		if _, err := c.GetRepository(ctx, target.ProjectKey, target.Repository); err != nil {
			return classify(err, fmt.Sprintf("repository %s/%s", target.ProjectKey, target.Repository), true)
		}
	}
	if target.SomeRepository {
		repos, err := c.repositoriesWith(ctx, access.RepoRead, 1)
		if err != nil {
			return classify(err, "the repository list", true)
		}
		if len(repos) == 0 {
			return bitbucket.CheckResult{Reason: bitbucket.ReasonMissingScope,
				Message: "the access token holds " + access.RepoRead + " on no repository"}
		}
	}
	return bitbucket.CheckResult{Reason: bitbucket.ReasonOK, Message: "access token accepted by Bitbucket Data Center"}
}

// classify maps an error to a reason. tokenAccepted says an earlier call already
// proved the token valid, so a later 401 means a missing permission.
func classify(err error, what string, tokenAccepted bool) bitbucket.CheckResult {
	return rest.ClassifyCheckError("Bitbucket Data Center", what, err, func(apiErr *bitbucket.APIError) bitbucket.CheckResult {
		if apiErr.StatusCode == http.StatusForbidden {
			return bitbucket.CheckResult{Reason: bitbucket.ReasonMissingScope,
				Message: "the access token may not read " + what + " (403: " + apiErr.Message + ")"}
		}
		if tokenAccepted || strings.HasSuffix(apiErr.Exception, authorisationException) {
			return bitbucket.CheckResult{Reason: bitbucket.ReasonMissingScope,
				Message: "the access token is valid but may not read " + what + " (401: " + apiErr.Message + "); grant it the needed project or repository permission"}
		}
		return bitbucket.CheckResult{Reason: bitbucket.ReasonBadCredentials,
			Message: "Bitbucket Data Center rejected the access token (401: " + apiErr.Message + "); check that the HTTP access token is valid and not expired"}
	})
}
