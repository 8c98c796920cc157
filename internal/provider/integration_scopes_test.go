package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// Sandbox tokens that authenticate but may not do what orbit-server does with them.
const (
	// accCloudNoStatusToken lacks read:repository:bitbucket, which posting commit
	// statuses (and reading repositories, branches and a push's changed paths) needs.
	accCloudNoStatusToken = "acc-cloud-no-status-token"
	// accDCNoRepositoryToken is a project token of a project without repositories:
	// it holds REPO_READ on none.
	accDCNoRepositoryToken = "acc-dc-no-repository-token"
)

// TestAccIntegrationTokenPermissions: an integration whose token authenticates but
// lacks what orbit-server needs fails at apply with a diagnostic naming the missing
// Cloud scope or Data Center permission, and nothing is created; the same
// configuration with a sufficient token applies.
func TestAccIntegrationTokenPermissions(t *testing.T) {
	t.Parallel()
	e := newAccEnvCheckingCredentials(t)
	if err := e.sandbox.Seed(sandbox.Seed{
		Cloud: sandbox.CloudSeed{Users: []sandbox.CloudUser{{Email: accCloudEmail, APITokens: []sandbox.CloudAPIToken{
			{Token: accCloudNoStatusToken, Scopes: []string{"read:user:bitbucket", "read:pullrequest:bitbucket"}}}}}},
		DataCenter: sandbox.DataCenterSeed{
			Projects: []sandbox.DataCenterProject{{Key: "EMPTY", Name: "Empty"}},
			Users: []sandbox.DataCenterUser{{Name: "admin", Tokens: []sandbox.DataCenterToken{
				{Token: accDCNoRepositoryToken, Permission: "PROJECT_READ", Project: "EMPTY"}}}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	space := `
resource "orbit_space" "team" {
  name = "team"
}
`
	cloudIntegration := func(token string) string {
		return fmt.Sprintf(`
resource "orbit_bitbucket_cloud_integration" "test" {
  name                 = "cloud-scopes"
  space_id             = orbit_space.team.id
  email                = %q
  api_token_wo         = %q
  api_token_wo_version = 1
}
`, accCloudEmail, token)
	}
	dcIntegration := func(token string) string {
		return fmt.Sprintf(`
resource "orbit_bitbucket_datacenter_integration" "test" {
  name                    = "dc-permissions"
  space_id                = orbit_space.team.id
  api_host                = %q
  username                = "admin"
  access_token_wo         = %q
  access_token_wo_version = 1
}
`, e.sandbox.URL, token)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config:      e.config(space + cloudIntegration(accCloudNoStatusToken)),
				ExpectError: wrappedPattern(`lacks the scope\(s\) read:repository:bitbucket .*post commit statuses`),
			},
			{
				Config:      e.config(space + dcIntegration(accDCNoRepositoryToken)),
				ExpectError: wrappedPattern(`holds REPO_READ on no repository`),
			},
			{
				// Read tokens hold all orbit-server needs: Atlassian's descriptions
				// ask only read:repository:bitbucket / REPO_READ of a status post.
				Config: e.config(space + cloudIntegration(accCloudReadToken) + dcIntegration(accDCReadToken)),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttrSet("orbit_bitbucket_cloud_integration.test", "id"),
					resource.TestCheckResourceAttrSet("orbit_bitbucket_datacenter_integration.test", "id"),
				),
			},
		},
	})
}
