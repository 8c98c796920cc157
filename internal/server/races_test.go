package server_test

import (
	"net/http"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// A rotate that lands while a PUT on the same integration is between its read and
// its write must survive the PUT: the caller of rotate got 200 and the new secret.
func TestRotateDuringUpdateKeepsNewSecret(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	created := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("race", space, "tok-1"), http.StatusCreated)
	path := "/api/v1/integrations/" + str(created, "id")

	var rotated map[string]any
	server.SetBeforeIntegrationUpdate(inst.Server, func() {
		server.SetBeforeIntegrationUpdate(inst.Server, nil)
		rotated = c.must(http.MethodPost, path+"/rotate-secret", nil, http.StatusOK)
	})
	c.must(http.MethodPut, path, with(cloudBody("race", space, "tok-1"), "description", "changed", "api_token", nil), http.StatusOK)
	if rotated == nil {
		t.Fatal("the hook did not run")
	}
	hook := c.must(http.MethodGet, path+"/webhook", nil, http.StatusOK)
	if hook["webhook_secret"] != rotated["webhook_secret"] {
		t.Fatal("a PUT racing rotate-secret restored the old webhook secret; the rotated one was lost")
	}
	got := c.must(http.MethodGet, path, nil, http.StatusOK)
	if got["description"] != "changed" {
		t.Fatalf("description = %v, want the PUT's value", got["description"])
	}
}
