package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// Helpers shared by the acceptance tests of the integration data sources, the webhook
// data source and the webhook ephemeral resource, on top of the accEnv harness
// (acc_test.go): each test has its own orbit-server and seeds it through orbitapi, so
// that what Terraform reads can be compared with what the API returns.

// configAs is accEnv.config with another API key, e.g. one with fewer roles.
func (e *accEnv) configAs(apiKey, body string) string {
	return fmt.Sprintf(`
provider "orbit" {
  endpoint = %q
  api_key  = %q
}
`, e.server.URL, apiKey) + body
}

func (e *accEnv) seedCloudIntegration(t *testing.T, req orbitapi.IntegrationRequest) *orbitapi.Integration {
	t.Helper()
	req.Provider = orbitapi.ProviderBitbucketCloud
	if req.Email == "" {
		req.Email = "ci-bot@example.com"
	}
	if req.APIToken == nil {
		req.APIToken = seedPtr("cloud-token-" + req.Name)
	}
	integration, err := e.api.Integrations.Create(context.Background(), req)
	if err != nil {
		t.Fatalf("create cloud integration %q: %v", req.Name, err)
	}
	return integration
}

func (e *accEnv) seedDataCenterIntegration(t *testing.T, req orbitapi.IntegrationRequest) *orbitapi.Integration {
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
	integration, err := e.api.Integrations.Create(context.Background(), req)
	if err != nil {
		t.Fatalf("create data center integration %q: %v", req.Name, err)
	}
	return integration
}

func (e *accEnv) webhookOf(t *testing.T, integrationID string) *orbitapi.IntegrationWebhook {
	t.Helper()
	webhook, err := e.api.Integrations.Webhook(context.Background(), integrationID)
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

// TestReadSideSchemas: every attribute of the read-side types is documented, the
// webhook secret is sensitive, and the integration lookups carry no secret at all.
func TestReadSideSchemas(t *testing.T) {
	t.Parallel()
	server := providerserver.NewProtocol6(New("test")())()
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("schema diagnostic: %s: %s", d.Summary, d.Detail)
	}

	schemas := map[string]*tfprotov6.Schema{}
	for _, name := range []string{"orbit_bitbucket_cloud_integration", "orbit_bitbucket_datacenter_integration", "orbit_integration_webhook"} {
		s, ok := resp.DataSourceSchemas[name]
		if !ok {
			t.Fatalf("data source %s is not registered", name)
		}
		schemas["data source "+name] = s
	}
	ephemeralSchema, ok := resp.EphemeralResourceSchemas["orbit_integration_webhook"]
	if !ok {
		t.Fatal("ephemeral resource orbit_integration_webhook is not registered")
	}
	schemas["ephemeral resource orbit_integration_webhook"] = ephemeralSchema

	for kind, s := range schemas {
		for _, a := range s.Block.Attributes {
			if a.Description == "" {
				t.Errorf("%s: attribute %s has no description", kind, a.Name)
			}
			secretLike := strings.Contains(a.Name, "secret") || strings.Contains(a.Name, "token") || strings.Contains(a.Name, "password")
			// A time about a secret (when the previous webhook secret stops verifying)
			// is not one.
			if strings.HasSuffix(a.Name, "_expires_at") && a.Type.Is(tftypes.String) {
				secretLike = false
			}
			isWebhookType := strings.HasSuffix(kind, "orbit_integration_webhook")
			switch {
			case secretLike && !isWebhookType:
				t.Errorf("%s: attribute %s looks like a secret; integration lookups must not expose any", kind, a.Name)
			case secretLike && !a.Sensitive:
				t.Errorf("%s: attribute %s is not Sensitive", kind, a.Name)
			}
		}
	}
	for kind, s := range schemas {
		if !strings.HasSuffix(kind, "orbit_integration_webhook") {
			continue
		}
		var names []string
		for _, a := range s.Block.Attributes {
			names = append(names, a.Name)
		}
		sort.Strings(names)
		if got := strings.Join(names, ","); got != "integration_id,provider_type,required_events,webhook_secret,webhook_url" {
			t.Errorf("%s attributes = %s", kind, got)
		}
	}
}
