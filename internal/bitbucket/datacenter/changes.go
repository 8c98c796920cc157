package datacenter

import (
	"context"
	"net/url"
	"strconv"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

// MaxChangesLimit is the largest page of changes Data Center serves (page.max.changes,
// 1000 by default; a larger limit is capped).
const MaxChangesLimit = 1000

// Change is one changed path of a RestChange page; SrcPath is set for a move or copy.
type Change struct {
	Type    string    `json:"type"` // ADD, MODIFY, DELETE, MOVE, COPY
	Path    *RestPath `json:"path"`
	SrcPath *RestPath `json:"srcPath"`
}

// RestPath is a path as Data Center renders it; ToString is the full path.
type RestPath struct {
	ToString string `json:"toString"`
}

// CompareChangedPaths lists the paths of what from has that to has not, GET
// .../compare/changes?from=&to= (to "" is the repository's default branch), in pages
// of MaxChangesLimit: a move counts both its paths. Past bitbucket.MaxChangedPaths:
// a *bitbucket.TooManyChangesError; an unknown commit: bitbucket.IsNotFound.
func (c *Client) CompareChangedPaths(ctx context.Context, projectKey, repoSlug, from, to string) ([]string, error) {
	if err := requireRepo(projectKey, repoSlug); err != nil {
		return nil, err
	}
	q := url.Values{"from": {from}}
	if to != "" {
		q.Set("to", to)
	}
	return c.changedPaths(ctx, repoPath(projectKey, repoSlug, "compare", "changes"), q)
}

// PullRequestChangedPaths lists the paths a pull request changes, GET
// .../pull-requests/{id}/changes, as CompareChangedPaths does.
func (c *Client) PullRequestChangedPaths(ctx context.Context, projectKey, repoSlug string, id int64) ([]string, error) {
	if err := requireRepo(projectKey, repoSlug); err != nil {
		return nil, err
	}
	return c.changedPaths(ctx, repoPath(projectKey, repoSlug, "pull-requests", strconv.FormatInt(id, 10), "changes"), nil)
}

func (c *Client) changedPaths(ctx context.Context, path string, q url.Values) ([]string, error) {
	var set bitbucket.PathSet
	for ch, err := range pagedBy[Change](ctx, c.rest, path, q, MaxChangesLimit) {
		if err != nil {
			return nil, err
		}
		var src, dst string
		if ch.SrcPath != nil {
			src = ch.SrcPath.ToString
		}
		if ch.Path != nil {
			dst = ch.Path.ToString
		}
		if err := set.Add(src, dst); err != nil {
			return nil, err
		}
	}
	return set.Paths(), nil
}
