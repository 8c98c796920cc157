package cloud

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// MaxDiffstatPageLen is the largest page of a diffstat Bitbucket Cloud serves
// (paginated_diffstats: 500 by default, at most 5000).
const MaxDiffstatPageLen = 5000

// Diffstat is one changed file of a diffstat; Old is nil for an added file, New
// for a removed one.
type Diffstat struct {
	Status string        `json:"status"` // added, removed, modified, renamed
	Old    *DiffstatSide `json:"old"`
	New    *DiffstatSide `json:"new"`
}

// DiffstatSide is one side of a Diffstat.
type DiffstatSide struct {
	Path string `json:"path"`
}

// pages iterates over the values of a Cloud collection starting at req, following
// `next` links (each followed once, at most maxPages pages).
func pages[T any](ctx context.Context, c *Client, req rest.Request) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		seen := map[string]bool{}
		for range maxPages {
			var page struct {
				Values []T    `json:"values"`
				Next   string `json:"next"`
			}
			req.Out = &page
			req.Expect = []int{http.StatusOK}
			if _, err := c.do(ctx, req); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range page.Values {
				if !yield(v, nil) {
					return
				}
			}
			if page.Next == "" || seen[page.Next] {
				return
			}
			seen[page.Next] = true
			req = rest.Request{Method: http.MethodGet, URL: page.Next}
		}
	}
}

// ChangedPaths lists the paths of a revision range, GET .../diffstat/{newRev}..{oldRev}
// (what newRev has that oldRev has not; revisions are hashes or branch names), in
// pages of MaxDiffstatPageLen: a rename counts both its paths. Past
// bitbucket.MaxChangedPaths: a *bitbucket.TooManyChangesError; an unknown revision
// (a range a force push dropped): bitbucket.IsNotFound.
func (c *Client) ChangedPaths(ctx context.Context, workspace, repoSlug, newRev, oldRev string) ([]string, error) {
	if err := requireRepo(workspace, repoSlug); err != nil {
		return nil, err
	}
	return diffstatPaths(ctx, c, repoPath(workspace, repoSlug, "diffstat", newRev+".."+oldRev))
}

// PullRequestChangedPaths lists the paths a pull request changes, GET
// .../pullrequests/{id}/diffstat (Bitbucket redirects to the diffstat of its range),
// as ChangedPaths does.
func (c *Client) PullRequestChangedPaths(ctx context.Context, workspace, repoSlug string, id int64) ([]string, error) {
	if err := requireRepo(workspace, repoSlug); err != nil {
		return nil, err
	}
	return diffstatPaths(ctx, c, repoPath(workspace, repoSlug, "pullrequests", strconv.FormatInt(id, 10), "diffstat"))
}

func diffstatPaths(ctx context.Context, c *Client, path string) ([]string, error) {
	var set bitbucket.PathSet
	req := rest.Request{Method: http.MethodGet, Path: path, Query: url.Values{"pagelen": {strconv.Itoa(MaxDiffstatPageLen)}}}
	for d, err := range pages[Diffstat](ctx, c, req) {
		if err != nil {
			return nil, err
		}
		var before, after string
		if d.Old != nil {
			before = d.Old.Path
		}
		if d.New != nil {
			after = d.New.Path
		}
		if err := set.Add(before, after); err != nil {
			return nil, err
		}
	}
	return set.Paths(), nil
}
