package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// Helpers shared by the acceptance tests of the integration data sources, the webhook
// data source and the webhook ephemeral resource. Each test starts its own
// orbit-server (servertest.Start: loopback, temporary SQLite) and seeds it through
// orbitapi, so that what Terraform reads can be compared with what the API returns.

// readSideTestEnv is one orbit-server plus an admin client for seeding it.
type readSideTestEnv struct {
	server *servertest.Instance
	admin  *orbitapi.Client
}

func newReadSideTestEnv(t *testing.T) *readSideTestEnv {
	t.Helper()
	instance := servertest.Start(t)
	admin, err := orbitapi.NewClient(instance.URL, instance.AdminKey, orbitapi.WithVersion("acctest"))
	if err != nil {
		t.Fatalf("orbitapi client: %v", err)
	}
	return &readSideTestEnv{server: instance, admin: admin}
}

// providerFactories serves the provider in-process; Terraform reattaches to it, so no
// registry or plugin directory is involved.
func (e *readSideTestEnv) providerFactories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"orbit": providerserver.NewProtocol6WithError(New("acctest")()),
	}
}

// providerBlock configures the provider explicitly (not through ORBIT_* variables,
// which are process-wide and would stop tests from running in parallel).
func (e *readSideTestEnv) providerBlock(apiKey string) string {
	return fmt.Sprintf(`
provider "orbit" {
  endpoint = %q
  api_key  = %q
}
`, e.server.URL, apiKey)
}

func (e *readSideTestEnv) config(body string) string {
	return e.providerBlock(e.server.AdminKey) + body
}

func (e *readSideTestEnv) createCloudIntegration(t *testing.T, req orbitapi.IntegrationRequest) *orbitapi.Integration {
	t.Helper()
	req.Provider = orbitapi.ProviderBitbucketCloud
	if req.Email == "" {
		req.Email = "ci-bot@example.com"
	}
	if req.APIToken == nil {
		req.APIToken = seedPtr("cloud-token-" + req.Name)
	}
	integration, err := e.admin.Integrations.Create(context.Background(), req)
	if err != nil {
		t.Fatalf("create cloud integration %q: %v", req.Name, err)
	}
	return integration
}

func (e *readSideTestEnv) createDataCenterIntegration(t *testing.T, req orbitapi.IntegrationRequest) *orbitapi.Integration {
	t.Helper()
	req.Provider = orbitapi.ProviderBitbucketDataCenter
	if req.APIHost == "" {
		req.APIHost = "https://bitbucket.example.com"
	}
	if req.Username == "" {
		req.Username = "orbit-bot"
	}
	if req.AccessToken == nil {
		req.AccessToken = seedPtr("dc-token-" + req.Name)
	}
	integration, err := e.admin.Integrations.Create(context.Background(), req)
	if err != nil {
		t.Fatalf("create data center integration %q: %v", req.Name, err)
	}
	return integration
}

func (e *readSideTestEnv) webhook(t *testing.T, integrationID string) *orbitapi.IntegrationWebhook {
	t.Helper()
	webhook, err := e.admin.Integrations.Webhook(context.Background(), integrationID)
	if err != nil {
		t.Fatalf("read webhook of %s: %v", integrationID, err)
	}
	if len(webhook.WebhookSecret) != 64 {
		t.Fatalf("webhook secret of %s has %d characters, want 64 (hex of 32 bytes)", integrationID, len(webhook.WebhookSecret))
	}
	return webhook
}

func seedPtr[T any](v T) *T { return &v }

// stateExcludes fails when any of the given strings appears anywhere in the state
// Terraform wrote (all resources, data sources and outputs). Used to prove that
// credentials and ephemeral values never reach the state.
type stateExcludes struct {
	what   string
	values []string
}

var _ statecheck.StateCheck = stateExcludes{}

func (c stateExcludes) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil {
		resp.Error = fmt.Errorf("no state to inspect")
		return
	}
	raw, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = fmt.Errorf("encode state: %w", err)
		return
	}
	for _, value := range c.values {
		if value == "" {
			resp.Error = fmt.Errorf("stateExcludes(%s): empty value would match anything", c.what)
			return
		}
		if strings.Contains(string(raw), value) {
			resp.Error = fmt.Errorf("the state contains the %s", c.what)
			return
		}
	}
}

// stateIncludes is the positive control of stateExcludes: it proves the check can see
// a value that is (legitimately) in the state, e.g. the webhook data source's secret.
type stateIncludes struct {
	what  string
	value string
}

var _ statecheck.StateCheck = stateIncludes{}

func (c stateIncludes) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || c.value == "" {
		resp.Error = fmt.Errorf("stateIncludes(%s): no state or empty value", c.what)
		return
	}
	raw, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = fmt.Errorf("encode state: %w", err)
		return
	}
	if !strings.Contains(string(raw), c.value) {
		resp.Error = fmt.Errorf("the state does not contain the %s", c.what)
	}
}

func expectEqual(what, got, want string) error {
	if got != want {
		return fmt.Errorf("%s = %q, want %q", what, got, want)
	}
	return nil
}
