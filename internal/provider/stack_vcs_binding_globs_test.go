package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// TestAccStackVCSBindingProjectGlobs (issue 25): a root and globs on bindings are
// stored, changed in place, imported, and dropped back to none without a
// perpetual diff.
func TestAccStackVCSBindingProjectGlobs(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	const app, network = "orbit_stack_vcs_binding.app", "orbit_stack_vcs_binding.network"
	cloud := func(extra string) string {
		return `
  integration_id = orbit_bitbucket_cloud_integration.cloud.id
  namespace      = "acme"
  repository     = "infra"
  project_root   = "envs/prod"
` + extra
	}
	const dc = `
  integration_id = orbit_bitbucket_datacenter_integration.dc.id
  namespace      = "PLAT"
  repository     = "infra"
  project_root   = "envs/staging"
  additional_project_globs = ["shared/*.tf"]
`
	globs := func(addr string, want ...string) statecheck.StateCheck {
		values := []knownvalue.Check{}
		for _, w := range want {
			values = append(values, knownvalue.StringExact(w))
		}
		return statecheck.ExpectKnownValue(addr, tfjsonpath.New("additional_project_globs"), knownvalue.SetExact(values))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:           bindingConfig(env, cloud(`  additional_project_globs = ["modules/**", "envs/{prod,shared}/*.hcl"]`), dc),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(app, tfjsonpath.New("project_root"), knownvalue.StringExact("envs/prod")),
					globs(app, "modules/**", "envs/{prod,shared}/*.hcl"),
					statecheck.ExpectKnownValue(network, tfjsonpath.New("project_root"), knownvalue.StringExact("envs/staging")),
					globs(network, "shared/*.tf"),
				},
			},
			{
				// Other globs, in place.
				Config:            bindingConfig(env, cloud(`  additional_project_globs = ["modules/vpc/**"]`), dc),
				ConfigPlanChecks:  expectAction(app, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{globs(app, "modules/vpc/**")},
			},
			{
				ResourceName:      app,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// Left out: none, and no diff after.
				Config:            bindingConfig(env, cloud(""), dc),
				ConfigPlanChecks:  expectAction(app, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{globs(app)},
			},
			{
				Config:           bindingConfig(env, cloud(""), dc),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// TestAccStackVCSBindingInvalidGlobFailsAtPlan: a glob orbit-server would refuse
// fails the plan, naming the attribute, before any request.
func TestAccStackVCSBindingInvalidGlobFailsAtPlan(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	binding := func(globs string) string {
		return env.config(`
resource "orbit_stack_vcs_binding" "x" {
  stack_id       = "s"
  integration_id = "i"
  namespace      = "acme"
  repository     = "app"
  project_root   = "envs/prod"
  additional_project_globs = ` + globs + `
}
`)
	}
	var steps []resource.TestStep
	for _, tc := range []struct{ globs, want string }{
		{`["modules/["]`, `(?s)additional_project_globs.*"modules/\[".*must be a glob relative to the repository root`},
		{`["modules/**", "/abs/**"]`, `(?s)additional_project_globs.*"/abs/\*\*".*must be a glob relative to the repository root`},
		{`["../up/*.tf"]`, `(?s)additional_project_globs.*no \. or \.\. segments`},
	} {
		steps = append(steps, resource.TestStep{Config: binding(tc.globs), PlanOnly: true, ExpectError: regexp.MustCompile(tc.want)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), Steps: steps})
}
