package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// rotationHooks are the recommended configuration of the rotation guide: every hook
// takes its integration's webhook_secret_version, on two repositories per product
// (no for_each: the test framework's state checks cannot read it);
// the data sources read the integrations back.
const rotationHooks = `
resource "orbit_bitbucket_repository_webhook" "cloud_app" {
  integration_id         = orbit_bitbucket_cloud_integration.main.id
  namespace              = "acme"
  repository             = "app"
  webhook_secret_version = orbit_bitbucket_cloud_integration.main.webhook_secret_version
}

resource "orbit_bitbucket_repository_webhook" "cloud_infra" {
  integration_id         = orbit_bitbucket_cloud_integration.main.id
  namespace              = "acme"
  repository             = "infra"
  webhook_secret_version = orbit_bitbucket_cloud_integration.main.webhook_secret_version
}

resource "orbit_bitbucket_repository_webhook" "dc_app" {
  integration_id         = orbit_bitbucket_datacenter_integration.corp.id
  namespace              = "PLAT"
  repository             = "app"
  webhook_secret_version = orbit_bitbucket_datacenter_integration.corp.webhook_secret_version
}

resource "orbit_bitbucket_repository_webhook" "dc_infra" {
  integration_id         = orbit_bitbucket_datacenter_integration.corp.id
  namespace              = "PLAT"
  repository             = "infra"
  webhook_secret_version = orbit_bitbucket_datacenter_integration.corp.webhook_secret_version
}

data "orbit_bitbucket_cloud_integration" "main" {
  id = orbit_bitbucket_cloud_integration.main.id
}

data "orbit_bitbucket_datacenter_integration" "corp" {
  id = orbit_bitbucket_datacenter_integration.corp.id
}
`

// Issue 20 item 7: raising webhook_secret_version rotates the secret and re-keys
// every hook that takes the version, in one apply: the plan updates each hook in place
// (only webhook_secret_version and the fingerprint change), the apply leaves every
// hook in the sandbox with the new secret, the plan right after it is empty (what
// `terraform plan -detailed-exitcode` = 0 asks), and pushes through the sandbox are
// accepted by an orbit-server that gives the old secret no grace at all, so only
// the new secret can have signed them. The data sources show when the previous
// secret stopped verifying. Before that: hooks written without the version (the
// configuration of earlier releases) take it with one update and no rotation; after
// it, an imported hook matches the applied one but for the version.
func TestAccRepositoryWebhookRotationOneApply(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t, servertest.WithConfig(func(c *server.Config) { c.WebhookSecretGrace = -1 }))
	configAt := func(version string) string { return e.config(webhookIntegrations(version) + rotationHooks) }
	// The same hooks as a configuration written before hooks took the version.
	var legacy []string
	for line := range strings.SplitSeq(rotationHooks, "\n") {
		if !strings.Contains(line, "webhook_secret_version") {
			legacy = append(legacy, line)
		}
	}
	legacyConfig := e.config(webhookIntegrations("1") + strings.Join(legacy, "\n"))
	type hookAt struct{ addr, integration, product, namespace, repository string }
	var hooks []hookAt
	for _, repo := range []string{"app", "infra"} {
		hooks = append(hooks,
			hookAt{"orbit_bitbucket_repository_webhook.cloud_" + repo, "main", "cloud", "acme", repo},
			hookAt{"orbit_bitbucket_repository_webhook.dc_" + repo, "corp", "datacenter", "PLAT", repo})
	}
	installedAll := func() []statecheck.StateCheck {
		var checks []statecheck.StateCheck
		for _, h := range hooks {
			checks = append(checks, e.hookInstalled(h.integration, h.product, h.namespace, h.repository))
		}
		return checks
	}
	oldSecrets := map[string]string{}
	remember := func(*terraform.State) error {
		for _, name := range []string{"main", "corp"} {
			in, err := e.lookupIntegration(context.Background(), name)
			if err != nil {
				return err
			}
			oldSecrets[name] = in.WebhookSecret
		}
		return nil
	}
	rotated := func(*terraform.State) error {
		ctx := context.Background()
		for _, name := range []string{"main", "corp"} {
			in, err := e.lookupIntegration(ctx, name)
			if err != nil {
				return err
			}
			if in.WebhookSecret == oldSecrets[name] {
				return fmt.Errorf("integration %s: the apply did not rotate the webhook secret", name)
			}
			if in.PreviousWebhookSecretExpiresAt == nil {
				return fmt.Errorf("integration %s: previous_webhook_secret_expires_at is null after a rotation", name)
			}
		}
		for _, h := range hooks {
			if hook := e.onlyHook(t, h.product, h.namespace, h.repository); hook.Secret == oldSecrets[h.integration] {
				return fmt.Errorf("%s: the sandbox's hook still has the secret from before the rotation", h.addr)
			}
		}
		// Every hook delivers, signed with the new secret: with no grace, orbit-server
		// refuses (401) a delivery signed with the old one.
		for _, h := range hooks {
			ev := sandbox.Event{Product: h.product, Repository: h.repository, Event: "repo:push"}
			if h.product == "cloud" {
				ev.Workspace = h.namespace
			} else {
				ev.Project, ev.Event = h.namespace, "repo:refs_changed"
			}
			deliveries, err := e.sandbox.Fire(ctx, ev)
			if err != nil {
				return err
			}
			if len(deliveries) != 1 || deliveries[0].Status != http.StatusAccepted {
				return fmt.Errorf("%s: push deliveries %+v, want one answered 202 by orbit-server", h.addr, deliveries)
			}
		}
		return nil
	}
	// The data source shows the instant orbit-server answers.
	expiryShown := func(dataAddr, name string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(dataAddr, tfjsonpath.New("previous_webhook_secret_expires_at"), knownvalue.StringFunc(func(v string) error {
			in, err := e.lookupIntegration(context.Background(), name)
			if err != nil {
				return err
			}
			if in.PreviousWebhookSecretExpiresAt == nil {
				return fmt.Errorf("orbit-server shows no expiry for %s", name)
			}
			if want := in.PreviousWebhookSecretExpiresAt.UTC().Format(time.RFC3339); v != want {
				return fmt.Errorf("%s: %s, orbit-server says %s", dataAddr, v, want)
			}
			return nil
		}))
	}
	var bumpPlan []plancheck.PlanCheck
	for _, addr := range []string{"orbit_bitbucket_cloud_integration.main", "orbit_bitbucket_datacenter_integration.corp"} {
		bumpPlan = append(bumpPlan, plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate))
	}
	for _, h := range hooks {
		bumpPlan = append(bumpPlan,
			plancheck.ExpectResourceAction(h.addr, plancheck.ResourceActionUpdate),
			expectOnlyChanges(h.addr, "webhook_secret_version", "secret_fingerprint"),
			plancheck.ExpectUnknownValue(h.addr, tfjsonpath.New("secret_fingerprint")))
	}
	var adoptPlan []plancheck.PlanCheck
	for _, h := range hooks {
		adoptPlan = append(adoptPlan, expectOnlyChanges(h.addr, "webhook_secret_version", "secret_fingerprint"))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             noHooksLeft(e),
		Steps: []resource.TestStep{
			{
				Config:            legacyConfig,
				ConfigStateChecks: installedAll(),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			// Adding the reference to existing hooks: one in-place update of each, which
			// re-sends the secret they have; nothing rotates.
			{
				Config: configAt("1"),
				Check:  remember,
				ConfigStateChecks: append(installedAll(),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.main", tfjsonpath.New("previous_webhook_secret_expires_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(hooks[0].addr, tfjsonpath.New("webhook_secret_version"), knownvalue.Int64Exact(1))),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             append(adoptPlan, plancheck.ExpectResourceAction("orbit_bitbucket_cloud_integration.main", plancheck.ResourceActionNoop)),
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			// The bump: one apply rotates both secrets and re-keys all four hooks; the
			// framework's plan after it must be empty (no ExpectNonEmptyPlan).
			{
				Config: configAt("2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             bumpPlan,
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(installedAll(),
					expiryShown("data.orbit_bitbucket_cloud_integration.main", "main"),
					expiryShown("data.orbit_bitbucket_datacenter_integration.corp", "corp")),
				Check: rotated,
			},
			// A plan of its own, by a new provider process, as CI's
			// `terraform plan -detailed-exitcode` would run it: nothing to do.
			{
				Config:   configAt("2"),
				PlanOnly: true,
			},
			// An imported hook has no version in state (orbit-server and Bitbucket do not
			// know it): the first plan after the import updates it once, as above.
			{
				ResourceName:            hooks[0].addr,
				ImportState:             true,
				ImportStateIdFunc:       importID(hooks[0].addr),
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"webhook_secret_version"},
			},
		},
	})
}
