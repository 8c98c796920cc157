package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// The triggers a repository webhook needs (API.md, "Required events"), in the order the API lists them.
var (
	cloudRequiredEvents = []string{
		"repo:push", "repo:updated", "pullrequest:created", "pullrequest:updated", "pullrequest:approved",
		"pullrequest:unapproved", "pullrequest:fulfilled", "pullrequest:rejected", "pullrequest:comment_created",
	}
	dataCenterRequiredEvents = []string{
		"repo:refs_changed", "repo:modified", "pr:opened", "pr:from_ref_updated", "pr:modified",
		"pr:reviewer:approved", "pr:reviewer:unapproved", "pr:merged", "pr:declined", "pr:deleted", "pr:comment:added",
	}
)

func stringListExact(values []string) knownvalue.Check {
	checks := make([]knownvalue.Check, len(values))
	for i, v := range values {
		checks[i] = knownvalue.StringExact(v)
	}
	return knownvalue.ListExact(checks)
}

func TestAccIntegrationWebhookDataSource(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	spaceID := env.server.NewSpace(t, "platform", "root", false)
	cloud := env.seedCloudIntegration(t, orbitapi.IntegrationRequest{Name: "team-cloud", SpaceID: spaceID})
	dc := env.seedDataCenterIntegration(t, orbitapi.IntegrationRequest{Name: "corp-dc", IsDefault: true})
	cloudWebhook := env.webhookOf(t, cloud.ID)
	dcWebhook := env.webhookOf(t, dc.ID)

	// A key that may read the space but is not admin there: it must not get the secret.
	readerKey := env.server.NewKey(t, "reader", servertest.Read(spaceID))

	const cloudAddr = "data.orbit_integration_webhook.cloud"
	const dcAddr = "data.orbit_integration_webhook.dc"
	config := env.config(fmt.Sprintf(`
data "orbit_integration_webhook" "cloud" {
  integration_id = %q
}

data "orbit_integration_webhook" "dc" {
  integration_id = %q
}
`, cloud.ID, dc.ID))

	var rotated *orbitapi.Integration
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				// Plan-time validation; first, because the last step's configuration
				// must be valid for the final destroy.
				Config: env.config(`
data "orbit_integration_webhook" "empty" {
  integration_id = ""
}
`),
				PlanOnly:    true,
				ExpectError: wrapTolerant("Attribute integration_id string length must be at least 1"),
			},
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("webhook_url"), knownvalue.StringExact(cloudWebhook.WebhookURL)),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("webhook_url"), knownvalue.StringExact(cloud.WebhookURL)),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("webhook_secret"), knownvalue.StringExact(cloudWebhook.WebhookSecret)),
					statecheck.ExpectSensitiveValue(cloudAddr, tfjsonpath.New("webhook_secret")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("required_events"), stringListExact(cloudRequiredEvents)),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("required_events"), stringListExact(cloudWebhook.RequiredEvents)),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("provider_type"), knownvalue.StringExact("bitbucket_cloud")),

					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("webhook_url"),
						knownvalue.StringExact(env.server.PublicURL+"/webhooks/bitbucket-datacenter/corp-dc")),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("webhook_secret"), knownvalue.StringExact(dcWebhook.WebhookSecret)),
					statecheck.ExpectSensitiveValue(dcAddr, tfjsonpath.New("webhook_secret")),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("required_events"), stringListExact(dataCenterRequiredEvents)),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("provider_type"), knownvalue.StringExact("bitbucket_datacenter")),

					// The data source stores the secret by design (marked sensitive); the
					// ephemeral resource test relies on this check seeing such values.
					stateIncludes{what: "cloud webhook secret", value: cloudWebhook.WebhookSecret},
					stateExcludes{what: "integration credentials", values: []string{"cloud-token-team-cloud", "dc-token-corp-dc"}},
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// A secret rotated in orbit-server is picked up on the next read.
				PreConfig: func() {
					var err error
					rotated, err = env.api.Integrations.RotateSecret(context.Background(), cloud.ID)
					if err != nil {
						t.Fatalf("rotate secret: %v", err)
					}
					if rotated.WebhookSecret == "" || rotated.WebhookSecret == cloudWebhook.WebhookSecret {
						t.Fatalf("rotation did not produce a new secret")
					}
				},
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("webhook_secret"), knownvalue.StringFunc(func(secret string) error {
						if secret != rotated.WebhookSecret {
							return fmt.Errorf("webhook_secret is not the rotated secret")
						}
						return nil
					})),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("webhook_secret"), knownvalue.StringExact(dcWebhook.WebhookSecret)),
					stateExcludes{what: "old cloud webhook secret", values: []string{cloudWebhook.WebhookSecret}},
				},
			},
			{
				Config: env.configAs(readerKey, fmt.Sprintf(`
data "orbit_integration_webhook" "cloud" {
  integration_id = %q
}
`, cloud.ID)),
				ExpectError: wrapTolerant("needs the admin role on its space"),
			},
			{
				Config: env.config(`
data "orbit_integration_webhook" "missing" {
  integration_id = "no-such-integration"
}
`),
				ExpectError: wrapTolerant(`No integration with id "no-such-integration" exists`),
			},
		},
	})
}
