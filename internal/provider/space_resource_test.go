package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccSpace(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	const child = "orbit_space.child"
	var childID string

	nested := env.config(`
resource "orbit_space" "parent" {
  name = "platform"
}

resource "orbit_space" "child" {
  name            = "network"
  parent_space_id = orbit_space.parent.id
  description     = "VPCs and DNS"
  labels          = ["team:net"]
}
`)
	moved := env.config(`
resource "orbit_space" "parent" {
  name = "platform"
}

resource "orbit_space" "child" {
  name             = "networking"
  inherit_entities = true
  labels           = ["team:net", "tier:core"]
}
`)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:           nested,
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs(child, tfjsonpath.New("parent_space_id"), "orbit_space.parent", tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue("orbit_space.parent", tfjsonpath.New("parent_space_id"), knownvalue.StringExact("root")),
					statecheck.ExpectKnownValue("orbit_space.parent", tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(child, tfjsonpath.New("inherit_entities"), knownvalue.Bool(false)),
				},
				Check: func(s *terraform.State) error {
					childID = s.RootModule().Resources[child].Primary.ID
					return nil
				},
			},
			{
				// Rename, move to root, inherit, relabel: all in place.
				Config:           moved,
				ConfigPlanChecks: expectAction(child, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(child, tfjsonpath.New("name"), knownvalue.StringExact("networking")),
					statecheck.ExpectKnownValue(child, tfjsonpath.New("parent_space_id"), knownvalue.StringExact("root")),
					statecheck.ExpectKnownValue(child, tfjsonpath.New("inherit_entities"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(child, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(child, tfjsonpath.New("labels"), knownvalue.SetSizeExact(2)),
				},
			},
			{
				ResourceName:      child,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				PreConfig: func() {
					if err := env.api.Spaces.Delete(context.Background(), childID); err != nil {
						t.Fatalf("deleting space: %v", err)
					}
				},
				Config:           moved,
				ConfigPlanChecks: expectAction(child, plancheck.ResourceActionCreate),
			},
		},
	})
}
