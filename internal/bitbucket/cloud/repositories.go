package cloud

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// Link is one entry of a Cloud `links` object.
type Link struct {
	Href string `json:"href"`
}

// RepositoryLinks are the links of a repository the clients use.
type RepositoryLinks struct {
	HTML Link `json:"html"`
}

// Branch names a branch (a repository's mainbranch).
type Branch struct {
	Name string `json:"name"`
}

// ProjectRef is the project a repository belongs to.
type ProjectRef struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// RepositoryListOptions narrow GET /2.0/repositories/{workspace}. Query is a Bitbucket
// filter expression (`q`, e.g. `project.key="PLAT"`), Sort a field, `-` for
// descending (`sort`). Empty values are not sent.
type RepositoryListOptions struct {
	Query string
	Sort  string
}

// Repositories iterates over every repository of a workspace the credential can see,
// following `next` links (100 per page). Iteration stops at the first error.
func (c *Client) Repositories(ctx context.Context, workspace string, opts RepositoryListOptions) iter.Seq2[Repository, error] {
	return func(yield func(Repository, error) bool) {
		if strings.TrimSpace(workspace) == "" {
			yield(Repository{}, &bitbucket.ValidationError{Field: "workspace", Message: "is required"})
			return
		}
		q := url.Values{"pagelen": {strconv.Itoa(maxPageLen)}}
		if opts.Query != "" {
			q.Set("q", opts.Query)
		}
		if opts.Sort != "" {
			q.Set("sort", opts.Sort)
		}
		req := rest.Request{Method: http.MethodGet, Path: rest.Path("2.0", "repositories", workspace), Query: q}
		for r, err := range pages[Repository](ctx, c, req) {
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

// ListRepositories returns every repository of a workspace matching opts (all pages).
func (c *Client) ListRepositories(ctx context.Context, workspace string, opts RepositoryListOptions) ([]Repository, error) {
	return rest.Collect(c.Repositories(ctx, workspace, opts))
}

// BranchRef is a branch with the commit it points at (GET .../refs/branches/{name}).
type BranchRef struct {
	Name   string `json:"name"`
	Target struct {
		Hash string `json:"hash"`
	} `json:"target"`
}

// GetBranch reads a branch of a repository. bitbucket.IsNotFound(err) when the
// repository or the branch does not exist (or the credential may not see it).
func (c *Client) GetBranch(ctx context.Context, workspace, repoSlug, name string) (BranchRef, error) {
	if err := requireRepo(workspace, repoSlug); err != nil {
		return BranchRef{}, err
	}
	if strings.TrimSpace(name) == "" {
		return BranchRef{}, &bitbucket.ValidationError{Field: "name", Message: "is required"}
	}
	var b BranchRef
	_, err := c.do(ctx, rest.Request{Method: http.MethodGet, Path: repoPath(workspace, repoSlug, "refs", "branches", name), Out: &b, Expect: []int{http.StatusOK}})
	return b, err
}
