package provider

import (
	"context"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

func TestAccStack(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	const stack = "orbit_stack.network"
	var stackID string

	first := env.config(`
resource "orbit_space" "platform" {
  name = "platform"
}

resource "orbit_stack" "network" {
  name        = "network"
  space_id    = orbit_space.platform.id
  description = "VPCs"
  labels      = ["team:net"]
}

data "orbit_stack" "by_id" {
  id = orbit_stack.network.id
}

data "orbit_stack" "by_name" {
  name     = orbit_stack.network.name
  space_id = orbit_space.platform.id
}
`)
	moved := env.config(`
resource "orbit_space" "platform" {
  name = "platform"
}

resource "orbit_stack" "network" {
  name     = "networking"
  space_id = "root"
}
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:           first,
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.CompareValuePairs(stack, tfjsonpath.New("space_id"), "orbit_space.platform", tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(stack, tfjsonpath.New("labels"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("team:net")})),
					statecheck.CompareValuePairs("data.orbit_stack.by_id", tfjsonpath.New("name"), stack, tfjsonpath.New("name"), compare.ValuesSame()),
					statecheck.CompareValuePairs("data.orbit_stack.by_id", tfjsonpath.New("space_id"), stack, tfjsonpath.New("space_id"), compare.ValuesSame()),
					statecheck.CompareValuePairs("data.orbit_stack.by_name", tfjsonpath.New("id"), stack, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue("data.orbit_stack.by_name", tfjsonpath.New("description"), knownvalue.StringExact("VPCs")),
				},
			},
			{
				// Rename and move to root in place.
				Config:           moved,
				ConfigPlanChecks: expectAction(stack, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(stack, tfjsonpath.New("name"), knownvalue.StringExact("networking")),
					statecheck.ExpectKnownValue(stack, tfjsonpath.New("space_id"), knownvalue.StringExact("root")),
					statecheck.ExpectKnownValue(stack, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(stack, tfjsonpath.New("labels"), knownvalue.SetSizeExact(0)),
				},
			},
			{
				ResourceName:      stack,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// Drift: renamed behind Terraform's back; the plan puts it back.
				PreConfig: func() {
					stacks, err := env.api.Stacks.ListAll(context.Background(), orbitapi.ListOptions{Name: "networking"})
					if err != nil || len(stacks) != 1 {
						t.Fatalf("list stacks: %v, %v", stacks, err)
					}
					stackID = stacks[0].ID
					if _, err := env.api.Stacks.Update(context.Background(), stackID, orbitapi.StackRequest{Name: "renamed", SpaceID: "root"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           moved,
				ConfigPlanChecks: expectAction(stack, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(stack, tfjsonpath.New("name"), knownvalue.StringExact("networking")),
				},
			},
			{
				// Deleted behind Terraform's back: the plan creates it again.
				PreConfig: func() {
					if err := env.api.Stacks.Delete(context.Background(), stackID); err != nil {
						t.Fatal(err)
					}
				},
				Config:           moved,
				ConfigPlanChecks: expectAction(stack, plancheck.ResourceActionCreate),
			},
		},
	})
}

func TestAccStackDataSourceErrors(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config: env.config(`
data "orbit_stack" "x" {
  name = "network"
}
`),
				ExpectError: regexp.MustCompile(`(?s)space_id`),
			},
			{
				Config: env.config(`
data "orbit_stack" "x" {
  name     = "missing"
  space_id = "root"
}
`),
				ExpectError: regexp.MustCompile(`(?s)No stack named "missing" exists in space "root"`),
			},
			{
				Config: env.config(`
data "orbit_stack" "x" {
  id = "missing"
}
`),
				ExpectError: regexp.MustCompile(`(?s)No stack with id "missing"`),
			},
		},
	})
}
