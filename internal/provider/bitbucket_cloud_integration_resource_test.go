package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

const cloudAddr = "orbit_bitbucket_cloud_integration.test"

func cloudConfig(name, description, labels, vcsChecks, token string, tokenVersion int) string {
	return fmt.Sprintf(`
resource "orbit_space" "team" {
  name = "team"
}

resource "orbit_bitbucket_cloud_integration" "test" {
  name                 = %q
  space_id             = orbit_space.team.id
  description          = %q
  labels               = %s
  vcs_checks           = %q
  email                = "dev@example.com"
  api_token_wo         = %q
  api_token_wo_version = %d
}
`, name, description, labels, vcsChecks, token, tokenVersion)
}

func emptyPlanAfterApply() resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
}

func expectAction(addr string, action plancheck.ResourceActionType) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{
		PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, action)},
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
}

func TestAccBitbucketCloudIntegration(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	const tokenV1, tokenV2, tokenOutside = "cloud-token-version-one-0001", "cloud-token-version-two-0002", "cloud-token-set-outside-0003"
	webhookURL := env.server.PublicURL + "/webhooks/bitbucket-cloud/main-cloud"
	var integrationID string

	// apiIntegration reads the integration as orbit-server has it now.
	apiIntegration := func() (*orbitapi.Integration, error) {
		return env.api.Integrations.Get(context.Background(), integrationID)
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				// Create, with the write-only token.
				Config:           env.config(cloudConfig("main-cloud", "first", `["team:platform", "env:prod"]`, "individual", tokenV1, 1)),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("id"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("webhook_url"), knownvalue.StringExact(webhookURL)),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("auth_method"), knownvalue.StringExact("api_token")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("is_default"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("vcs_checks"), knownvalue.StringExact("individual")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("labels"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("team:platform"), knownvalue.StringExact("env:prod")})),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("api_token_wo"), knownvalue.Null()),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("api_token"), knownvalue.Null()),
					statecheck.CompareValuePairs(cloudAddr, tfjsonpath.New("space_id"), "orbit_space.team", tfjsonpath.New("id"), compare.ValuesSame()),
					stateExcludes{what: "Bitbucket credential", values: []string{tokenV1}},
					env.credentialIs("main-cloud", tokenV1),
				},
				Check: func(s *terraform.State) error {
					integrationID = s.RootModule().Resources[cloudAddr].Primary.ID
					for name, rs := range s.RootModule().Resources {
						for attribute, value := range rs.Primary.Attributes {
							if strings.Contains(value, tokenV1) {
								return fmt.Errorf("%s.%s holds the write-only token", name, attribute)
							}
						}
					}
					got, err := apiIntegration()
					if err != nil {
						return err
					}
					if got.Description != "first" || orbitapi.String(got.Email) != "dev@example.com" {
						return fmt.Errorf("server has %+v", got)
					}
					return nil
				},
			},
			{
				// Update in place without touching the token. To tell "kept" from "sent
				// again", the stored credential is first changed behind Terraform's back:
				// an update that does not concern the token must leave it alone.
				PreConfig: func() {
					current, err := apiIntegration()
					if err != nil {
						t.Fatalf("reading integration: %v", err)
					}
					outside := tokenOutside
					if _, err := env.api.Integrations.Update(context.Background(), integrationID, orbitapi.IntegrationRequest{
						Provider: current.Provider, Name: current.Name, SpaceID: current.SpaceID, Email: orbitapi.String(current.Email),
						Description: current.Description, Labels: current.Labels, VCSChecks: current.VCSChecks, APIToken: &outside,
					}); err != nil {
						t.Fatalf("setting the token outside Terraform: %v", err)
					}
				},
				Config:           env.config(cloudConfig("main-cloud", "second", `["team:platform"]`, "all", tokenV1, 1)),
				ConfigPlanChecks: expectAction(cloudAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("description"), knownvalue.StringExact("second")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("vcs_checks"), knownvalue.StringExact("all")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("labels"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("team:platform")})),
					env.credentialIs("main-cloud", tokenOutside),
				},
				Check: func(*terraform.State) error {
					got, err := apiIntegration()
					if err != nil {
						return err
					}
					if got.VCSChecks != "all" || len(got.Labels) != 1 || got.Description != "second" {
						return fmt.Errorf("server has %+v", got)
					}
					return nil
				},
			},
			{
				// A version bump sends the new write-only token.
				Config:           env.config(cloudConfig("main-cloud", "second", `["team:platform"]`, "all", tokenV2, 2)),
				ConfigPlanChecks: expectAction(cloudAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("api_token_wo_version"), knownvalue.Int64Exact(2)),
					stateExcludes{what: "Bitbucket credential", values: []string{tokenV1, tokenV2}},
					env.credentialIs("main-cloud", tokenV2),
				},
			},
			{
				ResourceName:      cloudAddr,
				ImportState:       true,
				ImportStateVerify: true,
				// The API never returns credentials; the version only lives in config.
				ImportStateVerifyIgnore: []string{"api_token_wo_version"},
			},
			{
				// Drift: someone edits the integration outside Terraform.
				PreConfig: func() {
					current, err := apiIntegration()
					if err != nil {
						t.Fatalf("reading integration: %v", err)
					}
					if _, err := env.api.Integrations.Update(context.Background(), integrationID, orbitapi.IntegrationRequest{
						Provider: current.Provider, Name: current.Name, SpaceID: current.SpaceID, Email: orbitapi.String(current.Email),
						Description: "edited by hand", Labels: []string{"hand:made"}, VCSChecks: "aggregated",
					}); err != nil {
						t.Fatalf("editing integration: %v", err)
					}
				},
				Config:           env.config(cloudConfig("main-cloud", "second", `["team:platform"]`, "all", tokenV2, 2)),
				ConfigPlanChecks: expectAction(cloudAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("description"), knownvalue.StringExact("second")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("vcs_checks"), knownvalue.StringExact("all")),
					// Repairing drift kept the stored token.
					env.credentialIs("main-cloud", tokenV2),
				},
			},
			{
				// Drift: the integration is deleted outside Terraform; the plan recreates it.
				PreConfig: func() {
					if err := env.api.Integrations.Delete(context.Background(), integrationID); err != nil {
						t.Fatalf("deleting integration: %v", err)
					}
				},
				Config:           env.config(cloudConfig("main-cloud", "second", `["team:platform"]`, "all", tokenV2, 2)),
				ConfigPlanChecks: expectAction(cloudAddr, plancheck.ResourceActionCreate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("webhook_url"), knownvalue.StringExact(webhookURL)),
					env.credentialIs("main-cloud", tokenV2),
				},
			},
			{
				// The name is in the webhook URL: renaming replaces.
				Config:           env.config(cloudConfig("renamed-cloud", "second", `["team:platform"]`, "all", tokenV2, 2)),
				ConfigPlanChecks: expectAction(cloudAddr, plancheck.ResourceActionReplace),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("webhook_url"),
						knownvalue.StringExact(env.server.PublicURL+"/webhooks/bitbucket-cloud/renamed-cloud")),
					env.credentialIs("renamed-cloud", tokenV2),
				},
			},
		},
	})
}

// A default integration (placed in root) in the deprecated app-password form, imported,
// then moved to email + api_token.
func TestAccBitbucketCloudIntegrationDefaultAndMigration(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	const appPassword, apiToken = "legacy-app-password-0001", "new-api-token-value-0002"

	legacy := env.config(fmt.Sprintf(`
resource "orbit_bitbucket_cloud_integration" "test" {
  name         = "default-cloud"
  is_default   = true
  username     = "bob"
  app_password = %q
}
`, appPassword))
	migrated := env.config(fmt.Sprintf(`
resource "orbit_bitbucket_cloud_integration" "test" {
  name       = "default-cloud"
  is_default = true
  email      = "bob@example.com"
  api_token  = %q
}
`, apiToken))

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:           legacy,
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("is_default"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("space_id"), knownvalue.StringExact("root")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("auth_method"), knownvalue.StringExact("app_password")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("username"), knownvalue.StringExact("bob")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("labels"), knownvalue.SetSizeExact(0)),
					env.credentialIs("default-cloud", appPassword),
				},
			},
			{
				ResourceName:            cloudAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"app_password"},
			},
			{
				Config:           migrated,
				ConfigPlanChecks: expectAction(cloudAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("auth_method"), knownvalue.StringExact("api_token")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("email"), knownvalue.StringExact("bob@example.com")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("username"), knownvalue.Null()),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("space_id"), knownvalue.StringExact("root")),
					stateExcludes{what: "Bitbucket credential", values: []string{appPassword}},
					env.credentialIs("default-cloud", apiToken),
				},
			},
		},
	})
}

// The migration away from app passwords (API.md, Cloud integrations) keeps them for: an integration made outside
// Terraform with an app password is imported, then moved to a write-only API token.
func TestAccBitbucketCloudIntegrationImportAndMigrate(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	const appPassword, apiToken = "pre-existing-app-password-01", "replacement-api-token-0002"
	var existingID string

	config := env.config(fmt.Sprintf(`
resource "orbit_bitbucket_cloud_integration" "test" {
  name                 = "legacy-cloud"
  is_default           = true
  description          = "made by hand"
  email                = "bob@example.com"
  api_token_wo         = %q
  api_token_wo_version = 1
}
`, apiToken))

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					password := appPassword
					created, err := env.api.Integrations.Create(context.Background(), orbitapi.IntegrationRequest{
						Provider: orbitapi.ProviderBitbucketCloud, Name: "legacy-cloud", IsDefault: true,
						Description: "made by hand", Username: "bob", AppPassword: &password,
					})
					if err != nil {
						t.Fatalf("creating the integration outside Terraform: %v", err)
					}
					existingID = created.ID
				},
				Config:             config,
				ResourceName:       cloudAddr,
				ImportState:        true,
				ImportStateIdFunc:  func(*terraform.State) (string, error) { return existingID, nil },
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d instances", len(states))
					}
					got := states[0].Attributes
					if got["auth_method"] != "app_password" || got["username"] != "bob" || got["space_id"] != "root" ||
						got["webhook_url"] != env.server.PublicURL+"/webhooks/bitbucket-cloud/legacy-cloud" {
						return fmt.Errorf("imported attributes %v", got)
					}
					return nil
				},
			},
			{
				// The first apply moves it to the API token; the integration (id,
				// webhook URL) stays.
				Config:           config,
				ConfigPlanChecks: expectAction(cloudAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("auth_method"), knownvalue.StringExact("api_token")),
					statecheck.ExpectKnownValue(cloudAddr, tfjsonpath.New("username"), knownvalue.Null()),
					stateExcludes{what: "Bitbucket credential", values: []string{appPassword, apiToken}},
					env.credentialIs("legacy-cloud", apiToken),
				},
				Check: func(s *terraform.State) error {
					return expectEqual("id after migration", s.RootModule().Resources[cloudAddr].Primary.ID, existingID)
				},
			},
		},
	})
}
