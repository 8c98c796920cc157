package provider

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// The decisions recent_deliveries counts are the server's, plus pending.
func TestDeliveryDecisionsMatchServer(t *testing.T) {
	want := append([]string{"pending"}, store.Decisions...)
	got := slices.Clone(deliveryDecisions)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("deliveryDecisions = %v, want the server's %v", got, want)
	}
	for _, d := range failedDecisions {
		if !slices.Contains(deliveryDecisions, d) {
			t.Errorf("failed counts %q, which is no decision", d)
		}
	}
}

// healthConfig: a Cloud integration with its hook on acme/infra, a stack (bound to
// acme/infra's main when bound is true), and the two data sources.
func healthConfig(e *accEnv, bound bool) string {
	binding, dependsOn := "", "orbit_bitbucket_repository_webhook.infra"
	if bound {
		dependsOn += ", orbit_stack_vcs_binding.infra"
		binding = `
resource "orbit_stack_vcs_binding" "infra" {
  stack_id       = orbit_stack.infra.id
  integration_id = orbit_bitbucket_cloud_integration.main.id
  namespace      = "acme"
  repository     = "infra"
  branch         = "main"
}
`
	}
	return e.config(`
resource "orbit_bitbucket_cloud_integration" "main" {
  name       = "main"
  is_default = true
  email      = "dev@example.com"
  api_token  = "cloud-api-token"
}
` + cloudHookConfig + `
resource "orbit_stack" "infra" {
  name     = "infra"
  space_id = "root"
}
` + binding + `
data "orbit_stack" "infra" {
  id         = orbit_stack.infra.id
  depends_on = [` + dependsOn + `]
}

data "orbit_bitbucket_cloud_integration" "main" {
  id         = orbit_bitbucket_cloud_integration.main.id
  depends_on = [orbit_bitbucket_repository_webhook.infra]
}

# The condition of examples/data-sources/orbit_bitbucket_cloud_integration/check.tf.
output "deliveries_healthy" {
  value = (
    data.orbit_bitbucket_cloud_integration.main.recent_deliveries.total == 0 ||
    data.orbit_bitbucket_cloud_integration.main.recent_deliveries.failed < data.orbit_bitbucket_cloud_integration.main.recent_deliveries.total
  )
}
`)
}

// recentIs checks every count of recent_deliveries: the ones given, zero elsewhere.
func recentIs(counts map[string]int64) statecheck.StateCheck {
	attrs := map[string]knownvalue.Check{
		"since": knownvalue.StringFunc(func(v string) error {
			_, err := time.Parse(time.RFC3339, v)
			return err
		}),
	}
	for _, name := range append([]string{"total", "failed"}, deliveryDecisions...) {
		attrs[name] = knownvalue.Int64Exact(counts[name])
	}
	return statecheck.ExpectKnownValue("data.orbit_bitbucket_cloud_integration.main", tfjsonpath.New("recent_deliveries"), knownvalue.ObjectExact(attrs))
}

// TestAccHealthAttributes: latest_run of orbit_stack and recent_deliveries of the
// integration data source follow real pushes through the sandbox and orbit-server.
func TestAccHealthAttributes(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	ctx := context.Background()
	const commit = "0f3c1a2b4d5e6f708192a3b4c5d6e7f801234567"

	// push fires a push to acme/infra's main and waits until the worker has decided
	// what every delivery of the log means (none pending).
	push := func(hash string) {
		deliveries, err := e.sandbox.Fire(ctx, sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra",
			Event: "repo:push", Branch: "main", Commits: []sandbox.Commit{{Hash: hash, Files: []string{"main.tf"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(deliveries) != 1 || deliveries[0].Status != http.StatusAccepted {
			t.Fatalf("push: deliveries %+v, want one answered 202", deliveries)
		}
		in := e.integration(t, "main")
		testwait.For(t, time.Minute, "the pushes dispatched", func() bool {
			pending, _, err := e.api.Integrations.Deliveries(ctx, in.ID, orbitapi.DeliveryListOptions{Decision: "pending"})
			return err == nil && len(pending) == 0
		})
	}
	var runID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				// Nothing yet: no run, no delivery.
				Config: healthConfig(e, false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.orbit_stack.infra", tfjsonpath.New("latest_run"), knownvalue.Null()),
					recentIs(map[string]int64{}),
					statecheck.ExpectKnownOutputValue("deliveries_healthy", knownvalue.Bool(true)),
				},
			},
			{
				// A push to a repository no stack is bound to: one failed delivery.
				PreConfig: func() { push("1111111111111111111111111111111111111111") },
				Config:    healthConfig(e, false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.orbit_stack.infra", tfjsonpath.New("latest_run"), knownvalue.Null()),
					recentIs(map[string]int64{"total": 1, "no_binding": 1, "failed": 1}),
					statecheck.ExpectKnownOutputValue("deliveries_healthy", knownvalue.Bool(false)),
				},
			},
			{
				// Bind the stack; the data sources read after the binding exists.
				Config: healthConfig(e, true),
			},
			{
				// A push to the bound branch starts a run: latest_run is that run.
				PreConfig: func() {
					push(commit)
					runs, _, err := e.api.Stacks.Runs(ctx, e.stackID(t, "infra"), orbitapi.ListOptions{})
					if err != nil || len(runs) != 1 {
						t.Fatalf("runs %+v, %v; want one", runs, err)
					}
					runID = runs[0].ID
				},
				Config: healthConfig(e, true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.orbit_stack.infra", tfjsonpath.New("latest_run"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"id":     knownvalue.StringFunc(func(v string) error { return equal("id", v, runID) }),
						"kind":   knownvalue.StringExact("tracked"),
						"state":  knownvalue.StringExact("queued"),
						"result": knownvalue.Null(),
						"commit": knownvalue.StringExact(commit),
						"branch": knownvalue.StringExact("main"),
						"page_url": knownvalue.StringFunc(func(v string) error {
							return equal("page_url", v, e.server.PublicURL+"/api/v1/runs/"+runID+"/page")
						}),
						"created_at": knownvalue.StringFunc(func(v string) error {
							_, err := time.Parse(time.RFC3339, v)
							return err
						}),
					})),
					recentIs(map[string]int64{"total": 2, "no_binding": 1, "runs_started": 1, "failed": 1}),
					statecheck.ExpectKnownOutputValue("deliveries_healthy", knownvalue.Bool(true)),
				},
			},
			{
				// A reported result shows on the next read.
				PreConfig: func() { e.reportResult(t, runID, "succeeded") },
				Config:    healthConfig(e, true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.orbit_stack.infra", tfjsonpath.New("latest_run").AtMapKey("state"), knownvalue.StringExact("finished")),
					statecheck.ExpectKnownValue("data.orbit_stack.infra", tfjsonpath.New("latest_run").AtMapKey("result"), knownvalue.StringExact("succeeded")),
				},
			},
		},
	})
}

func equal(name, got, want string) error {
	if got != want {
		return fmt.Errorf("%s = %q, want %q", name, got, want)
	}
	return nil
}

// stackID finds a stack of the test's server by name.
func (e *accEnv) stackID(t *testing.T, name string) string {
	t.Helper()
	stacks, err := e.api.Stacks.ListAll(context.Background(), orbitapi.ListOptions{Name: name})
	if err != nil || len(stacks) != 1 {
		t.Fatalf("stacks named %s: %+v, %v", name, stacks, err)
	}
	return stacks[0].ID
}

// reportResult finishes a run as a runner does: POST /api/v1/runs/{id}/result.
func (e *accEnv) reportResult(t *testing.T, runID, result string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.server.URL+"/api/v1/runs/"+runID+"/result",
		strings.NewReader(fmt.Sprintf(`{"result":%q}`, result)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.server.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("report result: %d", resp.StatusCode)
	}
}

func TestDecisionDescriptions(t *testing.T) {
	for _, d := range deliveryDecisions {
		if decisionDescriptions[d] == "" {
			t.Errorf("decision %q has no description", d)
		}
	}
}
