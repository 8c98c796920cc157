package provider

import (
	"context"
	"strconv"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// repositoryHooks is what orbit_bitbucket_repository_webhook needs from a Bitbucket
// product: one adapter per product over internal/bitbucket/cloud and .../datacenter.
type repositoryHooks interface {
	product() bitbucket.Product
	get(ctx context.Context, namespace, repository, hookID string) (hookView, error)
	// list returns every hook of the repository (all pages).
	list(ctx context.Context, namespace, repository string) ([]hookView, error)
	create(ctx context.Context, namespace, repository string, spec hookSpec) (hookView, error)
	// update replaces the hook's settings and sets its secret (never an empty one).
	update(ctx context.Context, namespace, repository, hookID string, spec hookSpec) (hookView, error)
	delete(ctx context.Context, namespace, repository, hookID string) error
	// repository reads the repository itself, to tell "hook gone" from "cannot see".
	repository(ctx context.Context, namespace, repository string) error
}

// hookSpec is a hook as the resource wants it.
type hookSpec struct {
	title                string
	url                  string
	events               []string
	active               bool
	skipCertVerification bool
	secret               bitbucket.Secret
}

// hookView is a hook as Bitbucket shows it.
type hookView struct {
	id                   string
	title                string
	url                  string
	events               []string
	active               bool
	skipCertVerification bool
	// secretSet is what Cloud reports (secret_set); nil when the product does not say.
	secretSet *bool
	// secret is Data Center's configuration.secret, which only older servers return.
	secret bitbucket.Secret
}

type cloudHooks struct{ client *cloud.Client }

func (cloudHooks) product() bitbucket.Product { return bitbucket.ProductCloud }

func cloudView(h cloud.Hook) hookView {
	secretSet := h.SecretSet
	return hookView{
		id: h.UUID, title: h.Description, url: h.URL, events: h.Events, active: h.Active,
		skipCertVerification: h.SkipCertVerification, secretSet: &secretSet,
	}
}

func (c cloudHooks) get(ctx context.Context, ws, repo, id string) (hookView, error) {
	h, err := c.client.GetHook(ctx, ws, repo, id)
	return cloudView(h), err
}

func (c cloudHooks) list(ctx context.Context, ws, repo string) ([]hookView, error) {
	hooks, err := c.client.ListHooks(ctx, ws, repo)
	views := make([]hookView, 0, len(hooks))
	for _, h := range hooks {
		views = append(views, cloudView(h))
	}
	return views, err
}

func (c cloudHooks) create(ctx context.Context, ws, repo string, spec hookSpec) (hookView, error) {
	h, err := c.client.CreateHook(ctx, ws, repo, cloud.CreateHookRequest{
		URL: spec.url, Description: spec.title, Active: spec.active, Events: spec.events,
		Secret: spec.secret, SkipCertVerification: spec.skipCertVerification,
	})
	return cloudView(h), err
}

func (c cloudHooks) update(ctx context.Context, ws, repo, id string, spec hookSpec) (hookView, error) {
	h, err := c.client.UpdateHook(ctx, ws, repo, id, cloud.UpdateHookRequest{
		URL: spec.url, Description: spec.title, Active: spec.active, Events: spec.events,
		SkipCertVerification: spec.skipCertVerification, Secret: cloud.SetSecret(spec.secret),
	})
	return cloudView(h), err
}

func (c cloudHooks) delete(ctx context.Context, ws, repo, id string) error {
	return c.client.DeleteHook(ctx, ws, repo, id)
}

func (c cloudHooks) repository(ctx context.Context, ws, repo string) error {
	_, err := c.client.GetRepository(ctx, ws, repo)
	return err
}

type dataCenterHooks struct{ client *datacenter.Client }

func (dataCenterHooks) product() bitbucket.Product { return bitbucket.ProductDataCenter }

func dataCenterView(w datacenter.Webhook) hookView {
	return hookView{
		id: strconv.FormatInt(w.ID, 10), title: w.Name, url: w.URL, events: w.Events, active: w.Active,
		skipCertVerification: !w.SSLVerificationRequired, secret: w.Secret,
	}
}

// webhookID parses a Data Center hook id; a malformed one is reported like a missing
// hook would be by the server, as a validation error.
func webhookID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, &bitbucket.ValidationError{Field: "hook_id", Message: "a Bitbucket Data Center webhook id is a positive integer, not " + strconv.Quote(id)}
	}
	return n, nil
}

func (d dataCenterHooks) get(ctx context.Context, project, repo, id string) (hookView, error) {
	n, err := webhookID(id)
	if err != nil {
		return hookView{}, err
	}
	w, err := d.client.GetWebhook(ctx, project, repo, n)
	return dataCenterView(w), err
}

func (d dataCenterHooks) list(ctx context.Context, project, repo string) ([]hookView, error) {
	hooks, err := d.client.ListWebhooks(ctx, project, repo)
	views := make([]hookView, 0, len(hooks))
	for _, w := range hooks {
		views = append(views, dataCenterView(w))
	}
	return views, err
}

func (d dataCenterHooks) create(ctx context.Context, project, repo string, spec hookSpec) (hookView, error) {
	w, err := d.client.CreateWebhook(ctx, project, repo, datacenter.CreateWebhookRequest{
		Name: spec.title, URL: spec.url, Active: spec.active, Events: spec.events,
		SSLVerificationRequired: !spec.skipCertVerification, Secret: spec.secret,
	})
	return dataCenterView(w), err
}

func (d dataCenterHooks) update(ctx context.Context, project, repo, id string, spec hookSpec) (hookView, error) {
	n, err := webhookID(id)
	if err != nil {
		return hookView{}, err
	}
	w, err := d.client.UpdateWebhook(ctx, project, repo, n, datacenter.UpdateWebhookRequest{
		Name: spec.title, URL: spec.url, Active: spec.active, Events: spec.events,
		SSLVerificationRequired: !spec.skipCertVerification, Secret: datacenter.SetSecret(spec.secret),
	})
	return dataCenterView(w), err
}

func (d dataCenterHooks) delete(ctx context.Context, project, repo, id string) error {
	n, err := webhookID(id)
	if err != nil {
		return err
	}
	return d.client.DeleteWebhook(ctx, project, repo, n)
}

func (d dataCenterHooks) repository(ctx context.Context, project, repo string) error {
	_, err := d.client.GetRepository(ctx, project, repo)
	return err
}

// productEvents are the event keys a product's hooks take and the ones Orbit needs.
func productEvents(providerType string) (valid, required []string) {
	switch providerType {
	case orbitapi.ProviderBitbucketCloud:
		return cloud.HookEvents, cloud.RequiredEvents()
	case orbitapi.ProviderBitbucketDataCenter:
		return datacenter.WebhookEvents, datacenter.RequiredEvents()
	}
	return nil, nil
}
