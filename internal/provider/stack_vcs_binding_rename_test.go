package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// renameConfig binds a stack to acme/<repository> on Bitbucket Cloud and one to
// PLAT/<repository> on Data Center, each with the repository's webhook.
func renameConfig(e *accEnv, repository string) string {
	return e.config(webhookIntegrations("") + fmt.Sprintf(`
resource "orbit_stack" "cloud" {
  name     = "cloud"
  space_id = "root"
}

resource "orbit_stack" "dc" {
  name     = "dc"
  space_id = "root"
}

resource "orbit_stack_vcs_binding" "cloud" {
  stack_id       = orbit_stack.cloud.id
  integration_id = orbit_bitbucket_cloud_integration.main.id
  namespace      = "acme"
  repository     = %[1]q
}

resource "orbit_stack_vcs_binding" "dc" {
  stack_id       = orbit_stack.dc.id
  integration_id = orbit_bitbucket_datacenter_integration.corp.id
  namespace      = "PLAT"
  repository     = %[1]q
}

resource "orbit_bitbucket_repository_webhook" "cloud" {
  integration_id = orbit_bitbucket_cloud_integration.main.id
  namespace      = "acme"
  repository     = %[1]q
}

resource "orbit_bitbucket_repository_webhook" "dc" {
  integration_id = orbit_bitbucket_datacenter_integration.corp.id
  namespace      = "PLAT"
  repository     = %[1]q
}
`, repository))
}

// expectRenamed checks a refreshed plan of addr: Terraform reports the attribute
// changed outside Terraform from the configured old name to the new one (drift), and
// plans an in-place update of it (the configuration still says old), never a
// replacement.
type expectRenamed struct{ addr, attr, old, renamed string }

func (c expectRenamed) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	drifted := false
	for _, rc := range req.Plan.ResourceDrift {
		if rc.Address != c.addr {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		after, _ := rc.Change.After.(map[string]any)
		drifted = before[c.attr] == c.old && after[c.attr] == c.renamed
	}
	if !drifted {
		resp.Error = fmt.Errorf("%s: the plan does not report %s changed outside Terraform from %q to %q", c.addr, c.attr, c.old, c.renamed)
		return
	}
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.addr {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		after, _ := rc.Change.After.(map[string]any)
		if !rc.Change.Actions.Update() || before[c.attr] != c.renamed || after[c.attr] != c.old {
			resp.Error = fmt.Errorf("%s: planned %v of %s %v -> %v, want an in-place update from %q (what Bitbucket has) to %q (the configuration)",
				c.addr, rc.Change.Actions, c.attr, before[c.attr], after[c.attr], c.renamed, c.old)
		}
		return
	}
	resp.Error = fmt.Errorf("%s: not in the plan", c.addr)
}

// TestAccStackVCSBindingRename (issue 20 item 8): both products. A repository bound
// and hooked by Terraform is renamed in Bitbucket (the sandbox renames it and sends
// repo:updated / repo:modified to the hook Terraform installed). The next plan shows
// each binding's repository changed outside Terraform from the configured old slug
// to the new one, and an in-place update back (the hooks likewise: Bitbucket moved
// them, and no replacement would delete them); with the configuration edited to the
// new slug the plan is empty, the hooks are the ones installed at first, and a push
// to the renamed repository starts a run of the bound stack.
func TestAccStackVCSBindingRename(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	ctx := context.Background()
	hookIDs := map[string]string{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             noHooksLeft(e),
		Steps: []resource.TestStep{
			{
				Config:           renameConfig(e, "infra"),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: func(s *terraform.State) error {
					for _, product := range []string{"cloud", "dc"} {
						hookIDs[product] = s.RootModule().Resources["orbit_bitbucket_repository_webhook."+product].Primary.Attributes["hook_id"]
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					for _, rn := range []sandbox.Rename{
						{Product: "cloud", Workspace: "acme", Repository: "infra", NewName: "platform"},
						{Product: "datacenter", Project: "PLAT", Repository: "infra", NewName: "platform"},
					} {
						deliveries, err := e.sandbox.RenameRepository(ctx, rn)
						if err != nil || len(deliveries) != 1 || deliveries[0].Status != http.StatusAccepted {
							t.Fatalf("%s rename: %v, deliveries %+v", rn.Product, err, deliveries)
						}
					}
					// orbit-server acknowledges first and decides after.
					testwait.For(t, 60*time.Second, "both bindings to name the renamed repository", func() bool {
						bindings := 0
						for _, name := range []string{"main", "corp"} {
							list, err := e.api.Integrations.Bindings(ctx, e.integration(t, name).ID)
							for _, b := range list {
								if err == nil && b.Repository == "platform" && b.RenamedFrom != nil && b.RenamedFrom.Repository == "infra" {
									bindings++
								}
							}
						}
						return bindings == 2
					})
				},
				Config:             renameConfig(e, "infra"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					expectRenamed{"orbit_stack_vcs_binding.cloud", "repository", "infra", "platform"},
					expectRenamed{"orbit_stack_vcs_binding.dc", "repository", "infra", "platform"},
					expectRenamed{"orbit_bitbucket_repository_webhook.cloud", "repository", "infra", "platform"},
					expectRenamed{"orbit_bitbucket_repository_webhook.dc", "repository", "infra", "platform"},
				}},
			},
			{
				Config: renameConfig(e, "platform"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("orbit_stack_vcs_binding.cloud", tfjsonpath.New("repository"), knownvalue.StringExact("platform")),
					statecheck.ExpectKnownValue("orbit_stack_vcs_binding.dc", tfjsonpath.New("repository"), knownvalue.StringExact("platform")),
					statecheck.ExpectKnownValue("orbit_bitbucket_repository_webhook.cloud", tfjsonpath.New("repository"), knownvalue.StringExact("platform")),
					statecheck.ExpectKnownValue("orbit_bitbucket_repository_webhook.dc", tfjsonpath.New("repository"), knownvalue.StringExact("platform")),
				},
				Check: func(s *terraform.State) error {
					for _, product := range []string{"cloud", "dc"} {
						if got := s.RootModule().Resources["orbit_bitbucket_repository_webhook."+product].Primary.Attributes["hook_id"]; got != hookIDs[product] {
							return fmt.Errorf("%s hook %s, want the one installed before the rename (%s)", product, got, hookIDs[product])
						}
					}
					return pushStartsRun(ctx, e, s)
				},
			},
		},
	})
}

// pushStartsRun fires a push to each renamed repository and waits for the run of
// its bound stack on that commit.
func pushStartsRun(ctx context.Context, e *accEnv, s *terraform.State) error {
	for i, ev := range []sandbox.Event{
		{Product: "cloud", Workspace: "acme", Repository: "platform", Event: "repo:push", Branch: "main"},
		{Product: "datacenter", Project: "PLAT", Repository: "platform", Event: "repo:refs_changed", Branch: "main"},
	} {
		commit := fmt.Sprintf("%040x", 0xbeef00+i)
		ev.Commits = []sandbox.Commit{{Hash: commit}}
		deliveries, err := e.sandbox.Fire(ctx, ev)
		if err != nil || len(deliveries) != 1 || deliveries[0].Status != http.StatusAccepted {
			return fmt.Errorf("%s push to the renamed repository: %v, deliveries %+v", ev.Product, err, deliveries)
		}
		stack := s.RootModule().Resources[map[string]string{"cloud": "orbit_stack.cloud", "datacenter": "orbit_stack.dc"}[ev.Product]].Primary.ID
		var runs []apiwire.Run
		if !testwait.Until(60*time.Second, func() bool {
			runs, err = e.runsOf(ctx, commit)
			return err == nil && len(runs) == 1
		}) {
			return fmt.Errorf("%s push to the renamed repository started %d runs (%v), want 1", ev.Product, len(runs), err)
		}
		if runs[0].StackID != stack || runs[0].Repository != "platform" {
			return fmt.Errorf("%s push to the renamed repository: run %+v, want one of stack %s on platform", ev.Product, runs[0], stack)
		}
	}
	return nil
}

// runsOf lists the runs on commit (GET /api/v1/runs?commit=, as the admin key).
func (e *accEnv) runsOf(ctx context.Context, commit string) ([]apiwire.Run, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.server.URL+"/api/v1/runs?commit="+commit, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e.server.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var page apiwire.Page[apiwire.Run]
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/runs: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, err
	}
	return page.Items, nil
}
