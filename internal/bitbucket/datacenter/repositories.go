package datacenter

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// Link is one entry of a Data Center link list.
type Link struct {
	Href string `json:"href"`
	Name string `json:"name,omitempty"`
}

// RepositoryLinks are a repository's links; Self[0] is its page in the web UI.
type RepositoryLinks struct {
	Self []Link `json:"self"`
}

// HTMLURL is the repository's page in the web UI, "" when the server gave none.
func (r Repository) HTMLURL() string {
	if len(r.Links.Self) == 0 {
		return ""
	}
	return r.Links.Self[0].Href
}

// Repositories iterates over every repository of a project the token can see, page by
// page. Iteration stops at the first error.
func (c *Client) Repositories(ctx context.Context, projectKey string) iter.Seq2[Repository, error] {
	if strings.TrimSpace(projectKey) == "" {
		return func(yield func(Repository, error) bool) {
			yield(Repository{}, &bitbucket.ValidationError{Field: "project_key", Message: "is required"})
		}
	}
	return paged[Repository](ctx, c.rest, apiPath("projects", projectKey, "repos"), nil)
}

// ListRepositories returns every repository of a project (all pages).
func (c *Client) ListRepositories(ctx context.Context, projectKey string) ([]Repository, error) {
	return rest.Collect(c.Repositories(ctx, projectKey))
}

// Ref is a branch or tag as Data Center names it (RestMinimalRef).
type Ref struct {
	ID        string `json:"id"`        // refs/heads/main
	DisplayID string `json:"displayId"` // main
	Type      string `json:"type"`      // BRANCH or TAG
}

// DefaultBranch reads a repository's configured default branch (GET
// .../default-branch, REPO_READ). bitbucket.IsNotFound(err) when the repository does
// not exist or has no default branch (Data Center answers 404 for both; an empty
// repository has none).
func (c *Client) DefaultBranch(ctx context.Context, projectKey, repoSlug string) (Ref, error) {
	if err := requireRepo(projectKey, repoSlug); err != nil {
		return Ref{}, err
	}
	var ref Ref
	_, err := c.rest.Do(ctx, rest.Request{Method: http.MethodGet, Path: repoPath(projectKey, repoSlug, "default-branch"), Out: &ref, Expect: []int{http.StatusOK}})
	return ref, err
}

// Branch is a branch with its head commit (RestBranch).
type Branch struct {
	Ref
	LatestCommit string `json:"latestCommit"`
}

// Branch finds a branch of a repository by its exact name: GET .../branches with
// filterText (a substring match, so the pages are searched for the exact one) and
// details=false (REPO_READ). bitbucket.IsNotFound(err) when the repository does not
// exist (Data Center's 404) and when no branch has that name (an *APIError with
// status 404 made here, so both read the same).
func (c *Client) Branch(ctx context.Context, projectKey, repoSlug, name string) (Branch, error) {
	if err := requireRepo(projectKey, repoSlug); err != nil {
		return Branch{}, err
	}
	if strings.TrimSpace(name) == "" {
		return Branch{}, &bitbucket.ValidationError{Field: "name", Message: "is required"}
	}
	path := repoPath(projectKey, repoSlug, "branches")
	q := url.Values{"filterText": {name}, "boostMatches": {"true"}, "details": {"false"}}
	for b, err := range paged[Branch](ctx, c.rest, path, q) {
		if err != nil {
			return Branch{}, err
		}
		if b.DisplayID == name || b.ID == "refs/heads/"+name {
			return b, nil
		}
	}
	return Branch{}, &bitbucket.APIError{Product: bitbucket.ProductDataCenter, Method: http.MethodGet, Path: path,
		StatusCode: http.StatusNotFound, Message: "no branch named " + name}
}
