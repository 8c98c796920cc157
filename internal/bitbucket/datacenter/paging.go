package datacenter

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/internal/rest"
)

// pageLimit is what the client asks for per page; the server may cap it.
const pageLimit = 100

// maxPages guards against a server whose pages never end.
const maxPages = 10000

type page[T any] struct {
	Values        []T  `json:"values"`
	IsLastPage    bool `json:"isLastPage"`
	NextPageStart *int `json:"nextPageStart"`
	Start         int  `json:"start"`
}

// paged iterates over every item of a start/limit collection. It stops when the page
// says isLastPage, when nextPageStart is absent (some endpoints omit it), or when it
// does not advance past the current start, so a misbehaving server cannot loop it.
func paged[T any](ctx context.Context, c *rest.Client, path string, query url.Values) iter.Seq2[T, error] {
	return pagedBy[T](ctx, c, path, query, pageLimit)
}

// pagedBy is paged with pages of limit items.
func pagedBy[T any](ctx context.Context, c *rest.Client, path string, query url.Values, limit int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		start := 0
		for range maxPages {
			q := url.Values{}
			for k, v := range query {
				q[k] = v
			}
			q.Set("start", strconv.Itoa(start))
			q.Set("limit", strconv.Itoa(limit))
			var raw page[T]
			if _, err := c.Do(ctx, rest.Request{Method: http.MethodGet, Path: path, Query: q, Out: &raw, Expect: []int{http.StatusOK}}); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range raw.Values {
				if !yield(v, nil) {
					return
				}
			}
			if raw.IsLastPage || raw.NextPageStart == nil || *raw.NextPageStart <= start {
				return
			}
			start = *raw.NextPageStart
		}
	}
}
