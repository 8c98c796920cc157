package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

func swapConfig(env *accEnv, aDefault bool) string {
	placement := func(isDefault bool) string {
		if isDefault {
			return "is_default = true"
		}
		return `space_id   = "root"`
	}
	return env.config(fmt.Sprintf(`
resource "orbit_bitbucket_cloud_integration" "a" {
  name                 = "swap-a"
  %s
  email                = "dev@example.com"
  api_token_wo         = "cloud-token-swap-a-0001"
  api_token_wo_version = 1
}

resource "orbit_bitbucket_cloud_integration" "b" {
  name                 = "swap-b"
  %s
  email                = "dev@example.com"
  api_token_wo         = "cloud-token-swap-b-0001"
  api_token_wo_version = 1
}
`, placement(aDefault), placement(!aDefault)))
}

// TestAccMoveDefaultInOneApply: moving is_default from one integration to another in
// one apply used to fail about 12 times out of 20 with a 409 on is_default, because
// Terraform updates both at once. Ten swaps in a row must all succeed.
func TestAccMoveDefaultInOneApply(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	var steps []resource.TestStep
	for i := range 11 { // a create, then ten swaps
		aDefault := i%2 == 0
		steps = append(steps, resource.TestStep{
			Config:           swapConfig(env, aDefault),
			ConfigPlanChecks: emptyPlanAfterApply(),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("orbit_bitbucket_cloud_integration.a", tfjsonpath.New("is_default"), knownvalue.Bool(aDefault)),
				statecheck.ExpectKnownValue("orbit_bitbucket_cloud_integration.b", tfjsonpath.New("is_default"), knownvalue.Bool(!aDefault)),
			},
		})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), Steps: steps})
}

// TestAccNameConflictSuggestsImport: a 409 on name used to be bare; it names the
// existing integration's id and how to import it.
func TestAccNameConflictSuggestsImport(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	token := "cloud-token-made-by-hand-0001"
	existing, err := env.api.Integrations.Create(context.Background(), orbitapi.IntegrationRequest{
		Provider: orbitapi.ProviderBitbucketCloud, Name: "by-hand", SpaceID: "root", Email: "dev@example.com", APIToken: &token,
	})
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{{
			Config: env.config(`
resource "orbit_bitbucket_cloud_integration" "test" {
  name                 = "by-hand"
  space_id             = "root"
  email                = "dev@example.com"
  api_token_wo         = "cloud-token-made-by-hand-0001"
  api_token_wo_version = 1
}
`),
			ExpectError: wrappedPattern(`already exists \(id "` + regexp.QuoteMeta(existing.ID) + `"\).*import block with id = "` + regexp.QuoteMeta(existing.ID) + `"`),
		}},
	})
}

// TestAccCheckCredentialsFalse: creating an integration always checked its
// credential against Bitbucket, so one for a host orbit-server cannot reach yet could
// not be made from Terraform. check_credentials = false skips the check.
func TestAccCheckCredentialsFalse(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	config := func(check bool) string {
		return env.config(fmt.Sprintf(`
resource "orbit_bitbucket_datacenter_integration" "unreachable" {
  name                    = "not-yet-reachable"
  space_id                = "root"
  api_host                = "https://bitbucket.internal.example.com"
  username                = "svc"
  access_token_wo         = "dc-token-not-checked-0001"
  access_token_wo_version = 1
  check_credentials       = %t
}
`, check))
	}
	checks := func(want int) func(*terraform.State) error {
		return func(*terraform.State) error {
			if _, n := env.credentials.last("not-yet-reachable"); n != want {
				return fmt.Errorf("orbit-server checked the credential %d times, want %d", n, want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:           config(false),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("orbit_bitbucket_datacenter_integration.unreachable", tfjsonpath.New("check_credentials"), knownvalue.Bool(false)),
				},
				Check: checks(0),
			},
			{
				ResourceName:            "orbit_bitbucket_datacenter_integration.unreachable",
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"check_credentials", "access_token_wo_version"},
			},
		},
	})
}
