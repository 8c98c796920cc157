package servertest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

func TestStartServesIntegrationsWithMintedKeys(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	space := inst.NewSpace(t, "platform", "root", false)
	key := inst.NewKey(t, "platform-admin", servertest.Admin(space))

	body, _ := json.Marshal(map[string]any{
		"provider": "bitbucket_cloud", "name": "main-cloud", "space_id": space,
		"email": "dev@example.com", "api_token": "token-value-1",
	})
	req, _ := http.NewRequest(http.MethodPost, inst.URL+"/api/v1/integrations", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got apiwire.Integration
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if want := inst.PublicURL + "/webhooks/bitbucket-cloud/main-cloud"; got.WebhookURL != want {
		t.Errorf("webhook_url = %q, want %q", got.WebhookURL, want)
	}
	if len(got.WebhookSecret) != 64 {
		t.Errorf("webhook_secret has %d chars, want 64", len(got.WebhookSecret))
	}
	if !strings.HasPrefix(inst.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q is not loopback", inst.URL)
	}
}
