package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// wrapTolerant matches text even where Terraform wraps a long diagnostic across lines.
func wrapTolerant(text string) *regexp.Regexp {
	words := strings.Fields(text)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(strings.Join(words, `\s+`))
}

func TestAccBitbucketCloudIntegrationDataSource(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	spaceID := env.server.NewSpace(t, "platform", "root", false)

	team := env.seedCloudIntegration(t, orbitapi.IntegrationRequest{
		Name: "team-cloud", SpaceID: spaceID, Description: "Team workspace",
		Labels: []string{"team:platform", "env:prod"}, VCSChecks: "aggregated",
	})
	// Same name, other provider: a lookup by name must not return it.
	sameNameDC := env.seedDataCenterIntegration(t, orbitapi.IntegrationRequest{Name: "team-cloud", SpaceID: spaceID})
	var orgDefault *orbitapi.Integration

	const lookups = `
data "orbit_bitbucket_cloud_integration" "by_id" {
  id = %q
}

data "orbit_bitbucket_cloud_integration" "by_name" {
  name = "team-cloud"
}

data "orbit_bitbucket_cloud_integration" "default" {
  default = true
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				// No default integration exists yet.
				Config: env.config(`
data "orbit_bitbucket_cloud_integration" "default" {
  default = true
}
`),
				ExpectError: wrapTolerant("No Bitbucket Cloud integration has is_default = true"),
			},
			{
				PreConfig: func() {
					orgDefault = env.seedCloudIntegration(t, orbitapi.IntegrationRequest{Name: "org-cloud", IsDefault: true})
				},
				Config: env.config(fmt.Sprintf(lookups, team.ID)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("name"), knownvalue.StringExact("team-cloud")),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("space_id"), knownvalue.StringExact(spaceID)),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("is_default"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("description"), knownvalue.StringExact("Team workspace")),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("labels"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("env:prod"), knownvalue.StringExact("team:platform")})),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("vcs_checks"), knownvalue.StringExact("aggregated")),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("webhook_url"), knownvalue.StringExact(team.WebhookURL)),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("webhook_url"),
						knownvalue.StringExact(env.server.PublicURL+"/webhooks/bitbucket-cloud/team-cloud")),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("email"), knownvalue.StringExact("ci-bot@example.com")),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("auth_method"), knownvalue.StringExact("api_token")),

					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_name", tfjsonpath.New("id"), knownvalue.StringExact(team.ID)),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_name", tfjsonpath.New("webhook_url"), knownvalue.StringExact(team.WebhookURL)),

					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.default", tfjsonpath.New("id"), knownvalue.StringFunc(func(id string) error {
						return expectEqual("default integration id", id, orgDefault.ID)
					})),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.default", tfjsonpath.New("name"), knownvalue.StringExact("org-cloud")),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.default", tfjsonpath.New("is_default"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.default", tfjsonpath.New("space_id"), knownvalue.StringExact("root")),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.default", tfjsonpath.New("labels"), knownvalue.SetExact([]knownvalue.Check{})),

					// No credential and no webhook secret in a lookup's state.
					stateExcludes{what: "API tokens", values: []string{"cloud-token-team-cloud", "cloud-token-org-cloud"}},
					stateExcludes{what: "webhook secret", values: []string{env.webhookOf(t, team.ID).WebhookSecret}},
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// A change made outside Terraform shows on the next read.
				PreConfig: func() {
					_, err := env.api.Integrations.Update(context.Background(), team.ID, orbitapi.IntegrationRequest{
						Name: "team-cloud", SpaceID: spaceID, Email: "ci-bot@example.com",
						Description: "Moved to aggregated checks", Labels: []string{"team:platform"}, VCSChecks: "all",
					})
					if err != nil {
						t.Fatalf("update integration: %v", err)
					}
				},
				Config: env.config(fmt.Sprintf(lookups, team.ID)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_id", tfjsonpath.New("description"), knownvalue.StringExact("Moved to aggregated checks")),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_name", tfjsonpath.New("vcs_checks"), knownvalue.StringExact("all")),
					statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.by_name", tfjsonpath.New("labels"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("team:platform")})),
				},
			},
			{
				Config: env.config(`
data "orbit_bitbucket_cloud_integration" "missing" {
  name = "no-such-integration"
}
`),
				ExpectError: wrapTolerant(`No Bitbucket Cloud integration named "no-such-integration" exists`),
			},
			{
				Config: env.config(`
data "orbit_bitbucket_cloud_integration" "missing" {
  id = "no-such-id"
}
`),
				ExpectError: wrapTolerant(`No Bitbucket Cloud integration with id "no-such-id" exists`),
			},
			{
				// The id of a Data Center integration is not a Cloud integration.
				Config: env.config(fmt.Sprintf(`
data "orbit_bitbucket_cloud_integration" "wrong_kind" {
  id = %q
}
`, sameNameDC.ID)),
				ExpectError: wrapTolerant("Read it with the orbit_bitbucket_datacenter_integration data source"),
			},
		},
	})
}

// The selector rules are checked when Terraform validates the configuration, before
// any API call; the same rules apply to both integration data sources.
func TestAccIntegrationDataSourceSelectorValidation(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)

	tests := []struct {
		name      string
		selectors string
		wantError *regexp.Regexp
	}{
		{"no selector", ``, wrapTolerant(`Exactly one of these attributes must be configured: [id,name,default]`)},
		{"id and name", `
  id   = "abc"
  name = "main"`, wrapTolerant(`Exactly one of these attributes must be configured: [id,name,default]`)},
		{"name and default", `
  name    = "main"
  default = true`, wrapTolerant(`Exactly one of these attributes must be configured: [id,name,default]`)},
		{"default false", `
  default = false`, wrapTolerant(`Attribute default Value must be "true", got: false`)},
		{"invalid name", `
  name = "Not A Valid Name"`, wrapTolerant(`Attribute name must be 1-63 characters of lowercase letters`)},
		{"empty id", `
  id = ""`, wrapTolerant(`Attribute id string length must be at least 1`)},
	}

	var steps []resource.TestStep
	for _, kind := range []string{"orbit_bitbucket_cloud_integration", "orbit_bitbucket_datacenter_integration"} {
		for _, tt := range tests {
			steps = append(steps, resource.TestStep{
				Config:      env.config(fmt.Sprintf("data %q \"selected\" {%s\n}\n", kind, tt.selectors)),
				PlanOnly:    true,
				ExpectError: tt.wantError,
			})
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps:                    steps,
	})
}
