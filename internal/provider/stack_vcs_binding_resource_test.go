package provider

import (
	"context"
	"fmt"
	"regexp"
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

// bindingConfig is two integrations (Cloud and Data Center), two stacks, and one
// binding per stack whose body is given.
//
//nolint:unparam // the Data Center binding stays explicit at each step
func bindingConfig(env *accEnv, cloudBinding, dcBinding string) string {
	return env.config(fmt.Sprintf(`
resource "orbit_bitbucket_cloud_integration" "cloud" {
  name      = "main-cloud"
  space_id  = "root"
  email     = "dev@example.com"
  api_token = "cloud-token-0001"
}

resource "orbit_bitbucket_datacenter_integration" "dc" {
  name             = "main-dc"
  space_id         = "root"
  api_host         = "https://bitbucket.internal.example.com"
  user_facing_host = "https://git.example.com"
  username         = "svc-orbit"
  access_token     = "dc-token-0001"
}

resource "orbit_stack" "app" {
  name     = "app"
  space_id = "root"
}

resource "orbit_stack" "network" {
  name     = "network"
  space_id = "root"
}

resource "orbit_stack_vcs_binding" "app" {
  stack_id = orbit_stack.app.id
%s
}

resource "orbit_stack_vcs_binding" "network" {
  stack_id = orbit_stack.network.id
%s
}
`, cloudBinding, dcBinding))
}

func TestAccStackVCSBinding(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	const app, network = "orbit_stack_vcs_binding.app", "orbit_stack_vcs_binding.network"
	const dcBinding = `
  integration_id = orbit_bitbucket_datacenter_integration.dc.id
  namespace      = "PLAT"
  repository     = "network"
  project_root   = "envs/prod"
`
	cloudMain := `
  integration_id = orbit_bitbucket_cloud_integration.cloud.id
  namespace      = "acme"
  repository     = "app"
`
	cloudRelease := cloudMain + `
  branch            = "release/1.x"
  pull_request_runs = false
`
	onDC := `
  integration_id = orbit_bitbucket_datacenter_integration.dc.id
  namespace      = "PLAT"
  repository     = "app"
  branch         = "release/1.x"
`
	var appStackID string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:           bindingConfig(env, cloudMain, dcBinding),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs(app, tfjsonpath.New("id"), "orbit_stack.app", tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("provider_type"), knownvalue.StringExact("bitbucket_cloud")),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("status"), knownvalue.StringExact("attached")),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("branch"), knownvalue.StringExact("main")),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("project_root"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("pull_request_runs"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("repository_url"), knownvalue.StringExact("https://bitbucket.org/acme/app")),
					statecheck.ExpectKnownValue(network, tfjsonpath.New("provider_type"), knownvalue.StringExact("bitbucket_datacenter")),
					statecheck.ExpectKnownValue(network, tfjsonpath.New("status"), knownvalue.StringExact("attached")),
					statecheck.ExpectKnownValue(network, tfjsonpath.New("project_root"), knownvalue.StringExact("envs/prod")),
					statecheck.ExpectKnownValue(network, tfjsonpath.New("repository_url"), knownvalue.StringExact("https://git.example.com/projects/PLAT/repos/network")),
				},
				Check: func(s *terraform.State) error {
					appStackID = s.RootModule().Resources["orbit_stack.app"].Primary.ID
					return nil
				},
			},
			{
				// Another branch, in place.
				Config:           bindingConfig(env, cloudRelease, dcBinding),
				ConfigPlanChecks: expectAction(app, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(app, tfjsonpath.New("branch"), knownvalue.StringExact("release/1.x")),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("pull_request_runs"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("repository_url"), knownvalue.StringExact("https://bitbucket.org/acme/app")),
				},
			},
			{
				// Another integration, of the other product, in place.
				Config: bindingConfig(env, onDC, dcBinding),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(app, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(app, tfjsonpath.New("provider_type")),
						plancheck.ExpectUnknownValue(app, tfjsonpath.New("repository_url")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs(app, tfjsonpath.New("integration_id"), "orbit_bitbucket_datacenter_integration.dc", tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("provider_type"), knownvalue.StringExact("bitbucket_datacenter")),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("pull_request_runs"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(app, tfjsonpath.New("repository_url"), knownvalue.StringExact("https://git.example.com/projects/PLAT/repos/app")),
				},
			},
			{
				ResourceName:      app,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// The Data Center integration is deleted through the API: both bindings
				// detach. The next plan recreates it and re-attaches them in place.
				PreConfig: func() {
					ctx := context.Background()
					b, err := env.api.Stacks.GetBinding(ctx, appStackID)
					if err != nil {
						t.Fatal(err)
					}
					if err := env.api.Integrations.Delete(ctx, b.IntegrationID); err != nil {
						t.Fatalf("delete an integration in use: %v", err)
					}
					if b, err = env.api.Stacks.GetBinding(ctx, appStackID); err != nil || b.Status != orbitapi.BindingDetached {
						t.Fatalf("binding after the delete: %+v, %v", b, err)
					}
				},
				Config: bindingConfig(env, onDC, dcBinding),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("orbit_bitbucket_datacenter_integration.dc", plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction(app, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(network, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(app, tfjsonpath.New("status"), knownvalue.StringExact("attached")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(app, tfjsonpath.New("status"), knownvalue.StringExact("attached")),
					statecheck.ExpectKnownValue(network, tfjsonpath.New("status"), knownvalue.StringExact("attached")),
					statecheck.CompareValuePairs(network, tfjsonpath.New("integration_id"), "orbit_bitbucket_datacenter_integration.dc", tfjsonpath.New("id"), compare.ValuesSame()),
				},
			},
			{
				// Removed behind Terraform's back: the plan binds the stack again.
				PreConfig: func() {
					if err := env.api.Stacks.DeleteBinding(context.Background(), appStackID, "*"); err != nil {
						t.Fatal(err)
					}
				},
				Config:           bindingConfig(env, onDC, dcBinding),
				ConfigPlanChecks: expectAction(app, plancheck.ResourceActionCreate),
			},
		},
	})
}

// TestAccStackVCSBindingDetachedKeepsIntegrationID: a binding whose configured
// integration_id names an integration deleted outside Terraform plans the re-attach
// (status detached -> attached) and the apply fails clearly on integration_id.
func TestAccStackVCSBindingDetachedKeepsIntegrationID(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	ctx := context.Background()
	in, err := env.api.Integrations.Create(ctx, orbitapi.IntegrationRequest{
		Provider: orbitapi.ProviderBitbucketCloud, Name: "outside", SpaceID: "root",
		Email: "dev@example.com", APIToken: ptr("cloud-token-0002"),
	})
	if err != nil {
		t.Fatal(err)
	}
	config := env.config(fmt.Sprintf(`
resource "orbit_stack" "app" {
  name     = "app"
  space_id = "root"
}

resource "orbit_stack_vcs_binding" "app" {
  stack_id       = orbit_stack.app.id
  integration_id = %q
  namespace      = "acme"
  repository     = "app"
}
`, in.ID))
	const app = "orbit_stack_vcs_binding.app"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{Config: config, ConfigPlanChecks: emptyPlanAfterApply()},
			{
				PreConfig: func() {
					if err := env.api.Integrations.Delete(ctx, in.ID); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(app, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(app, tfjsonpath.New("status"), knownvalue.StringExact("attached")),
				}},
				ExpectError: regexp.MustCompile(`(?s)integration_id.*does not exist`),
			},
		},
	})
}

// TestAccStackVCSBindingVisibility: a space integration is not visible from a child
// space that does not inherit; the error names integration_id. Letting the child
// inherit fixes it in place.
func TestAccStackVCSBindingVisibility(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	config := func(inherit bool) string {
		return env.config(fmt.Sprintf(`
resource "orbit_space" "platform" {
  name = "platform"
}

resource "orbit_space" "team" {
  name             = "team"
  parent_space_id  = orbit_space.platform.id
  inherit_entities = %t
}

resource "orbit_bitbucket_cloud_integration" "platform" {
  name      = "platform-cloud"
  space_id  = orbit_space.platform.id
  email     = "dev@example.com"
  api_token = "cloud-token-0003"
}

resource "orbit_stack" "app" {
  name     = "app"
  space_id = orbit_space.team.id
}

resource "orbit_stack_vcs_binding" "app" {
  stack_id       = orbit_stack.app.id
  integration_id = orbit_bitbucket_cloud_integration.platform.id
  namespace      = "acme"
  repository     = "app"
}
`, inherit))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:      config(false),
				ExpectError: regexp.MustCompile(`(?s)integration_id.*not visible from the stack's space`),
			},
			{
				Config:           config(true),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("orbit_stack_vcs_binding.app", tfjsonpath.New("status"), knownvalue.StringExact("attached")),
				},
			},
		},
	})
}

func TestAccStackVCSBindingPlanTimeValidation(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	binding := func(attrs string) string {
		return env.config(`
resource "orbit_stack_vcs_binding" "x" {
  stack_id       = "s"
  integration_id = "i"
` + attrs + `
}
`)
	}
	var steps []resource.TestStep
	for _, tc := range []struct{ attrs, want string }{
		{"namespace = \"Acme Corp\"\nrepository = \"app\"", `(?s)namespace.*workspace slug`},
		{"namespace = \"acme\"\nrepository = \"App\"", `(?s)repository.*repository slug`},
		{"namespace = \"acme\"\nrepository = \"app\"\nbranch = \"a..b\"", `(?s)branch.*branch name`},
		{"namespace = \"acme\"\nrepository = \"app\"\nproject_root = \"../up\"", `(?s)project_root.*relative path`},
		{"namespace = \"acme\"\nrepository = \"app\"\nproject_root = \"/abs\"", `(?s)project_root.*relative path`},
	} {
		steps = append(steps, resource.TestStep{Config: binding(tc.attrs), PlanOnly: true, ExpectError: regexp.MustCompile(tc.want)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), Steps: steps})
}

func ptr[T any](v T) *T { return &v }

// TestAccStackVCSBindingRepositoryMustExist: orbit-server asks Bitbucket (the sandbox,
// with the integration's credential) whether a bound repository exists: a binding to
// acme/nope fails at apply naming it, nothing is stored, and the same configuration
// pointed at acme/infra applies.
func TestAccStackVCSBindingRepositoryMustExist(t *testing.T) {
	t.Parallel()
	env := newAccEnvCheckingRepositories(t)
	config := func(repository string) string {
		return env.config(fmt.Sprintf(`
resource "orbit_bitbucket_cloud_integration" "cloud" {
  name      = "checked-cloud"
  space_id  = "root"
  email     = %q
  api_token = %q
}

resource "orbit_stack" "app" {
  name     = "app"
  space_id = "root"
}

resource "orbit_stack_vcs_binding" "app" {
  stack_id       = orbit_stack.app.id
  integration_id = orbit_bitbucket_cloud_integration.cloud.id
  namespace      = "acme"
  repository     = %q
}
`, accCloudEmail, accCloudAdminToken, repository))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:      config("nope"),
				ExpectError: regexp.MustCompile(`(?s)repository.*acme/nope`),
			},
			{
				Config:           config("infra"),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("orbit_stack_vcs_binding.app", tfjsonpath.New("repository"), knownvalue.StringExact("infra")),
					statecheck.ExpectKnownValue("orbit_stack_vcs_binding.app", tfjsonpath.New("status"), knownvalue.StringExact("attached")),
				},
			},
		},
	})
}
