package provider

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlite"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcsagent/pooltoken"
)

const poolAddr = "orbit_vcs_agent_pool.east"

func TestAccVCSAgentPool(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	var poolID string

	first := env.config(`
resource "orbit_space" "platform" {
  name = "platform"
}

resource "orbit_vcs_agent_pool" "east" {
  name        = "dc-east"
  space_id    = orbit_space.platform.id
  description = "agents in the east data centre"
}

data "orbit_vcs_agent_pool" "by_id" {
  id = orbit_vcs_agent_pool.east.id
}

data "orbit_vcs_agent_pool" "by_name" {
  name = orbit_vcs_agent_pool.east.name
}
`)
	moved := env.config(`
resource "orbit_space" "platform" {
  name = "platform"
}

resource "orbit_vcs_agent_pool" "east" {
  name     = "dc-east"
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
					statecheck.CompareValuePairs(poolAddr, tfjsonpath.New("space_id"), "orbit_space.platform", tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("description"), knownvalue.StringExact("agents in the east data centre")),
					statecheck.CompareValuePairs("data.orbit_vcs_agent_pool.by_id", tfjsonpath.New("name"), poolAddr, tfjsonpath.New("name"), compare.ValuesSame()),
					statecheck.CompareValuePairs("data.orbit_vcs_agent_pool.by_id", tfjsonpath.New("space_id"), poolAddr, tfjsonpath.New("space_id"), compare.ValuesSame()),
					statecheck.CompareValuePairs("data.orbit_vcs_agent_pool.by_name", tfjsonpath.New("id"), poolAddr, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue("data.orbit_vcs_agent_pool.by_name", tfjsonpath.New("description"), knownvalue.StringExact("agents in the east data centre")),
					// No agent hub on the test server: none connected.
					statecheck.ExpectKnownValue("data.orbit_vcs_agent_pool.by_id", tfjsonpath.New("connected_agent_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue("data.orbit_vcs_agent_pool.by_id", tfjsonpath.New("connected_agents"), knownvalue.ListSizeExact(0)),
				},
			},
			{
				// Move to root and drop the description, in place.
				Config:           moved,
				ConfigPlanChecks: expectAction(poolAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("space_id"), knownvalue.StringExact("root")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
				},
			},
			{
				ResourceName:      poolAddr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// Drift: the description changed behind Terraform's back; the plan puts it back.
				PreConfig: func() {
					pools, err := env.api.VCSAgentPools.ListAll(context.Background(), orbitapi.ListOptions{Name: "dc-east"})
					if err != nil || len(pools) != 1 {
						t.Fatalf("list pools: %v, %v", pools, err)
					}
					poolID = pools[0].ID
					if _, err := env.api.VCSAgentPools.Update(context.Background(), poolID, orbitapi.VCSAgentPoolRequest{SpaceID: "root", Description: "edited"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           moved,
				ConfigPlanChecks: expectAction(poolAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
				},
			},
			{
				// A new name is a new pool (integrations name the pool by it).
				Config:           regexp.MustCompile(`name     = "dc-east"`).ReplaceAllString(moved, `name     = "dc-west"`),
				ConfigPlanChecks: expectAction(poolAddr, plancheck.ResourceActionDestroyBeforeCreate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("name"), knownvalue.StringExact("dc-west")),
				},
			},
			{
				// Deleted behind Terraform's back: the plan creates it again.
				PreConfig: func() {
					pools, err := env.api.VCSAgentPools.ListAll(context.Background(), orbitapi.ListOptions{Name: "dc-west"})
					if err != nil || len(pools) != 1 {
						t.Fatalf("list pools: %v, %v", pools, err)
					}
					if err := env.api.VCSAgentPools.Delete(context.Background(), pools[0].ID); err != nil {
						t.Fatal(err)
					}
				},
				Config:           regexp.MustCompile(`name     = "dc-east"`).ReplaceAllString(moved, `name     = "dc-west"`),
				ConfigPlanChecks: expectAction(poolAddr, plancheck.ResourceActionCreate),
			},
		},
	})
}

// A pool made outside this configuration is never taken over: the create fails
// with the import hint naming it; the data source reports missing pools.
func TestAccVCSAgentPoolConflictAndErrors(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	existing, err := env.api.VCSAgentPools.Create(t.Context(), orbitapi.VCSAgentPoolRequest{Name: "taken", SpaceID: "root"})
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config: env.config(`
resource "orbit_vcs_agent_pool" "east" {
  name     = "taken"
  space_id = "root"
}
`),
				ExpectError: wrappedPattern(fmt.Sprintf(`import it instead of creating it: add an import block with id = %q`, existing.ID)),
			},
			{
				Config: env.config(`
resource "orbit_vcs_agent_pool" "east" {
  name     = "Not_Valid"
  space_id = "root"
}
`),
				ExpectError: wrappedPattern(`must be 1-63 characters of lowercase letters`),
			},
			{
				Config: env.config(`
data "orbit_vcs_agent_pool" "x" {
  name = "missing"
}
`),
				ExpectError: wrappedPattern(`No VCS agent pool named "missing" exists`),
			},
		},
	})
}

// TestAccVCSAgentPoolIntegrationNamesMissingPool: a private://<pool> integration
// must name an existing pool: apply fails on api_host, nothing is created; naming
// the pool resource works, and Terraform orders the two.
func TestAccVCSAgentPoolIntegrationNamesMissingPool(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	integration := func(apiHost string) string {
		return fmt.Sprintf(`
resource "orbit_bitbucket_datacenter_integration" "corp" {
  name             = "corp-dc"
  space_id         = "root"
  api_host         = %s
  user_facing_host = "https://bitbucket.corp.example.com"
  username         = "svc-orbit"
  access_token     = "corp-dc-token-0001"
}
`, apiHost)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:      env.config(integration(`"private://no-such-pool"`)),
				ExpectError: wrappedPattern(`api_host names VCS agent pool "no-such-pool", which does not exist`),
			},
			{
				PreConfig: func() {
					if all, err := env.api.Integrations.ListAll(t.Context(), orbitapi.IntegrationListOptions{}); err != nil || len(all) != 0 {
						t.Fatalf("the refused create left %v (%v)", all, err)
					}
				},
				Config: env.config(`
resource "orbit_vcs_agent_pool" "corp" {
  name     = "corp"
  space_id = "root"
}
` + integration(`"private://${orbit_vcs_agent_pool.corp.name}"`)),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("orbit_bitbucket_datacenter_integration.corp", tfjsonpath.New("api_host"), knownvalue.StringExact("private://corp")),
				},
			},
		},
	})
}

// TestAccVCSAgentPoolToken reads the issued token through the echo provider (the only
// way to observe an ephemeral value) and checks it authenticates an agent of the pool.
func TestAccVCSAgentPoolToken(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	pool, err := env.api.VCSAgentPools.Create(t.Context(), orbitapi.VCSAgentPoolRequest{Name: "tokens", SpaceID: "root"})
	if err != nil {
		t.Fatal(err)
	}
	factories := env.factories()
	factories["echo"] = echoprovider.NewProviderServer()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		TerraformVersionChecks:   ephemeralResourcesSupported,
		Steps: []resource.TestStep{
			{
				Config: env.config(fmt.Sprintf(`
ephemeral "orbit_vcs_agent_pool_token" "agent" {
  pool_id     = %q
  description = "kubernetes agent"
  expires_in  = "2h"
}

provider "echo" {
  data = ephemeral.orbit_vcs_agent_pool_token.agent
}

resource "echo" "token" {}
`, pool.ID)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("echo.token", tfjsonpath.New("data").AtMapKey("token"), knownvalue.StringRegexp(regexp.MustCompile(`^orbitpool_pt_[a-z0-9]+_[A-Za-z0-9_-]{43}$`))),
					statecheck.ExpectKnownValue("echo.token", tfjsonpath.New("data").AtMapKey("token_id"), knownvalue.StringRegexp(regexp.MustCompile(`^pt_`))),
					statecheck.ExpectKnownValue("echo.token", tfjsonpath.New("data").AtMapKey("expires_at"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))),
					poolTokenAuthenticates{env: env, poolID: pool.ID},
				},
			},
		},
	})
	tokens, err := env.api.VCSAgentPools.ListTokens(t.Context(), pool.ID)
	if err != nil || len(tokens) == 0 {
		t.Fatalf("tokens of the pool: %v %v", tokens, err)
	}
	for _, tok := range tokens {
		if tok.Description != "kubernetes agent" || tok.ExpiresAt == nil {
			t.Fatalf("issued token %+v: want the configured description and an expiry", tok)
		}
	}
}

// TestAccVCSAgentPoolTokenNotInState: used through a precondition, the token does not
// reach the state. (The failing configurations come first: the test destroys with the
// last one.)
func TestAccVCSAgentPoolTokenNotInState(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		TerraformVersionChecks:   ephemeralResourcesSupported,
		Steps: []resource.TestStep{
			{
				Config: env.config(`
ephemeral "orbit_vcs_agent_pool_token" "agent" {
  pool_id = "no-such-pool"
}
`),
				ExpectError: wrapTolerant(`No VCS agent pool with id "no-such-pool" exists`),
			},
			{
				Config: env.config(`
ephemeral "orbit_vcs_agent_pool_token" "agent" {
  pool_id    = "any"
  expires_in = "forever"
}
`),
				ExpectError: wrapTolerant(`must be a duration such as 720h`),
			},
			{
				Config: env.config(`
resource "orbit_vcs_agent_pool" "p" {
  name     = "stateless"
  space_id = "root"
}

ephemeral "orbit_vcs_agent_pool_token" "agent" {
  pool_id = orbit_vcs_agent_pool.p.id
}

resource "terraform_data" "marker" {
  input = orbit_vcs_agent_pool.p.id

  lifecycle {
    precondition {
      condition     = startswith(ephemeral.orbit_vcs_agent_pool_token.agent.token, "orbitpool_")
      error_message = "not a pool token"
    }
  }
}
`),
				ConfigStateChecks: []statecheck.StateCheck{
					stateExcludes{what: "pool token", values: []string{"orbitpool_"}},
					stateIncludes{what: "pool id", value: "stateless-"},
				},
			},
		},
	})
}

// poolTokenAuthenticates checks that the token echo.token holds authenticates an
// agent of the pool, as the agent tunnel does.
type poolTokenAuthenticates struct {
	env    *accEnv
	poolID string
}

func (c poolTokenAuthenticates) CheckState(ctx context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		resp.Error = errors.New("no state to inspect")
		return
	}
	token := ""
	for _, r := range req.State.Values.RootModule.Resources {
		if r.Address == "echo.token" {
			if data, ok := r.AttributeValues["data"].(map[string]any); ok {
				token, _ = data["token"].(string)
			}
		}
	}
	if token == "" {
		resp.Error = errors.New("echo.token holds no token")
		return
	}
	st, err := sqlite.Open(ctx, filepath.Clean(c.env.server.DBPath))
	if err != nil {
		resp.Error = err
		return
	}
	defer st.Close()
	who, err := pooltoken.NewAuthenticator(st, nil).AuthenticateAgent(ctx, token)
	if err != nil {
		resp.Error = fmt.Errorf("the issued token does not authenticate: %w", err)
		return
	}
	if who.PoolID != c.poolID {
		resp.Error = fmt.Errorf("the token authenticates pool %q, want %q", who.PoolID, c.poolID)
	}
}
