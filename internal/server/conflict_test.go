package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

type errorWithID = apiwire.Error

func conflictOf(t *testing.T, c *client, method, path string, body any) errorWithID {
	t.Helper()
	status, raw := c.do(method, path, body)
	if status != http.StatusConflict {
		t.Fatalf("%s %s: %d %s, want 409", method, path, status, raw)
	}
	var e errorWithID
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestConflictNamesTheExistingIntegration: a 409 on name used to give no id, so a
// user could not import the object in the way. It names it when the caller can read
// it, and only then.
func TestConflictNamesTheExistingIntegration(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	admin.check = openAPIChecker(t)
	team := inst.NewSpace(t, "team", "root", false)
	other := inst.NewSpace(t, "other", "root", false)
	existing := admin.must(http.MethodPost, "/api/v1/integrations", cloudBody("taken", team, "token-that-is-long"), http.StatusCreated)

	e := conflictOf(t, admin, http.MethodPost, "/api/v1/integrations", cloudBody("taken", team, "token-that-is-long"))
	if e.Error.Field != "name" || e.Error.ExistingID != str(existing, "id") || !strings.Contains(e.Error.Message, str(existing, "id")) {
		t.Fatalf("409 = %+v, want field name and the existing id %s", e.Error, str(existing, "id"))
	}
	// A key that cannot read the existing one's space learns nothing about it.
	otherAdmin := admin.as(inst.NewKey(t, "other-admin", servertest.Admin(other)))
	e = conflictOf(t, otherAdmin, http.MethodPost, "/api/v1/integrations", cloudBody("taken", other, "token-that-is-long"))
	if e.Error.Field != "name" || e.Error.ExistingID != "" || strings.Contains(e.Error.Message, str(existing, "id")) {
		t.Fatalf("409 to a key that cannot read it = %+v, want no id", e.Error)
	}

	// The default: the 409 names the current one.
	def := admin.must(http.MethodPost, "/api/v1/integrations", with(cloudBody("first-default", "", "token-that-is-long"), "space_id", nil, "is_default", true), http.StatusCreated)
	e = conflictOf(t, admin, http.MethodPost, "/api/v1/integrations", with(cloudBody("second-default", "", "token-that-is-long"), "space_id", nil, "is_default", true))
	if e.Error.Field != "is_default" || e.Error.ExistingID != str(def, "id") || !strings.Contains(e.Error.Message, "first-default") {
		t.Fatalf("409 on is_default = %+v, want the current default named", e.Error)
	}
	e = conflictOf(t, admin, http.MethodPut, "/api/v1/integrations/"+str(existing, "id"), with(cloudBody("taken", "", ""), "space_id", nil, "is_default", true, "api_token", nil))
	if e.Error.Field != "is_default" || e.Error.ExistingID != str(def, "id") {
		t.Fatalf("409 on is_default (update) = %+v", e.Error)
	}
}

// TestSubSpaceAdminCreatingDefaultIsForbidden: it used to get `space "root" does
// not exist`.
func TestSubSpaceAdminCreatingDefaultIsForbidden(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	admin.check = openAPIChecker(t)
	team := inst.NewSpace(t, "team", "root", false)
	teamAdmin := admin.as(inst.NewKey(t, "team-admin", servertest.Admin(team)))
	msg := teamAdmin.wantError(http.MethodPost, "/api/v1/integrations", with(cloudBody("mine", "", "token-that-is-long"), "space_id", nil, "is_default", true),
		http.StatusForbidden, "permission_denied", "is_default")
	if !strings.Contains(msg, "admin role on root") {
		t.Fatalf("message %q does not say a default needs admin on root", msg)
	}
}

// TestURLPortOutOfRange: ports outside 1-65535 were accepted in api_host and
// user_facing_host.
func TestURLPortOutOfRange(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	for _, field := range []string{"api_host", "user_facing_host"} {
		for _, port := range []string{"0", "65536", "99999"} {
			admin.wantError(http.MethodPost, "/api/v1/integrations", with(dcBody("dc-"+port, "root", "token-that-is-long"), field, "https://bitbucket.example.com:"+port),
				http.StatusBadRequest, "invalid_argument", field)
		}
	}
	admin.must(http.MethodPost, "/api/v1/integrations", with(dcBody("dc-ok", "root", "token-that-is-long"), "api_host", "https://bitbucket.example.com:65535"), http.StatusCreated)
}
