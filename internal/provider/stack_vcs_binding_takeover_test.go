package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// TestAccStackVCSBindingNeverTakesOver (issue 20 item 1): two configurations (two
// working directories, two states) bind one stack. The second one's apply fails on
// stack_id with the import hint (import block and terraform import, by the stack id),
// and the first configuration's binding is untouched: same repository, same version,
// and its next plan is empty. The first one's destroy then removes its binding.
func TestAccStackVCSBindingNeverTakesOver(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	ctx := context.Background()
	in, err := env.api.Integrations.Create(ctx, orbitapi.IntegrationRequest{
		Provider: orbitapi.ProviderBitbucketCloud, Name: "shared", SpaceID: "root",
		Email: accCloudEmail, APIToken: ptr("cloud-token-0001"),
	})
	if err != nil {
		t.Fatal(err)
	}
	stack, err := env.api.Stacks.Create(ctx, orbitapi.StackRequest{Name: "shared", SpaceID: "root"})
	if err != nil {
		t.Fatal(err)
	}
	config := func(repository string) string {
		return env.config(fmt.Sprintf(`
resource "orbit_stack_vcs_binding" "this" {
  stack_id       = %q
  integration_id = %q
  namespace      = "acme"
  repository     = %q
}
`, stack.ID, in.ID, repository))
	}
	const addr = "orbit_stack_vcs_binding.this"
	var first *orbitapi.StackVCSBinding
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:           config("infra"),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: func(*terraform.State) error {
					first, err = env.api.Stacks.GetBinding(ctx, stack.ID)
					return err
				},
			},
			{
				// The second configuration, in its own working directory and state.
				PreConfig: func() {
					resource.Test(t, resource.TestCase{
						ProtoV6ProviderFactories: env.factories(),
						Steps: []resource.TestStep{{
							Config: config("app"),
							ExpectError: regexp.MustCompile(`(?s)already has a VCS binding.*acme/infra.*import \{.*id = "` +
								regexp.QuoteMeta(stack.ID) + `".*terraform import`),
						}},
					})
				},
				Config: config("infra"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("repository"), knownvalue.StringExact("infra")),
				},
				Check: func(*terraform.State) error {
					now, err := env.api.Stacks.GetBinding(ctx, stack.ID)
					if err != nil {
						return err
					}
					if now.Repository != "infra" || now.Version != first.Version || !now.UpdatedAt.Equal(first.UpdatedAt.Time) {
						return fmt.Errorf("the first configuration's binding changed: %+v, was %+v", now, first)
					}
					return nil
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if _, err := env.api.Stacks.GetBinding(ctx, stack.ID); !orbitapi.IsNotFound(err) {
				return fmt.Errorf("after destroy the binding is still there (or: %v)", err)
			}
			return nil
		},
	})
}
