package provider

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// integrationReadRoute is orbit-server's metrics label of GET /integrations/{id}.
const integrationReadRoute = `route="GET /api/v1/integrations/{id}"`

// integrationReads sums orbit_http_requests_total for integration reads, all codes.
func (e *accEnv) integrationReads(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(e.server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "orbit_http_requests_total{") || !strings.Contains(line, integrationReadRoute) {
			continue
		}
		n, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		total += int(n)
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// A refresh of 20 hooks on 2 integrations costs exactly one Bitbucket request per hook
// and one orbit-server read per integration: Terraform reads the hooks in parallel,
// and the provider process shares each integration read, in flight included.
func TestAccRepositoryWebhookRefreshCost(t *testing.T) {
	t.Parallel()
	e := newAccEnv(t)
	var seed sandbox.Seed
	for i := range 10 {
		slug := fmt.Sprintf("svc-%02d", i)
		seed.Cloud.Repositories = append(seed.Cloud.Repositories, sandbox.CloudRepository{Workspace: "acme", Slug: slug})
		seed.DataCenter.Repositories = append(seed.DataCenter.Repositories, sandbox.DataCenterRepository{Project: "PLAT", Slug: slug})
	}
	if err := e.sandbox.Seed(seed); err != nil {
		t.Fatal(err)
	}
	config := e.config(webhookIntegrations("") + `
resource "orbit_bitbucket_repository_webhook" "cloud" {
  count          = 10
  integration_id = orbit_bitbucket_cloud_integration.main.id
  namespace      = "acme"
  repository     = format("svc-%02d", count.index)
}

resource "orbit_bitbucket_repository_webhook" "dc" {
  count          = 10
  integration_id = orbit_bitbucket_datacenter_integration.corp.id
  namespace      = "PLAT"
  repository     = format("svc-%02d", count.index)
}
`)
	var bitbucketBefore, orbitBefore int
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             noHooksLeft(e),
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					bitbucketBefore = len(e.sandbox.Requests())
					orbitBefore = e.integrationReads(t)
				},
				RefreshState: true,
				Check: func(*terraform.State) error {
					requests := e.sandbox.Requests()[bitbucketBefore:]
					perHook := map[string]int{}
					for _, r := range requests {
						if r.Method != http.MethodGet || !(strings.Contains(r.Path, "/hooks/") || strings.Contains(r.Path, "/webhooks/")) {
							return fmt.Errorf("refresh sent %s %s to Bitbucket; it should only read hooks", r.Method, r.Path)
						}
						perHook[r.Path]++
					}
					if len(requests) != 20 || len(perHook) != 20 {
						return fmt.Errorf("refresh sent %d Bitbucket requests for %d distinct hooks; want exactly one for each of 20", len(requests), len(perHook))
					}
					if reads := e.integrationReads(t) - orbitBefore; reads != 2 {
						return fmt.Errorf("refresh read integrations %d times from orbit-server; want 2, one per integration", reads)
					}
					return nil
				},
			},
		},
	})
}
