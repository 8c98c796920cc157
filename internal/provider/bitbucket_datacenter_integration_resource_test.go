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
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

const dcAddr = "orbit_bitbucket_datacenter_integration.test"

func TestAccBitbucketDataCenterIntegration(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	const plainToken, writeOnlyToken = "dc-plain-access-token-0001", "dc-write-only-token-0002"
	var integrationID string

	plain := env.config(fmt.Sprintf(`
resource "orbit_space" "infra" {
  name = "infra"
}

resource "orbit_bitbucket_datacenter_integration" "test" {
  name         = "main-dc"
  space_id     = orbit_space.infra.id
  api_host     = "https://bitbucket.example.com"
  username     = "svc-orbit"
  access_token = %q
}
`, plainToken))
	private := env.config(fmt.Sprintf(`
resource "orbit_space" "infra" {
  name = "infra"
}

# In root, a pool is visible from every space (the integration becomes the default below).
resource "orbit_vcs_agent_pool" "pool" {
  name     = "pool-1"
  space_id = "root"
}

resource "orbit_bitbucket_datacenter_integration" "test" {
  name                    = "main-dc"
  space_id                = orbit_space.infra.id
  api_host                = "private://${orbit_vcs_agent_pool.pool.name}"
  user_facing_host        = "https://bitbucket.example.com/bb"
  username                = "svc-orbit"
  access_token_wo         = %q
  access_token_wo_version = 1
  use_git_checkout        = true
  labels                  = ["net:private"]
}
`, writeOnlyToken))

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:           plain,
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("user_facing_host"), knownvalue.StringExact("https://bitbucket.example.com")),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("use_git_checkout"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("vcs_checks"), knownvalue.StringExact("individual")),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("webhook_url"),
						knownvalue.StringExact(env.server.PublicURL+"/webhooks/bitbucket-datacenter/main-dc")),
					env.credentialIs("main-dc", plainToken),
				},
				Check: func(s *terraform.State) error {
					integrationID = s.RootModule().Resources[dcAddr].Primary.ID
					return nil
				},
			},
			{
				// In place: private pool host, git checkout, labels, and the move from
				// access_token to its write-only twin (which sends the token again).
				Config:           private,
				ConfigPlanChecks: expectAction(dcAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("api_host"), knownvalue.StringExact("private://pool-1")),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("user_facing_host"), knownvalue.StringExact("https://bitbucket.example.com/bb")),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("use_git_checkout"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("access_token"), knownvalue.Null()),
					stateExcludes{what: "Bitbucket access token", values: []string{plainToken, writeOnlyToken}},
					env.credentialIs("main-dc", writeOnlyToken),
				},
			},
			{
				ResourceName:            dcAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"access_token_wo_version"},
			},
			{
				// Drift on a DC-only field.
				PreConfig: func() {
					ctx := context.Background()
					current, err := env.api.Integrations.Get(ctx, integrationID)
					if err != nil {
						t.Fatalf("reading integration: %v", err)
					}
					useGit := orbitapi.Bool(current.UseGitCheckout)
					if _, err := env.api.Integrations.Update(ctx, integrationID, orbitapi.IntegrationRequest{
						Provider: current.Provider, Name: current.Name, SpaceID: current.SpaceID, Username: orbitapi.String(current.Username),
						APIHost: orbitapi.String(current.APIHost), UserFacingHost: "https://elsewhere.example.com", UseGitCheckout: &useGit,
						Labels: current.Labels, VCSChecks: current.VCSChecks,
					}); err != nil {
						t.Fatalf("editing integration: %v", err)
					}
				},
				Config:           private,
				ConfigPlanChecks: expectAction(dcAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("user_facing_host"), knownvalue.StringExact("https://bitbucket.example.com/bb")),
					env.credentialIs("main-dc", writeOnlyToken),
				},
			},
			{
				// Becoming the default moves it to root, in place; space_id is planned
				// as "root" so nothing is left to converge.
				Config:           strings.Replace(private, "space_id                = orbit_space.infra.id", "is_default              = true", 1),
				ConfigPlanChecks: expectAction(dcAddr, plancheck.ResourceActionUpdate),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("is_default"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(dcAddr, tfjsonpath.New("space_id"), knownvalue.StringExact("root")),
					env.credentialIs("main-dc", writeOnlyToken),
				},
			},
		},
	})
}

// wrappedPattern matches want in Terraform's output, which wraps long lines.
func wrappedPattern(want string) *regexp.Regexp {
	return regexp.MustCompile("(?s)" + strings.ReplaceAll(want, " ", `\s+`))
}

// Every invalid input fails at plan time, naming the problem, before anything is
// created.
func TestAccIntegrationPlanTimeErrors(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	cloud := func(body string) string {
		return env.config(`resource "orbit_bitbucket_cloud_integration" "test" {` + "\n" + body + "\n}")
	}
	dc := func(body string) string {
		return env.config(`resource "orbit_bitbucket_datacenter_integration" "test" {` + "\n" + body + "\n}")
	}
	const okCloud = `email = "a@example.com"
api_token = "t"`
	const okDC = `username = "svc"
access_token = "t"`
	tests := []struct {
		config string
		want   string
	}{
		{cloud(`name = "Main"
space_id = "s"
` + okCloud), `must be 1-63 characters of lowercase`},
		{cloud(`name = "main"
space_id = "s"
vcs_checks = "some"
` + okCloud), `vcs_checks.*value must be one of`},
		{cloud(`name = "main"
space_id = "s"
labels = ["-bad"]
` + okCloud), `labels.*must start with a letter or digit`},
		{cloud(`name = "main"
is_default = true
space_id = "s"
` + okCloud), `space_id must not be set when is_default = true`},
		{cloud(`name = "main"
` + okCloud), `or set is_default = true`},
		{cloud(`name = "main"
space_id = "s"
email = "a@example.com"`), `Exactly one of these attributes must be configured.*api_token`},
		{cloud(`name = "main"
space_id = "s"
email = "a@example.com"
api_token = "t"
api_token_wo = "t"`), `Exactly one of these attributes must be configured`},
		{cloud(`name = "main"
space_id = "s"
email = "not-an-address"
api_token = "t"`), `email.*must be an email address`},
		{cloud(`name = "main"
space_id = "s"
api_token = "t"`), `email.*must be specified when.*api_token`},
		// A write-only credential without its version was accepted, and later
		// changes of it were then never sent.
		{cloud(`name = "main"
space_id = "s"
email = "a@example.com"
api_token_wo = "t"`), `api_token_wo_version.*must be specified when.*api_token_wo`},
		{dc(`name = "dc"
space_id = "s"
api_host = "https://bitbucket.example.com"
username = "svc"
access_token_wo = "t"`), `access_token_wo_version.*must be specified when.*access_token_wo`},
		// is_default with a space_id known only at apply passed the plan.
		{env.config(`resource "orbit_space" "later" { name = "later" }
resource "orbit_bitbucket_cloud_integration" "test" {
name = "main"
is_default = true
space_id = orbit_space.later.id
` + okCloud + "\n}"), `space_id must not be set when is_default = true`},
		{dc(`name = "dc"
space_id = "s"
api_host = "https://bitbucket.example.com:70000"
` + okDC), `port must be a number from 1 to 65535`},
		{dc(`name = "dc"
space_id = "s"
api_host = "http://bitbucket.example.com"
` + okDC), `api_host.*must be an https:// URL.*only on a loopback host`},
		{dc(`name = "dc"
space_id = "s"
api_host = "https://bitbucket.example.com/?x=1"
` + okDC), `query string is not allowed`},
		{dc(`name = "dc"
space_id = "s"
api_host = "private://Pool"
user_facing_host = "https://bb.example.com"
` + okDC), `pool name must be lowercase`},
		{dc(`name = "dc"
space_id = "s"
api_host = "private://pool"
` + okDC), `user_facing_host is required when api_host is private`},
		{dc(`name = "dc"
space_id = "s"
api_host = "https://bb.example.com"
username = "svc"`), `Exactly one of these attributes must be configured.*access_token`},
	}
	steps := make([]resource.TestStep, 0, len(tests))
	for _, tt := range tests {
		steps = append(steps, resource.TestStep{Config: tt.config, PlanOnly: true, ExpectError: wrappedPattern(tt.want)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: env.factories(), Steps: steps})
}
