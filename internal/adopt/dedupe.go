package adopt

import (
	"context"
	"errors"
	"sync"
)

// Dedupe deletes r.Duplicates (never a hook the output imports) through the sources
// of their products, at most concurrency at a time, and marks each one deleted. A
// duplicate already gone (404) counts as deleted. The error names every repository
// whose delete failed, with Bitbucket's answer.
func Dedupe(ctx context.Context, r *Result, sources map[string]Source, concurrency int, progress Progress) error {
	if progress == nil {
		progress = noProgress{}
	}
	if concurrency < 1 {
		concurrency = 4
	}
	errs := make([]error, len(r.Duplicates))
	var mu sync.Mutex
	done := 0
	_ = forEach(ctx, concurrency, len(r.Duplicates), func(i int) error {
		d := &r.Duplicates[i]
		src := sources[d.Provider]
		var err error
		if src == nil {
			err = errors.New("no Bitbucket credentials for " + productName(d.Provider))
		} else {
			err = src.DeleteHook(ctx, d.Namespace, d.Slug, d.HookID)
		}
		if err != nil && !isBitbucketNotFound(err) {
			errs[i] = errors.New(describeBitbucketError("deleting hook "+d.HookID+" of repository "+d.Repository, err))
		} else {
			d.Deleted = true
		}
		mu.Lock()
		done++
		progress.Count("duplicate hooks deleted", done, len(r.Duplicates))
		mu.Unlock()
		return nil
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}
