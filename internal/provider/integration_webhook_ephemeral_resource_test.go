package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// Ephemeral resources need Terraform 1.10; the test fails (not skips) on older ones.
// Under OpenTofu before 1.12 the tests are skipped, with the reason (acc_opentofu_test.go).
var ephemeralResourcesSupported = []tfversion.TerraformVersionCheck{tfversion.RequireAbove(tfversion.Version1_10_0), skipOnOpenTofuEphemeralPlanBug{}}

// TestAccIntegrationWebhookEphemeralResourceValues reads the ephemeral values back
// through terraform-plugin-testing's echo provider, the only way to observe them: the
// echo resource copies what it is configured with into its own state.
func TestAccIntegrationWebhookEphemeralResourceValues(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	cloud := env.seedCloudIntegration(t, orbitapi.IntegrationRequest{Name: "org-cloud", IsDefault: true})
	webhook := env.webhookOf(t, cloud.ID)

	factories := env.factories()
	factories["echo"] = echoprovider.NewProviderServer()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		TerraformVersionChecks:   ephemeralResourcesSupported,
		Steps: []resource.TestStep{
			{
				Config: env.config(fmt.Sprintf(`
ephemeral "orbit_integration_webhook" "cloud" {
  integration_id = %q
}

provider "echo" {
  data = ephemeral.orbit_integration_webhook.cloud
}

resource "echo" "webhook" {}
`, cloud.ID)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("echo.webhook", tfjsonpath.New("data").AtMapKey("integration_id"), knownvalue.StringExact(cloud.ID)),
					statecheck.ExpectKnownValue("echo.webhook", tfjsonpath.New("data").AtMapKey("webhook_url"), knownvalue.StringExact(webhook.WebhookURL)),
					statecheck.ExpectKnownValue("echo.webhook", tfjsonpath.New("data").AtMapKey("webhook_secret"), knownvalue.StringExact(webhook.WebhookSecret)),
					statecheck.ExpectKnownValue("echo.webhook", tfjsonpath.New("data").AtMapKey("required_events"), stringListExact(cloudRequiredEvents)),
					statecheck.ExpectKnownValue("echo.webhook", tfjsonpath.New("data").AtMapKey("provider_type"), knownvalue.StringExact("bitbucket_cloud")),
				},
			},
		},
	})
}

// TestAccIntegrationWebhookEphemeralResourceNotInState checks the values inside
// Terraform with preconditions and then that neither the secret nor anything else of
// the ephemeral resource reached the state.
func TestAccIntegrationWebhookEphemeralResourceNotInState(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	spaceID := env.server.NewSpace(t, "platform", "root", false)
	dc := env.seedDataCenterIntegration(t, orbitapi.IntegrationRequest{Name: "team-dc", SpaceID: spaceID})
	webhook := env.webhookOf(t, dc.ID)

	quoted := make([]string, len(dataCenterRequiredEvents))
	for i, event := range dataCenterRequiredEvents {
		quoted[i] = fmt.Sprintf("%q", event)
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		TerraformVersionChecks:   ephemeralResourcesSupported,
		Steps: []resource.TestStep{
			{
				Config: env.config(fmt.Sprintf(`
ephemeral "orbit_integration_webhook" "dc" {
  integration_id = %[1]q
}

# Stored, so that there is a state to inspect. Its preconditions compare the
# ephemeral values with the API's (postconditions on the ephemeral block itself
# would crash "terraform show -json" in Terraform 1.11).
resource "terraform_data" "marker" {
  input = %[1]q

  lifecycle {
    precondition {
      condition     = ephemeral.orbit_integration_webhook.dc.webhook_url == %[2]q
      error_message = "unexpected webhook_url"
    }
    precondition {
      condition     = ephemeral.orbit_integration_webhook.dc.webhook_secret == %[3]q
      error_message = "webhook_secret differs from the API's"
    }
    precondition {
      condition     = ephemeral.orbit_integration_webhook.dc.required_events == tolist([%[4]s])
      error_message = "unexpected required_events"
    }
    precondition {
      condition     = ephemeral.orbit_integration_webhook.dc.provider_type == "bitbucket_datacenter"
      error_message = "unexpected provider_type"
    }
  }
}
`, dc.ID, webhook.WebhookURL, webhook.WebhookSecret, strings.Join(quoted, ", "))),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("terraform_data.marker", tfjsonpath.New("output"), knownvalue.StringExact(dc.ID)),
					stateExcludes{what: "webhook secret", values: []string{webhook.WebhookSecret}},
					stateExcludes{what: "webhook URL", values: []string{webhook.WebhookURL}},
				},
			},
			{
				// A failing precondition proves the conditions above are evaluated.
				Config: env.config(fmt.Sprintf(`
ephemeral "orbit_integration_webhook" "dc" {
  integration_id = %[1]q
}

resource "terraform_data" "marker" {
  input = %[1]q

  lifecycle {
    precondition {
      condition     = ephemeral.orbit_integration_webhook.dc.webhook_secret == "not-the-secret"
      error_message = "webhook_secret differs from the API's"
    }
  }
}
`, dc.ID)),
				ExpectError: wrapTolerant("webhook_secret differs from the API's"),
			},
			{
				Config: env.config(`
ephemeral "orbit_integration_webhook" "missing" {
  integration_id = "no-such-integration"
}
`),
				ExpectError: wrapTolerant(`No integration with id "no-such-integration" exists`),
			},
		},
	})
}
