// Package adopt brings integrations, stacks, bindings and repository webhooks that
// were made by hand under Terraform: it reads them from orbit-server and Bitbucket
// (Collect), decides what the Terraform configuration adopts and what is wrong
// (Build), writes that configuration with import blocks (Render) and a report
// (Result.Markdown, Result.JSON), and can delete duplicate hooks (Dedupe). It never
// writes to orbit-server; it writes to Bitbucket only in Dedupe.
package adopt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// Hook is a repository webhook as either Bitbucket reports it.
type Hook struct {
	ID                   string // Cloud {uuid}, Data Center number
	URL                  string
	Title                string // Cloud description, Data Center name
	Events               []string
	Active               bool
	SkipCertVerification bool
	// SecretSet is Bitbucket Cloud's secret_set; nil when the product does not say
	// (Data Center).
	SecretSet *bool
	// SecretFingerprint is the fingerprint of the secret when Bitbucket shows it
	// (older Data Center servers), else "".
	SecretFingerprint string
	Created           time.Time
}

// Repository is one scanned repository and its hooks.
type Repository struct {
	Provider  string // orbitapi.ProviderBitbucketCloud or ProviderBitbucketDataCenter
	Namespace string // Cloud workspace, Data Center project key
	Slug      string
	Hooks     []Hook
}

// Source is one Bitbucket product's repositories and hooks.
type Source interface {
	// Provider is the orbitapi provider type of the product.
	Provider() string
	// Repositories lists the slugs of a workspace or project, every page.
	Repositories(ctx context.Context, namespace string) ([]string, error)
	// Hooks lists a repository's hooks, every page.
	Hooks(ctx context.Context, namespace, slug string) ([]Hook, error)
	// DeleteHook deletes one hook (only Dedupe calls it).
	DeleteHook(ctx context.Context, namespace, slug, id string) error
}

// CloudSource reads Bitbucket Cloud through the provider's client.
type CloudSource struct{ Client *cloud.Client }

func (CloudSource) Provider() string { return orbitapi.ProviderBitbucketCloud }

func (s CloudSource) Repositories(ctx context.Context, workspace string) ([]string, error) {
	repos, err := s.Client.ListRepositories(ctx, workspace, cloud.RepositoryListOptions{})
	if err != nil {
		return nil, err
	}
	slugs := make([]string, 0, len(repos))
	for _, r := range repos {
		slugs = append(slugs, r.Slug)
	}
	return slugs, nil
}

func (s CloudSource) Hooks(ctx context.Context, workspace, slug string) ([]Hook, error) {
	hooks, err := s.Client.ListHooks(ctx, workspace, slug)
	if err != nil {
		return nil, err
	}
	out := make([]Hook, 0, len(hooks))
	for _, h := range hooks {
		secretSet := h.SecretSet
		out = append(out, Hook{
			ID: cloud.HookUID(h.UUID), URL: h.URL, Title: h.Description, Events: h.Events, Active: h.Active,
			SkipCertVerification: h.SkipCertVerification, SecretSet: &secretSet, Created: h.CreatedAt,
		})
	}
	return out, nil
}

func (s CloudSource) DeleteHook(ctx context.Context, workspace, slug, id string) error {
	return s.Client.DeleteHook(ctx, workspace, slug, id)
}

// DataCenterSource reads Bitbucket Data Center through the provider's client.
type DataCenterSource struct{ Client *datacenter.Client }

func (DataCenterSource) Provider() string { return orbitapi.ProviderBitbucketDataCenter }

func (s DataCenterSource) Repositories(ctx context.Context, project string) ([]string, error) {
	repos, err := s.Client.ListRepositories(ctx, project)
	if err != nil {
		return nil, err
	}
	slugs := make([]string, 0, len(repos))
	for _, r := range repos {
		slugs = append(slugs, r.Slug)
	}
	return slugs, nil
}

func (s DataCenterSource) Hooks(ctx context.Context, project, slug string) ([]Hook, error) {
	hooks, err := s.Client.ListWebhooks(ctx, project, slug)
	if err != nil {
		return nil, err
	}
	out := make([]Hook, 0, len(hooks))
	for _, h := range hooks {
		hook := Hook{
			ID: strconv.FormatInt(h.ID, 10), URL: h.URL, Title: h.Name, Events: h.Events, Active: h.Active,
			SkipCertVerification: !h.SSLVerificationRequired,
		}
		if h.Secret != "" {
			hook.SecretFingerprint = h.Secret.Fingerprint()
		}
		if h.CreatedDate > 0 {
			hook.Created = time.UnixMilli(h.CreatedDate).UTC()
		}
		out = append(out, hook)
	}
	return out, nil
}

func (s DataCenterSource) DeleteHook(ctx context.Context, project, slug, id string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return fmt.Errorf("hook id %q is not a Data Center webhook id", id)
	}
	return s.Client.DeleteWebhook(ctx, project, slug, n)
}

// Scan is one workspace or project to read.
type Scan struct {
	Source    Source
	Namespace string
}

// Progress hears what Collect is doing; Printer implements it for a terminal.
type Progress interface {
	// Step reports one finished step ("orbit-server: 3 integrations ...").
	Step(message string)
	// Count reports done out of total repositories of what (a namespace).
	Count(what string, done, total int)
}

type noProgress struct{}

func (noProgress) Step(string)            {}
func (noProgress) Count(string, int, int) {}

// Inventory is everything Collect read.
type Inventory struct {
	SpaceID   string
	SpaceName string
	// Integrations are every integration the key can read (a hook may deliver to
	// one of another space).
	Integrations []orbitapi.Integration
	Stacks       []orbitapi.Stack                    // of the space
	Bindings     map[string]orbitapi.StackVCSBinding // by stack id
	Repositories []Repository
	// Scanned are the namespaces read, as provider + "/" + namespace.
	Scanned []string
}

// CollectOptions tune Collect.
type CollectOptions struct {
	// Concurrency bounds the Bitbucket (and orbit-server binding) reads in flight.
	Concurrency int
	Progress    Progress
}

// RepositoryError is a Bitbucket read that failed for one repository.
type RepositoryError struct {
	Repository string // namespace/slug
	Err        error
}

func (e *RepositoryError) Error() string {
	return describeBitbucketError("repository "+e.Repository, e.Err)
}

func (e *RepositoryError) Unwrap() error { return e.Err }

// describeBitbucketError names where and what Bitbucket answered.
func describeBitbucketError(where string, err error) string {
	if apiErr, ok := bitbucket.AsAPIError(err); ok {
		return fmt.Sprintf("%s: Bitbucket answered %d: %s", where, apiErr.StatusCode, apiErr.Message)
	}
	return fmt.Sprintf("%s: %v", where, err)
}

// Collect reads the space's integrations, stacks and bindings from orbit-server and
// the hooks of every repository of the scans from Bitbucket, at most
// opts.Concurrency requests at a time (each client retries 429 answers, honouring
// Retry-After). Every failed repository is named in the error; nothing partial is
// returned, since a missing repository would look like one without hooks.
func Collect(ctx context.Context, api *orbitapi.Client, spaceID string, scans []Scan, opts CollectOptions) (*Inventory, error) {
	if opts.Concurrency < 1 {
		opts.Concurrency = 8
	}
	progress := opts.Progress
	if progress == nil {
		progress = noProgress{}
	}
	inv := &Inventory{SpaceID: spaceID, Bindings: map[string]orbitapi.StackVCSBinding{}}

	space, err := api.Spaces.Get(ctx, spaceID)
	if err != nil {
		return nil, fmt.Errorf("reading space %q from orbit-server: %w", spaceID, err)
	}
	inv.SpaceName = space.Name
	if inv.Integrations, err = api.Integrations.ListAll(ctx, orbitapi.IntegrationListOptions{}); err != nil {
		return nil, fmt.Errorf("listing integrations in orbit-server: %w", err)
	}
	if inv.Stacks, err = api.Stacks.ListAll(ctx, orbitapi.ListOptions{SpaceID: spaceID}); err != nil {
		return nil, fmt.Errorf("listing the stacks of space %q in orbit-server: %w", spaceID, err)
	}
	var mu sync.Mutex
	bindingErr := forEach(ctx, opts.Concurrency, len(inv.Stacks), func(i int) error {
		b, err := api.Stacks.GetBinding(ctx, inv.Stacks[i].ID)
		if orbitapi.IsNotFound(err) {
			return nil // a stack without a binding
		}
		if err != nil {
			return fmt.Errorf("reading the VCS binding of stack %q (%s): %w", inv.Stacks[i].Name, inv.Stacks[i].ID, err)
		}
		mu.Lock()
		inv.Bindings[b.StackID] = *b
		mu.Unlock()
		return nil
	})
	if bindingErr != nil {
		return nil, bindingErr
	}
	progress.Step(fmt.Sprintf("orbit-server: %d integrations readable, %d stacks in space %s, %d bound", len(inv.Integrations), len(inv.Stacks), spaceID, len(inv.Bindings)))

	for _, scan := range scans {
		where := productLabel(scan.Source.Provider()) + " " + scan.Namespace
		slugs, err := scan.Source.Repositories(ctx, scan.Namespace)
		if err != nil {
			return nil, errors.New(describeBitbucketError("listing the repositories of "+where, err))
		}
		repos := make([]Repository, len(slugs))
		var done int
		errs := make([]error, len(slugs))
		_ = forEach(ctx, opts.Concurrency, len(slugs), func(i int) error {
			hooks, err := scan.Source.Hooks(ctx, scan.Namespace, slugs[i])
			if err != nil {
				errs[i] = &RepositoryError{Repository: scan.Namespace + "/" + slugs[i], Err: err}
			}
			repos[i] = Repository{Provider: scan.Source.Provider(), Namespace: scan.Namespace, Slug: slugs[i], Hooks: hooks}
			mu.Lock()
			done++
			progress.Count(where, done, len(slugs))
			mu.Unlock()
			return nil
		})
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("reading the hooks of %s:\n%w", where, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		inv.Repositories = append(inv.Repositories, repos...)
		inv.Scanned = append(inv.Scanned, scan.Source.Provider()+"/"+scan.Namespace)
		progress.Step(fmt.Sprintf("%s: %d repositories, %d hooks", where, len(repos), countHooks(repos)))
	}
	sort.Slice(inv.Repositories, func(i, j int) bool {
		a, b := inv.Repositories[i], inv.Repositories[j]
		return a.Provider+"/"+a.Namespace+"/"+a.Slug < b.Provider+"/"+b.Namespace+"/"+b.Slug
	})
	return inv, nil
}

func countHooks(repos []Repository) int {
	n := 0
	for _, r := range repos {
		n += len(r.Hooks)
	}
	return n
}

// forEach runs f(0..n-1) with at most limit calls at a time and returns the first
// error; after an error or cancellation no new call starts.
func forEach(ctx context.Context, limit, n int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, limit)
	for i := range n {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func productLabel(provider string) string {
	if provider == orbitapi.ProviderBitbucketDataCenter {
		return "Bitbucket Data Center project"
	}
	return "Bitbucket Cloud workspace"
}

// RequiredEvents are the events the provider installs by default for a product.
func RequiredEvents(provider string) []string {
	if provider == orbitapi.ProviderBitbucketDataCenter {
		return datacenter.RequiredEvents()
	}
	return cloud.RequiredEvents()
}

// sortedCopy returns a sorted copy of s without duplicates.
func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// repoKey identifies a repository across products.
func repoKey(provider, namespace, slug string) string {
	return provider + "/" + strings.ToLower(namespace) + "/" + strings.ToLower(slug)
}

func isBitbucketNotFound(err error) bool { return bitbucket.IsNotFound(err) }
