package orbitapi

import (
	"context"
	"net/url"
	"strconv"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

// ListOptions are the filters and paging parameters common to every collection.
// Filters combine with AND; an empty filter is not sent.
type ListOptions struct {
	SpaceID string
	Name    string
	// Labels: an object must carry every one of them.
	Labels []string

	PageSize  int // 0: the server default (100); at most 500
	PageToken string
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.SpaceID != "" {
		q.Set("space_id", o.SpaceID)
	}
	if o.Name != "" {
		q.Set("name", o.Name)
	}
	for _, label := range o.Labels {
		q.Add("label", label)
	}
	if o.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(o.PageSize))
	}
	if o.PageToken != "" {
		q.Set("page_token", o.PageToken)
	}
	return q
}

func listPage[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, string, error) {
	var p apiwire.Page[T]
	if err := c.do(ctx, request{method: "GET", path: path, query: query}, &p); err != nil {
		return nil, "", err
	}
	return p.Items, p.NextPageToken, nil
}

// listAll follows next_page_token until the last page.
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	for {
		items, next, err := listPage[T](ctx, c, path, query)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		// A token seen before would loop forever; treat it as the end.
		if next == "" || seen[next] {
			return all, nil
		}
		seen[next] = true
		query.Set("page_token", next)
	}
}

// labelsOrEmpty sends [] rather than null, so "no labels" is explicit on the wire.
func labelsOrEmpty(labels []string) []string {
	if labels == nil {
		return []string{}
	}
	return labels
}
