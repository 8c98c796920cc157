package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

func TestAccBitbucketDataCenterIntegrationDataSource(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	spaceID := env.server.NewSpace(t, "platform", "root", false)
	if _, err := env.api.VCSAgentPools.Create(t.Context(), orbitapi.VCSAgentPoolRequest{Name: "pool-eu", SpaceID: spaceID}); err != nil {
		t.Fatal(err)
	}

	private := env.seedDataCenterIntegration(t, orbitapi.IntegrationRequest{
		Name: "private-dc", SpaceID: spaceID, APIHost: "private://pool-eu", UserFacingHost: "https://bitbucket.corp.example.com",
		Username: "svc-orbit", UseGitCheckout: seedPtr(true), Labels: []string{"site:eu"},
	})
	// A Cloud integration: the Data Center data source must not return it.
	cloud := env.seedCloudIntegration(t, orbitapi.IntegrationRequest{Name: "cloud-only", SpaceID: spaceID})
	var corpDefault *orbitapi.Integration

	const byID = "data.orbit_bitbucket_datacenter_integration.by_id"
	const byName = "data.orbit_bitbucket_datacenter_integration.by_name"
	const byDefault = "data.orbit_bitbucket_datacenter_integration.default"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config: env.config(`
data "orbit_bitbucket_datacenter_integration" "default" {
  default = true
}
`),
				ExpectError: wrapTolerant("No Bitbucket Data Center integration has is_default = true"),
			},
			{
				PreConfig: func() {
					corpDefault = env.seedDataCenterIntegration(t, orbitapi.IntegrationRequest{
						Name: "corp-dc", IsDefault: true, APIHost: "https://bitbucket.example.com", Description: "Company server",
					})
				},
				Config: env.config(fmt.Sprintf(`
data "orbit_bitbucket_datacenter_integration" "by_id" {
  id = %q
}

data "orbit_bitbucket_datacenter_integration" "by_name" {
  name = "private-dc"
}

data "orbit_bitbucket_datacenter_integration" "default" {
  default = true
}
`, private.ID)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(byID, tfjsonpath.New("name"), knownvalue.StringExact("private-dc")),
					statecheck.ExpectKnownValue(byID, tfjsonpath.New("space_id"), knownvalue.StringExact(spaceID)),
					statecheck.ExpectKnownValue(byID, tfjsonpath.New("api_host"), knownvalue.StringExact("private://pool-eu")),
					statecheck.ExpectKnownValue(byID, tfjsonpath.New("user_facing_host"), knownvalue.StringExact("https://bitbucket.corp.example.com")),
					statecheck.ExpectKnownValue(byID, tfjsonpath.New("username"), knownvalue.StringExact("svc-orbit")),
					statecheck.ExpectKnownValue(byID, tfjsonpath.New("use_git_checkout"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(byID, tfjsonpath.New("vcs_checks"), knownvalue.StringExact("individual")),
					statecheck.ExpectKnownValue(byID, tfjsonpath.New("labels"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("site:eu")})),
					statecheck.ExpectKnownValue(byID, tfjsonpath.New("webhook_url"),
						knownvalue.StringExact(env.server.PublicURL+"/webhooks/bitbucket-datacenter/private-dc")),

					statecheck.ExpectKnownValue(byName, tfjsonpath.New("id"), knownvalue.StringExact(private.ID)),

					statecheck.ExpectKnownValue(byDefault, tfjsonpath.New("id"), knownvalue.StringFunc(func(id string) error {
						return expectEqual("default integration id", id, corpDefault.ID)
					})),
					statecheck.ExpectKnownValue(byDefault, tfjsonpath.New("is_default"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(byDefault, tfjsonpath.New("space_id"), knownvalue.StringExact("root")),
					statecheck.ExpectKnownValue(byDefault, tfjsonpath.New("description"), knownvalue.StringExact("Company server")),
					// user_facing_host defaults to api_host.
					statecheck.ExpectKnownValue(byDefault, tfjsonpath.New("user_facing_host"), knownvalue.StringExact("https://bitbucket.example.com")),
					statecheck.ExpectKnownValue(byDefault, tfjsonpath.New("use_git_checkout"), knownvalue.Bool(false)),

					stateExcludes{what: "access tokens", values: []string{"dc-token-private-dc", "dc-token-corp-dc"}},
					stateExcludes{what: "webhook secret", values: []string{env.webhookOf(t, private.ID).WebhookSecret}},
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: env.config(`
data "orbit_bitbucket_datacenter_integration" "missing" {
  name = "cloud-only"
}
`),
				ExpectError: wrapTolerant(`No Bitbucket Data Center integration named "cloud-only" exists`),
			},
			{
				Config: env.config(fmt.Sprintf(`
data "orbit_bitbucket_datacenter_integration" "wrong_kind" {
  id = %q
}
`, cloud.ID)),
				ExpectError: wrapTolerant("Read it with the orbit_bitbucket_cloud_integration data source"),
			},
		},
	})
}
