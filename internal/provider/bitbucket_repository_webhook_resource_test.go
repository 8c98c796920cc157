package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

const (
	cloudHookAddr = "orbit_bitbucket_repository_webhook.infra"
	dcHookAddr    = "orbit_bitbucket_repository_webhook.dc_infra"
)

// webhookIntegrations declares a default Cloud integration "main" and a default Data
// Center integration "corp" (whose api_host is not the sandbox: the provider's
// bitbucket_datacenter block points there). version is webhook_secret_version of
// both, "" for none.
func webhookIntegrations(version string) string {
	versionLine := ""
	if version != "" {
		versionLine = "  webhook_secret_version = " + version + "\n"
	}
	return `
resource "orbit_bitbucket_cloud_integration" "main" {
  name       = "main"
  is_default = true
  email      = "dev@example.com"
  api_token  = "cloud-api-token"
` + versionLine + `}

resource "orbit_bitbucket_datacenter_integration" "corp" {
  name         = "corp"
  is_default   = true
  api_host     = "https://bitbucket.example.com"
  username     = "orbit-bot"
  access_token = "dc-access-token"
` + versionLine + `}
`
}

const cloudHookConfig = `
resource "orbit_bitbucket_repository_webhook" "infra" {
  integration_id = orbit_bitbucket_cloud_integration.main.id
  namespace      = "acme"
  repository     = "infra"
}
`

const dcHookConfig = `
resource "orbit_bitbucket_repository_webhook" "dc_infra" {
  integration_id = orbit_bitbucket_datacenter_integration.corp.id
  namespace      = "PLAT"
  repository     = "infra"
}
`

// integration finds an integration of the test's server by name.
func (e *accEnv) integration(t *testing.T, name string) *orbitapi.Integration {
	t.Helper()
	all, err := e.api.Integrations.ListAll(context.Background(), orbitapi.IntegrationListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if all[i].Name == name {
			in, err := e.api.Integrations.Get(context.Background(), all[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			return in
		}
	}
	t.Fatalf("no integration %q in orbit-server", name)
	return nil
}

// repoHooks lists the sandbox's hooks of one repository (secrets included).
func (e *accEnv) repoHooks(product, namespace, repository string) []sandbox.HookView {
	var out []sandbox.HookView
	for _, h := range e.sandbox.Hooks() {
		if h.Product == product && h.Namespace == namespace && h.Repository == repository {
			out = append(out, h)
		}
	}
	return out
}

//nolint:unparam // the repository stays explicit at each call site
func (e *accEnv) onlyHook(t *testing.T, product, namespace, repository string) sandbox.HookView {
	t.Helper()
	hooks := e.repoHooks(product, namespace, repository)
	if len(hooks) != 1 {
		t.Fatalf("%s %s/%s has %d hooks, want 1", product, namespace, repository, len(hooks))
	}
	return hooks[0]
}

// hookInstalled checks, in the sandbox itself, that the repository has exactly one hook
// and that it is what the integration wants: its URL, its current secret, active, and
// the product's required events.
type hookInstalled struct {
	env                            *accEnv
	integration                    string
	product, namespace, repository string
	want                           []string
}

func (e *accEnv) hookInstalled(integration, product, namespace, repository string) hookInstalled {
	_, required := productEvents(map[string]string{"cloud": orbitapi.ProviderBitbucketCloud, "datacenter": orbitapi.ProviderBitbucketDataCenter}[product])
	return hookInstalled{env: e, integration: integration, product: product, namespace: namespace, repository: repository, want: required}
}

func (c hookInstalled) CheckState(ctx context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	hooks := c.env.repoHooks(c.product, c.namespace, c.repository)
	if len(hooks) != 1 {
		resp.Error = fmt.Errorf("%s %s/%s has %d hooks in the sandbox, want exactly 1", c.product, c.namespace, c.repository, len(hooks))
		return
	}
	h := hooks[0]
	in, err := c.env.lookupIntegration(ctx, c.integration)
	if err != nil {
		resp.Error = err
		return
	}
	events := slices.Sorted(slices.Values(h.Events))
	want := slices.Sorted(slices.Values(c.want))
	switch {
	case h.URL != in.WebhookURL:
		resp.Error = fmt.Errorf("hook URL %s, want %s", h.URL, in.WebhookURL)
	case h.Secret == "":
		resp.Error = fmt.Errorf("hook %s has no secret", h.ID)
	case h.Secret != in.WebhookSecret:
		resp.Error = fmt.Errorf("hook %s does not have the integration's current secret", h.ID)
	case !h.Active:
		resp.Error = fmt.Errorf("hook %s is not active", h.ID)
	case !slices.Equal(events, want):
		resp.Error = fmt.Errorf("hook events %v, want %v", events, want)
	}
}

func (e *accEnv) lookupIntegration(ctx context.Context, name string) (*orbitapi.Integration, error) {
	all, err := e.api.Integrations.ListAll(ctx, orbitapi.IntegrationListOptions{})
	if err != nil {
		return nil, err
	}
	for _, in := range all {
		if in.Name == name {
			return e.api.Integrations.Get(ctx, in.ID)
		}
	}
	return nil, fmt.Errorf("no integration %q", name)
}

// onlyChanges asserts that the plan updates addr in place and that exactly attrs
// differ between its before and after (unknown-after counts as a difference).
type onlyChanges struct {
	addr  string
	attrs []string
}

func expectOnlyChanges(addr string, attrs ...string) plancheck.PlanCheck {
	return onlyChanges{addr: addr, attrs: attrs}
}

func (c onlyChanges) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.addr {
			continue
		}
		if !rc.Change.Actions.Update() {
			resp.Error = fmt.Errorf("%s: planned %v, want an in-place update", c.addr, rc.Change.Actions)
			return
		}
		before, _ := rc.Change.Before.(map[string]any)
		after, _ := rc.Change.After.(map[string]any)
		unknown, _ := rc.Change.AfterUnknown.(map[string]any)
		var changed []string
		for k := range before {
			if !reflect.DeepEqual(normalize(before[k]), normalize(after[k])) || unknown[k] == true {
				changed = append(changed, k)
			}
		}
		sort.Strings(changed)
		want := slices.Sorted(slices.Values(c.attrs))
		if !slices.Equal(changed, want) {
			resp.Error = fmt.Errorf("%s: plan changes %v, want exactly %v", c.addr, changed, want)
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", c.addr)
}

// normalize sorts set-like lists so that order does not count as a change.
func normalize(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	sort.Strings(out)
	return out
}

// cloudHookChange changes the one hook of acme/infra through Bitbucket's own API, as a
// person in the web interface would, keeping its secret.
func (e *accEnv) cloudHookChange(t *testing.T, change func(*cloud.UpdateHookRequest)) func() {
	return func() {
		t.Helper()
		h := e.onlyHook(t, "cloud", "acme", "infra")
		api := e.cloudAPI(t)
		current, err := api.GetHook(context.Background(), "acme", "infra", h.ID)
		if err != nil {
			t.Fatal(err)
		}
		req := cloud.UpdateHookRequest{URL: current.URL, Description: current.Description, Active: current.Active, Events: current.Events, SkipCertVerification: current.SkipCertVerification}
		change(&req)
		if _, err := api.UpdateHook(context.Background(), "acme", "infra", h.ID, req); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *accEnv) dcHookChange(t *testing.T, change func(*datacenter.UpdateWebhookRequest)) func() {
	return func() {
		t.Helper()
		h := e.onlyHook(t, "datacenter", "PLAT", "infra")
		var id int64
		if _, err := fmt.Sscan(h.ID, &id); err != nil {
			t.Fatal(err)
		}
		api := e.dataCenterAPI(t)
		current, err := api.GetWebhook(context.Background(), "PLAT", "infra", id)
		if err != nil {
			t.Fatal(err)
		}
		req := datacenter.UpdateWebhookRequest{Name: current.Name, URL: current.URL, Active: current.Active, Events: current.Events, SSLVerificationRequired: current.SSLVerificationRequired}
		change(&req)
		if _, err := api.UpdateWebhook(context.Background(), "PLAT", "infra", id, req); err != nil {
			t.Fatal(err)
		}
	}
}

func importID(addr string) resource.ImportStateIdFunc {
	return func(s *terraform.State) (string, error) {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return "", fmt.Errorf("%s not in state", addr)
		}
		return rs.Primary.Attributes["id"], nil
	}
}

func noHooksLeft(e *accEnv) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if hooks := e.sandbox.Hooks(); len(hooks) != 0 {
			return fmt.Errorf("%d hooks left in the sandbox after destroy, first on %s/%s", len(hooks), hooks[0].Namespace, hooks[0].Repository)
		}
		return nil
	}
}

// The Cloud hook: created right, kept right against each kind of out-of-band change
// (each shows in the next plan as exactly that change), re-keyed after a rotation by
// orbit-server or by webhook_secret_version, imported with an empty plan, destroyed.
func TestAccRepositoryWebhookCloud(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	config := e.config(webhookIntegrations("") + cloudHookConfig)
	installed := e.hookInstalled("main", "cloud", "acme", "infra")
	hook := func(attr string) tfjsonpath.Path { return tfjsonpath.New(attr) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             noHooksLeft(e),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					installed,
					statecheck.ExpectKnownValue(cloudHookAddr, hook("provider_type"), knownvalue.StringExact(orbitapi.ProviderBitbucketCloud)),
					statecheck.ExpectKnownValue(cloudHookAddr, hook("title"), knownvalue.StringExact("Orbit")),
					statecheck.ExpectKnownValue(cloudHookAddr, hook("active"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(cloudHookAddr, hook("skip_cert_verification"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(cloudHookAddr, hook("events"), knownvalue.SetSizeExact(len(cloud.RequiredEvents()))),
					statecheck.ExpectKnownValue(cloudHookAddr, hook("hook_id"), knownvalue.StringRegexp(regexp.MustCompile(`^\{[0-9a-f-]{36}\}$`))),
					statecheck.ExpectKnownValue(cloudHookAddr, hook("secret_fingerprint"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{16}$`))),
					statecheck.CompareValuePairs(cloudHookAddr, hook("url"), "orbit_bitbucket_cloud_integration.main", hook("webhook_url"), compare.ValuesSame()),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			// An event the product does not have fails at plan time.
			{
				Config:      e.config(webhookIntegrations("") + strings.Replace(cloudHookConfig, `repository     = "infra"`, "repository     = \"infra\"\n  events = [\"repo:push\", \"repo:refs_changed\"]", 1)),
				PlanOnly:    true,
				ExpectError: wrappedPattern(`Unknown webhook event.*"repo:refs_changed" is not an event of Bitbucket Cloud`),
			},
			{
				PreConfig:         e.cloudHookChange(t, func(r *cloud.UpdateHookRequest) { r.Active = false }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "active")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig:         e.cloudHookChange(t, func(r *cloud.UpdateHookRequest) { r.URL = "https://elsewhere.example.com/hook" }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "url")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig:         e.cloudHookChange(t, func(r *cloud.UpdateHookRequest) { r.Events = []string{"repo:push", "pullrequest:created"} }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "events")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig:         e.cloudHookChange(t, func(r *cloud.UpdateHookRequest) { r.Description = "renamed by hand" }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "title")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig:         e.cloudHookChange(t, func(r *cloud.UpdateHookRequest) { r.SkipCertVerification = true }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "skip_cert_verification")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig:         e.cloudHookChange(t, func(r *cloud.UpdateHookRequest) { r.Secret = cloud.RemoveSecret() }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "secret_fingerprint")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig: func() {
					h := e.onlyHook(t, "cloud", "acme", "infra")
					if err := e.cloudAPI(t).DeleteHook(context.Background(), "acme", "infra", h.ID); err != nil {
						t.Fatal(err)
					}
				},
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(cloudHookAddr, plancheck.ResourceActionCreate)}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			// orbit-server rotates the secret: the next plan re-keys the hook, nothing else.
			{
				PreConfig: func() {
					if _, err := e.api.Integrations.RotateSecret(context.Background(), e.integration(t, "main").ID); err != nil {
						t.Fatal(err)
					}
				},
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "secret_fingerprint")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			// webhook_secret_version: set for the first time it only records the value...
			{
				Config: e.config(webhookIntegrations("1") + cloudHookConfig),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("orbit_bitbucket_cloud_integration.main", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(cloudHookAddr, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			// ...raised, it rotates in the same apply, and the next plan re-keys the hook.
			{
				Config: e.config(webhookIntegrations("2") + cloudHookConfig),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(cloudHookAddr, plancheck.ResourceActionNoop)},
					PostApplyPostRefresh: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "secret_fingerprint")},
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config:            e.config(webhookIntegrations("2") + cloudHookConfig),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "secret_fingerprint")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				ResourceName:      cloudHookAddr,
				ImportState:       true,
				ImportStateIdFunc: importID(cloudHookAddr),
				ImportStateVerify: true,
			},
			// An import block plans a no-op import: nothing to change right after.
			{
				Config:            e.config(webhookIntegrations("2") + cloudHookConfig),
				ResourceName:      cloudHookAddr,
				ImportState:       true,
				ImportStateKind:   resource.ImportBlockWithID,
				ImportStateIdFunc: importID(cloudHookAddr),
			},
		},
	})
}

// The Data Center hook: the same life cycle, with Data Center's ids, names and
// permissions. (Current Data Center servers do not show a hook's secret, so a secret
// removed by hand there cannot be seen.)
func TestAccRepositoryWebhookDataCenter(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	config := e.config(webhookIntegrations("") + dcHookConfig)
	installed := e.hookInstalled("corp", "datacenter", "PLAT", "infra")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             noHooksLeft(e),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					installed,
					statecheck.ExpectKnownValue(dcHookAddr, tfjsonpath.New("provider_type"), knownvalue.StringExact(orbitapi.ProviderBitbucketDataCenter)),
					statecheck.ExpectKnownValue(dcHookAddr, tfjsonpath.New("hook_id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9]+$`))),
					statecheck.ExpectKnownValue(dcHookAddr, tfjsonpath.New("events"), knownvalue.SetSizeExact(len(datacenter.RequiredEvents()))),
					statecheck.CompareValuePairs(dcHookAddr, tfjsonpath.New("url"), "orbit_bitbucket_datacenter_integration.corp", tfjsonpath.New("webhook_url"), compare.ValuesSame()),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config:      e.config(webhookIntegrations("") + strings.Replace(dcHookConfig, `repository     = "infra"`, "repository     = \"infra\"\n  events = [\"repo:push\"]", 1)),
				PlanOnly:    true,
				ExpectError: wrappedPattern(`Unknown webhook event.*"repo:push" is not an event of Bitbucket Data Center`),
			},
			{
				PreConfig:         e.dcHookChange(t, func(r *datacenter.UpdateWebhookRequest) { r.Active = false }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(dcHookAddr, "active")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig:         e.dcHookChange(t, func(r *datacenter.UpdateWebhookRequest) { r.URL = "https://elsewhere.example.com/hook" }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(dcHookAddr, "url")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig:         e.dcHookChange(t, func(r *datacenter.UpdateWebhookRequest) { r.Events = []string{"repo:refs_changed"} }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(dcHookAddr, "events")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig:         e.dcHookChange(t, func(r *datacenter.UpdateWebhookRequest) { r.SSLVerificationRequired = false }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(dcHookAddr, "skip_cert_verification")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig:         e.dcHookChange(t, func(r *datacenter.UpdateWebhookRequest) { r.Name = "renamed by hand" }),
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(dcHookAddr, "title")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig: func() {
					h := e.onlyHook(t, "datacenter", "PLAT", "infra")
					var id int64
					if _, err := fmt.Sscan(h.ID, &id); err != nil {
						t.Fatal(err)
					}
					if err := e.dataCenterAPI(t).DeleteWebhook(context.Background(), "PLAT", "infra", id); err != nil {
						t.Fatal(err)
					}
				},
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(dcHookAddr, plancheck.ResourceActionCreate)}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				PreConfig: func() {
					if _, err := e.api.Integrations.RotateSecret(context.Background(), e.integration(t, "corp").ID); err != nil {
						t.Fatal(err)
					}
				},
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(dcHookAddr, "secret_fingerprint")}},
				ConfigStateChecks: []statecheck.StateCheck{installed},
			},
			{
				ResourceName:      dcHookAddr,
				ImportState:       true,
				ImportStateIdFunc: importID(dcHookAddr),
				ImportStateVerify: true,
			},
			{
				Config:            config,
				ResourceName:      dcHookAddr,
				ImportState:       true,
				ImportStateKind:   resource.ImportBlockWithID,
				ImportStateIdFunc: importID(dcHookAddr),
			},
		},
	})
}

// A hook made by hand with the integration's URL is adopted and corrected, never
// duplicated; on both products.
func TestAccRepositoryWebhookAdoptsExisting(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	var cloudHookID, dcHookID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             noHooksLeft(e),
		Steps: []resource.TestStep{
			{Config: e.config(webhookIntegrations(""))},
			{
				PreConfig: func() {
					ctx := context.Background()
					// Other hooks first, so that the match is not simply the first one.
					for i := range 3 {
						if _, err := e.cloudAPI(t).CreateHook(ctx, "acme", "infra", cloud.CreateHookRequest{URL: fmt.Sprintf("https://other.example.com/%d", i), Active: true, Events: []string{"repo:push"}}); err != nil {
							t.Fatal(err)
						}
					}
					h, err := e.cloudAPI(t).CreateHook(ctx, "acme", "infra", cloud.CreateHookRequest{
						URL: e.integration(t, "main").WebhookURL, Description: "made by hand", Active: false, Events: []string{"repo:push"},
					})
					if err != nil {
						t.Fatal(err)
					}
					cloudHookID = h.UUID
					w, err := e.dataCenterAPI(t).CreateWebhook(ctx, "PLAT", "infra", datacenter.CreateWebhookRequest{
						Name: "made by hand", URL: e.integration(t, "corp").WebhookURL, Active: true, Events: []string{"repo:refs_changed"},
					})
					if err != nil {
						t.Fatal(err)
					}
					dcHookID = fmt.Sprint(w.ID)
				},
				Config: e.config(webhookIntegrations("") + cloudHookConfig + dcHookConfig),
				ConfigStateChecks: []statecheck.StateCheck{
					e.hookInstalledAmong("main", "cloud", "acme", "infra", 4),
					e.hookInstalled("corp", "datacenter", "PLAT", "infra"),
					statecheck.ExpectKnownValue(cloudHookAddr, tfjsonpath.New("hook_id"), knownvalue.StringFunc(func(v string) error {
						if v != cloudHookID {
							return fmt.Errorf("hook_id %s, want the adopted %s", v, cloudHookID)
						}
						return nil
					})),
					statecheck.ExpectKnownValue(dcHookAddr, tfjsonpath.New("hook_id"), knownvalue.StringFunc(func(v string) error {
						if v != dcHookID {
							return fmt.Errorf("hook_id %s, want the adopted %s", v, dcHookID)
						}
						return nil
					})),
				},
			},
			// Only the managed hooks go on destroy; clean the others up for CheckDestroy.
			{
				Config: e.config(webhookIntegrations("")),
				Check: func(*terraform.State) error {
					hooks := e.repoHooks("cloud", "acme", "infra")
					if len(hooks) != 3 {
						return fmt.Errorf("%d Cloud hooks left, want the 3 unmanaged ones", len(hooks))
					}
					for _, h := range hooks {
						if err := e.cloudAPI(t).DeleteHook(context.Background(), "acme", "infra", h.ID); err != nil {
							return err
						}
					}
					return nil
				},
			},
		},
	})
}

// hookInstalledAmong is hookInstalled for a repository that also has other hooks:
// exactly one delivers to the integration, and total hooks are there.
func (e *accEnv) hookInstalledAmong(integration, product, namespace, repository string, total int) statecheck.StateCheck {
	return hookAmong{hookInstalled: e.hookInstalled(integration, product, namespace, repository), total: total}
}

type hookAmong struct {
	hookInstalled
	total int
}

func (c hookAmong) CheckState(ctx context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	in, err := c.env.lookupIntegration(ctx, c.integration)
	if err != nil {
		resp.Error = err
		return
	}
	hooks := c.env.repoHooks(c.product, c.namespace, c.repository)
	var ours []sandbox.HookView
	for _, h := range hooks {
		if h.URL == in.WebhookURL {
			ours = append(ours, h)
		}
	}
	switch {
	case len(hooks) != c.total:
		resp.Error = fmt.Errorf("%d hooks on %s/%s, want %d", len(hooks), c.namespace, c.repository, c.total)
	case len(ours) != 1:
		resp.Error = fmt.Errorf("%d hooks deliver to the integration, want 1", len(ours))
	case ours[0].Secret != in.WebhookSecret || !ours[0].Active:
		resp.Error = fmt.Errorf("the adopted hook is not active with the current secret")
	}
}

// Tokens without the right Bitbucket permission, and a missing provider block, give one
// diagnostic that names the repository and what is missing.
func TestAccRepositoryWebhookPermissions(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config:      e.configWithTokens(accCloudReadToken, accDCAdminToken, webhookIntegrations("")+cloudHookConfig),
				ExpectError: wrappedPattern(`Bitbucket Cloud permission missing.*repository acme/infra.*webhook permission`),
			},
			{
				Config:      e.configWithTokens(accCloudAdminToken, accDCReadToken, webhookIntegrations("")+dcHookConfig),
				ExpectError: wrappedPattern(`Bitbucket Data Center permission missing.*repository PLAT/infra.*REPO_ADMIN`),
			},
			// Once the integration exists, a missing block fails the plan itself.
			{
				Config:      e.configWithTokens("", accDCAdminToken, webhookIntegrations("")+cloudHookConfig),
				PlanOnly:    true,
				ExpectError: wrappedPattern(`Bitbucket Cloud credentials not configured.*BITBUCKET_CLOUD_EMAIL and BITBUCKET_CLOUD_API_TOKEN`),
			},
			{
				Config: e.configWithTokens(accCloudAdminToken, accDCAdminToken, webhookIntegrations("")),
				Check:  noHooksLeft(e),
			},
		},
	})
}

// One module covers every repository: for_each over the data source, for three
// repositories on each product; query and project_key narrow a Cloud listing.
func TestAccRepositoryWebhookForEach(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	// One Data Center repository has another default branch than main.
	if err := e.sandbox.Seed(sandbox.Seed{DataCenter: sandbox.DataCenterSeed{Repositories: []sandbox.DataCenterRepository{
		{Project: "PLAT", Slug: "web", DefaultBranch: "trunk"},
	}}}); err != nil {
		t.Fatal(err)
	}
	config := e.config(webhookIntegrations("") + `
data "orbit_bitbucket_repositories" "cloud" {
  workspace = "acme"
}

data "orbit_bitbucket_repositories" "cloud_query" {
  workspace   = "acme"
  project_key = "PLAT"
  query       = "name ~ \"in\""
}

data "orbit_bitbucket_repositories" "dc" {
  project_key = "PLAT"
}

resource "orbit_bitbucket_repository_webhook" "cloud" {
  for_each       = { for r in data.orbit_bitbucket_repositories.cloud.repositories : r.slug => r }
  integration_id = orbit_bitbucket_cloud_integration.main.id
  namespace      = each.value.namespace
  repository     = each.value.slug
}

resource "orbit_bitbucket_repository_webhook" "dc" {
  for_each       = { for r in data.orbit_bitbucket_repositories.dc.repositories : r.slug => r }
  integration_id = orbit_bitbucket_datacenter_integration.corp.id
  namespace      = each.value.namespace
  repository     = each.value.slug
}
`)
	var checks []statecheck.StateCheck
	for _, slug := range []string{"app", "infra", "web"} {
		checks = append(checks, e.hookInstalled("main", "cloud", "acme", slug), e.hookInstalled("corp", "datacenter", "PLAT", slug))
	}
	slugs := knownvalue.ListExact([]knownvalue.Check{
		knownvalue.ObjectPartial(map[string]knownvalue.Check{"slug": knownvalue.StringExact("app")}),
		knownvalue.ObjectPartial(map[string]knownvalue.Check{"slug": knownvalue.StringExact("infra")}),
		knownvalue.ObjectPartial(map[string]knownvalue.Check{"slug": knownvalue.StringExact("web")}),
	})
	checks = append(checks,
		statecheck.ExpectKnownValue("data.orbit_bitbucket_repositories.cloud", tfjsonpath.New("repositories"), slugs),
		statecheck.ExpectKnownValue("data.orbit_bitbucket_repositories.dc", tfjsonpath.New("repositories"), slugs),
		statecheck.ExpectKnownValue("data.orbit_bitbucket_repositories.cloud", tfjsonpath.New("repositories").AtSliceIndex(0), knownvalue.ObjectExact(map[string]knownvalue.Check{
			"namespace": knownvalue.StringExact("acme"), "slug": knownvalue.StringExact("app"), "name": knownvalue.StringExact("app"),
			"main_branch": knownvalue.StringExact("main"), "html_url": knownvalue.StringExact(e.sandbox.URL + "/acme/app"),
		})),
		// Data Center's list does not carry the default branch; it is read for each.
		statecheck.ExpectKnownValue("data.orbit_bitbucket_repositories.dc", tfjsonpath.New("repositories").AtSliceIndex(0), knownvalue.ObjectExact(map[string]knownvalue.Check{
			"namespace": knownvalue.StringExact("PLAT"), "slug": knownvalue.StringExact("app"), "name": knownvalue.StringExact("app"),
			"main_branch": knownvalue.StringExact("main"), "html_url": knownvalue.StringExact(e.sandbox.URL + "/projects/PLAT/repos/app/browse"),
		})),
		statecheck.ExpectKnownValue("data.orbit_bitbucket_repositories.dc", tfjsonpath.New("repositories").AtSliceIndex(2), knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"slug": knownvalue.StringExact("web"), "main_branch": knownvalue.StringExact("trunk"),
		})),
		statecheck.ExpectKnownValue("data.orbit_bitbucket_repositories.cloud_query", tfjsonpath.New("repositories"), knownvalue.ListExact([]knownvalue.Check{
			knownvalue.ObjectPartial(map[string]knownvalue.Check{"slug": knownvalue.StringExact("infra")}),
		})),
	)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config:            config,
				ConfigStateChecks: checks,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			// The test framework's destroy check cannot read for_each state; removing
			// the hooks from the configuration destroys them all the same.
			{Config: e.config(webhookIntegrations("")), Check: noHooksLeft(e)},
		},
	})
}

// signatureListener stands in for orbit-server's receiver: it records each delivery
// and whether its X-Hub-Signature is the HMAC of the body with the secret the test
// says is current.
type signatureListener struct {
	mu         sync.Mutex
	deliveries []signedDelivery
}

type signedDelivery struct {
	event, signature string
	body             []byte
}

func (l *signatureListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	l.deliveries = append(l.deliveries, signedDelivery{event: r.Header.Get("X-Event-Key"), signature: r.Header.Get("X-Hub-Signature"), body: body})
	l.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func signedWith(d signedDelivery, secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(d.body)
	return hmac.Equal([]byte(d.signature), []byte("sha256="+hex.EncodeToString(mac.Sum(nil))))
}

// After a rotation and the apply that follows it, a push fired through the sandbox
// arrives signed with the integration's current secret, on both products.
func TestAccRepositoryWebhookDeliverySigned(t *testing.T) {
	t.Parallel()
	listener := &signatureListener{}
	receiver := httptest.NewServer(listener)
	t.Cleanup(receiver.Close)
	e := newAccEnv(t, servertest.WithPublicURL(receiver.URL))
	config := e.config(webhookIntegrations("") + cloudHookConfig + dcHookConfig)
	var oldSecrets map[string]string
	pushArrivesSigned := func(*terraform.State) error {
		ctx := context.Background()
		for _, tc := range []struct{ integration, product, namespace, event string }{
			{"main", "cloud", "acme", "repo:push"},
			{"corp", "datacenter", "PLAT", "repo:refs_changed"},
		} {
			ev := sandbox.Event{Product: tc.product, Repository: "infra", Event: tc.event}
			if tc.product == "cloud" {
				ev.Workspace = tc.namespace
			} else {
				ev.Project = tc.namespace
			}
			listener.mu.Lock()
			listener.deliveries = nil
			listener.mu.Unlock()
			if _, err := e.sandbox.Fire(ctx, ev); err != nil {
				return err
			}
			current, err := e.lookupIntegration(ctx, tc.integration)
			if err != nil {
				return err
			}
			listener.mu.Lock()
			got := slices.Clone(listener.deliveries)
			listener.mu.Unlock()
			if len(got) != 1 || got[0].event != tc.event {
				return fmt.Errorf("%s: %d deliveries arrived, want one %s", tc.product, len(got), tc.event)
			}
			if !signedWith(got[0], current.WebhookSecret) {
				return fmt.Errorf("%s: the delivery is not signed with the integration's current secret (X-Hub-Signature %q)", tc.product, got[0].signature)
			}
			if signedWith(got[0], oldSecrets[tc.integration]) {
				return fmt.Errorf("%s: the delivery is signed with the secret from before the rotation", tc.product)
			}
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             noHooksLeft(e),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					oldSecrets = map[string]string{}
					for _, name := range []string{"main", "corp"} {
						in := e.integration(t, name)
						oldSecrets[name] = in.WebhookSecret
						if _, err := e.api.Integrations.RotateSecret(context.Background(), in.ID); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: config,
				Check:  pushArrivesSigned,
			},
		},
	})
}

// End to end with orbit-server's own receiver: after a rotation and the apply that
// re-keys the hooks, a push through the sandbox is accepted (202) by orbit-server.
// (The receiver also accepts the previous secret for a grace period, which is why
// TestAccRepositoryWebhookDeliverySigned checks the signature itself.)
func TestAccRepositoryWebhookDeliveryAccepted(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	config := e.config(webhookIntegrations("") + cloudHookConfig + dcHookConfig)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             noHooksLeft(e),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					for _, name := range []string{"main", "corp"} {
						if _, err := e.api.Integrations.RotateSecret(context.Background(), e.integration(t, name).ID); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: config,
				Check: func(*terraform.State) error {
					for _, ev := range []sandbox.Event{
						{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push"},
						{Product: "datacenter", Project: "PLAT", Repository: "infra", Event: "repo:refs_changed"},
					} {
						deliveries, err := e.sandbox.Fire(context.Background(), ev)
						if err != nil {
							return err
						}
						if len(deliveries) != 1 || deliveries[0].Status != http.StatusAccepted {
							return fmt.Errorf("%s push: deliveries %+v, want one answered 202 by orbit-server", ev.Product, deliveries)
						}
					}
					return nil
				},
			},
		},
	})
}

// A key that may read the integration but not its secret gets a plan (the URL and the
// fingerprint are readable with read) and then one clear error at apply; nothing is
// written to Bitbucket, so no hook is ever installed or updated without a secret.
func TestAccRepositoryWebhookNeverWithoutSecret(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	ctx := context.Background()
	token := "cloud-api-token"
	in, err := e.api.Integrations.Create(ctx, orbitapi.IntegrationRequest{Provider: orbitapi.ProviderBitbucketCloud, Name: "main", IsDefault: true, Email: "dev@example.com", APIToken: &token})
	if err != nil {
		t.Fatal(err)
	}
	writer := e.server.NewKey(t, "writer", servertest.Write(orbitapi.RootSpaceID))
	config := fmt.Sprintf(`
provider "orbit" {
  endpoint = %q
  api_key  = %q
  bitbucket_cloud {
    api_url   = %q
    email     = %q
    api_token = %q
  }
}

resource "orbit_bitbucket_repository_webhook" "infra" {
  integration_id = %q
  namespace      = "acme"
  repository     = "infra"
}
`, e.server.URL, writer, e.sandbox.URL, accCloudEmail, accCloudAdminToken, in.ID)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config:      config,
			ExpectError: wrappedPattern(`Webhook secret not readable.*needs the admin role`),
		}},
	})
	for _, r := range e.sandbox.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("the provider sent %s %s to Bitbucket without a secret to install", r.Method, r.Path)
		}
	}
	if hooks := e.sandbox.Hooks(); len(hooks) != 0 {
		t.Errorf("%d hooks were installed", len(hooks))
	}
}

// 429 and 5xx answers from Bitbucket are retried (as internal/bitbucket does) during
// a refresh and an update; the plan then comes out right.
func TestAccRepositoryWebhookRetriesBitbucket(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	config := e.config(webhookIntegrations("") + cloudHookConfig)
	zero := 0
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             noHooksLeft(e),
		Steps: []resource.TestStep{
			{
				// A create answered 503 is not re-sent blind: the provider lists again
				// and creates (or adopts what the failed create made), so one hook
				// results; it rides out several 503s in a row, as any other call does.
				PreConfig: func() {
					e.sandbox.AddFault(sandbox.Fault{Status: http.StatusServiceUnavailable, Count: 4, PathPrefix: "/2.0/repositories/acme/infra/hooks", Method: http.MethodPost})
				},
				Config:            config,
				ConfigStateChecks: []statecheck.StateCheck{e.hookInstalled("main", "cloud", "acme", "infra")},
				Check: func(*terraform.State) error {
					if n := len(e.sandbox.Hooks()); n != 1 {
						return fmt.Errorf("%d hooks in the sandbox, want 1", n)
					}
					if f := e.sandbox.Faults(); len(f) != 0 {
						return fmt.Errorf("faults left unserved: %+v", f)
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					e.cloudHookChange(t, func(r *cloud.UpdateHookRequest) { r.Active = false })()
					e.sandbox.AddFault(sandbox.Fault{Status: http.StatusTooManyRequests, RetryAfter: &zero, Count: 1, PathPrefix: "/2.0/repositories/acme/infra/hooks/", Method: http.MethodGet})
					e.sandbox.AddFault(sandbox.Fault{Status: http.StatusServiceUnavailable, Count: 1, PathPrefix: "/2.0/repositories/acme/infra/hooks/", Method: http.MethodPut})
				},
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectOnlyChanges(cloudHookAddr, "active")}},
				ConfigStateChecks: []statecheck.StateCheck{e.hookInstalled("main", "cloud", "acme", "infra")},
				Check: func(*terraform.State) error {
					for _, f := range e.sandbox.Faults() {
						if f.Served != 1 {
							return fmt.Errorf("fault %d (%d %s) served %d times, want 1", f.ID, f.Status, f.Method, f.Served)
						}
					}
					return nil
				},
			},
		},
	})
}
