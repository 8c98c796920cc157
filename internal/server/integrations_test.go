package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

func TestIntegrationCreateValidation(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	cloud := cloudBody("main-cloud", space, "tok-1")
	dc := dcBody("main-dc", space, "tok-2")

	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"missing provider", with(cloud, "provider", nil), "provider"},
		{"unknown provider", with(cloud, "provider", "github"), "provider"},
		{"missing name", with(cloud, "name", nil), "name"},
		{"bad name uppercase", with(cloud, "name", "Main"), "name"},
		{"bad name slash", with(cloud, "name", "a/b"), "name"},
		{"bad name too long", with(cloud, "name", strings.Repeat("a", 64)), "name"},
		{"default and space", with(cloud, "is_default", true), "space_id"},
		{"neither default nor space", with(cloud, "space_id", nil), "space_id"},
		{"unknown space", with(cloud, "space_id", "nope"), "space_id"},
		{"unknown vcs_checks", with(cloud, "vcs_checks", "some"), "vcs_checks"},
		{"bad label", with(cloud, "labels", []string{"ok", "-bad"}), "labels[1]"},
		{"description too long", with(cloud, "description", strings.Repeat("x", 4097)), "description"},
		{"unknown field", with(cloud, "colour", "blue"), "colour"},
		{"response-only field", with(cloud, "webhook_url", "https://x"), "webhook_url"},
		{"wrong type", with(cloud, "is_default", "yes"), "is_default"},
		{"cloud token missing", with(cloud, "api_token", nil), "api_token"},
		{"cloud token empty", with(cloud, "api_token", ""), "api_token"},
		{"cloud email missing", with(cloud, "email", nil), "email"},
		{"cloud bad email", with(cloud, "email", "not-an-address"), "email"},
		{"cloud bad email with name", with(cloud, "email", "Dev <dev@example.com>"), "email"},
		{"cloud both credential forms", with(cloud, "username", "dev", "app_password", "pw"), "app_password"},
		{"cloud legacy without username", with(cloud, "email", nil, "api_token", nil, "app_password", "pw"), "username"},
		{"cloud legacy without password", with(cloud, "email", nil, "api_token", nil, "username", "dev"), "app_password"},
		{"cloud with dc field", with(cloud, "api_host", "https://bitbucket.example.com"), "api_host"},
		{"cloud with access_token", with(cloud, "access_token", "x"), "access_token"},
		{"dc api_host missing", with(dc, "api_host", nil), "api_host"},
		{"dc api_host http", with(dc, "api_host", "http://bitbucket.example.com"), "api_host"},
		{"dc api_host http on a non-loopback address", with(dc, "api_host", "http://128.0.0.1:7990"), "api_host"},
		{"dc api_host http loopback with userinfo", with(dc, "api_host", "http://u:p@127.0.0.1:7990"), "api_host"},
		{"dc user_facing_host http", with(dc, "user_facing_host", "http://bitbucket.example.com"), "user_facing_host"},
		{"dc api_host not a URL", with(dc, "api_host", "bitbucket.example.com"), "api_host"},
		{"dc api_host with query", with(dc, "api_host", "https://bitbucket.example.com/?a=b"), "api_host"},
		{"dc api_host with fragment", with(dc, "api_host", "https://bitbucket.example.com/#x"), "api_host"},
		{"dc api_host with userinfo", with(dc, "api_host", "https://u:p@bitbucket.example.com"), "api_host"},
		{"dc bad private pool", with(dc, "api_host", "private://Pool!"), "api_host"},
		{"dc private without user_facing_host", with(dc, "api_host", "private://pool-1"), "user_facing_host"},
		{"dc private pool that does not exist", with(dc, "api_host", "private://no-such-pool", "user_facing_host", "https://bb.example.com"), "api_host"},
		{"dc bad user_facing_host", with(dc, "user_facing_host", "ftp://x"), "user_facing_host"},
		{"dc username missing", with(dc, "username", nil), "username"},
		{"dc token missing", with(dc, "access_token", nil), "access_token"},
		{"dc token empty", with(dc, "access_token", ""), "access_token"},
		{"dc with email", with(dc, "email", "dev@example.com"), "email"},
		{"dc with api_token", with(dc, "api_token", "x"), "api_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			c.wantError(http.MethodPost, "/api/v1/integrations", tt.body, http.StatusBadRequest, "invalid_argument", tt.field)
		})
	}
	// None of the rejected requests left anything behind.
	list := c.must(http.MethodGet, "/api/v1/integrations", nil, http.StatusOK)
	if items := list["items"].([]any); len(items) != 0 {
		t.Fatalf("rejected creates stored %d integrations", len(items))
	}
	// The valid bodies the cases derive from are accepted.
	c.must(http.MethodPost, "/api/v1/integrations", cloud, http.StatusCreated)
	c.must(http.MethodPost, "/api/v1/integrations", dc, http.StatusCreated)
	newPool(t, c, "pool-1", space)
	c.must(http.MethodPost, "/api/v1/integrations", with(dc, "name", "private-dc", "api_host", "private://pool-1", "user_facing_host", "https://bb.example.com"), http.StatusCreated)
	// Plain http only on loopback, so that a local sandbox can stand in for Data Center.
	for i, host := range []string{"http://127.0.0.1:7990", "http://localhost:7990/bitbucket", "http://[::1]:7990"} {
		c.must(http.MethodPost, "/api/v1/integrations", with(dc, "name", fmt.Sprintf("loopback-dc-%d", i), "api_host", host, "user_facing_host", host), http.StatusCreated)
	}
}

func TestIntegrationFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.WithPublicURL("https://orbit.example.com/"))
	c := newClient(t, inst, inst.AdminKey)

	cloud := c.must(http.MethodPost, "/api/v1/integrations", map[string]any{
		"provider": "bitbucket_cloud", "name": "main-cloud", "is_default": true,
		"email": "dev@example.com", "api_token": "cloud-token-secret", "labels": []string{"b", "a", "b"},
		"description": "the default", "vcs_checks": "aggregated",
	}, http.StatusCreated)
	wantFields := map[string]any{
		"provider": "bitbucket_cloud", "name": "main-cloud", "is_default": true, "space_id": "root",
		"email": "dev@example.com", "auth_method": "api_token", "description": "the default",
		"vcs_checks": "aggregated", "webhook_url": "https://orbit.example.com/webhooks/bitbucket-cloud/main-cloud",
	}
	for k, v := range wantFields {
		if cloud[k] != v {
			t.Errorf("cloud %s = %v, want %v", k, cloud[k], v)
		}
	}
	if got := cloud["labels"].([]any); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("labels = %v, want [a b]", got)
	}
	for _, absent := range []string{"api_token", "api_host", "user_facing_host", "use_git_checkout", "warnings"} {
		if _, ok := cloud[absent]; ok {
			t.Errorf("cloud answer carries %q", absent)
		}
	}

	dc := c.must(http.MethodPost, "/api/v1/integrations", map[string]any{
		"provider": "bitbucket_datacenter", "name": "main-cloud", "is_default": true,
		"api_host": "https://bitbucket.example.com", "username": "orbit-bot", "access_token": "dc-token-secret",
		"use_git_checkout": true,
	}, http.StatusCreated)
	if dc["user_facing_host"] != "https://bitbucket.example.com" || dc["use_git_checkout"] != true || dc["vcs_checks"] != "individual" {
		t.Errorf("dc defaults wrong: %v", dc)
	}
	if dc["webhook_url"] != "https://orbit.example.com/webhooks/bitbucket-datacenter/main-cloud" {
		t.Errorf("dc webhook_url = %v", dc["webhook_url"])
	}
	if _, ok := dc["email"]; ok {
		t.Error("dc answer carries email")
	}
	if str(cloud, "webhook_secret") == str(dc, "webhook_secret") || len(str(dc, "webhook_secret")) != 64 {
		t.Errorf("webhook secrets not distinct 64-char hex: %q %q", cloud["webhook_secret"], dc["webhook_secret"])
	}

	// Legacy app password: accepted with a warning naming the cutoff date.
	legacy := c.must(http.MethodPost, "/api/v1/integrations", map[string]any{
		"provider": "bitbucket_cloud", "name": "legacy", "space_id": "root", "username": "dev", "app_password": "app-pw-secret",
	}, http.StatusCreated)
	warnings, _ := legacy["warnings"].([]any)
	if legacy["auth_method"] != "app_password" || len(warnings) != 1 || !strings.Contains(warnings[0].(string), "2026-07-28") {
		t.Errorf("legacy answer: %v", legacy)
	}

	// GET reads back the same object.
	got := c.must(http.MethodGet, "/api/v1/integrations/"+str(cloud, "id"), nil, http.StatusOK)
	for k, v := range wantFields {
		if got[k] != v {
			t.Errorf("read back %s = %v, want %v", k, got[k], v)
		}
	}
	if got["webhook_secret"] != cloud["webhook_secret"] {
		t.Error("webhook secret changed between create and read")
	}

	// Webhook endpoint.
	hook := c.must(http.MethodGet, "/api/v1/integrations/"+str(dc, "id")+"/webhook", nil, http.StatusOK)
	events, _ := hook["required_events"].([]any)
	if hook["webhook_secret"] != dc["webhook_secret"] || hook["webhook_url"] != dc["webhook_url"] || len(events) != len(datacenter.RequiredEvents()) || events[0] != "repo:refs_changed" {
		t.Errorf("webhook answer: %v", hook)
	}

	for _, body := range c.responses() {
		for _, secret := range []string{"cloud-token-secret", "dc-token-secret", "app-pw-secret"} {
			if strings.Contains(body, secret) {
				t.Fatalf("a response carries the credential %q: %s", secret, body)
			}
		}
	}
}

func TestIntegrationConflicts(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)

	c.must(http.MethodPost, "/api/v1/integrations", cloudBody("shared", space, "t1"), http.StatusCreated)
	c.wantError(http.MethodPost, "/api/v1/integrations", cloudBody("shared", "root", "t2"), http.StatusConflict, "conflict", "name")
	// The same name is free for the other provider.
	c.must(http.MethodPost, "/api/v1/integrations", dcBody("shared", space, "t3"), http.StatusCreated)

	c.must(http.MethodPost, "/api/v1/integrations", with(cloudBody("default-1", "", "t4"), "space_id", nil, "is_default", true), http.StatusCreated)
	c.wantError(http.MethodPost, "/api/v1/integrations", with(cloudBody("default-2", "", "t5"), "space_id", nil, "is_default", true), http.StatusConflict, "conflict", "is_default")
	// Turning an existing one into a second default is also a conflict, and changes nothing.
	second := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("other", space, "t6"), http.StatusCreated)
	c.wantError(http.MethodPut, "/api/v1/integrations/"+str(second, "id"), with(cloudBody("other", "", "t7"), "space_id", nil, "is_default", true), http.StatusConflict, "conflict", "is_default")
	after := c.must(http.MethodGet, "/api/v1/integrations/"+str(second, "id"), nil, http.StatusOK)
	if after["is_default"] != false || after["space_id"] != space || after["updated_at"] != second["updated_at"] {
		t.Errorf("failed update changed the integration: %v", after)
	}
	list := c.must(http.MethodGet, "/api/v1/integrations?provider=bitbucket_cloud", nil, http.StatusOK)
	if n := len(list["items"].([]any)); n != 3 {
		t.Errorf("%d cloud integrations, want 3", n)
	}

	// A space holding an integration cannot be deleted.
	c.wantError(http.MethodDelete, "/api/v1/spaces/"+space, nil, http.StatusConflict, "conflict", "")
	c.must(http.MethodGet, "/api/v1/spaces/"+space, nil, http.StatusOK)
}

func TestIntegrationUpdate(t *testing.T) {
	t.Parallel()
	checker := &fakeChecker{}
	inst := servertest.Start(t, servertest.WithCredentialChecker(checker))
	c := newClient(t, inst, inst.AdminKey)
	spaceA := inst.NewSpace(t, "a", "root", false)
	spaceB := inst.NewSpace(t, "b", "root", false)
	created := c.must(http.MethodPost, "/api/v1/integrations", dcBody("dc", spaceA, "first-token"), http.StatusCreated)
	path := "/api/v1/integrations/" + str(created, "id")

	// Immutable fields.
	c.wantError(http.MethodPut, path, with(dcBody("renamed", spaceA, "x"), "access_token", nil), http.StatusBadRequest, "invalid_argument", "name")
	c.wantError(http.MethodPut, path, with(dcBody("dc", spaceA, "x"), "provider", "bitbucket_cloud", "access_token", nil), http.StatusBadRequest, "invalid_argument", "provider")
	c.wantError(http.MethodPut, path, dcBody("dc", spaceA, ""), http.StatusBadRequest, "invalid_argument", "access_token")

	// Absent credential keeps the stored one: the checker sees the stored plaintext.
	newPool(t, c, "pool-a", spaceB)
	updated := c.must(http.MethodPut, path, map[string]any{
		"space_id": spaceB, "api_host": "private://pool-a", "user_facing_host": "https://bb.example.com",
		"username": "bot2", "labels": []string{"x"}, "vcs_checks": "all",
	}, http.StatusOK)
	if updated["space_id"] != spaceB || updated["api_host"] != "private://pool-a" || updated["vcs_checks"] != "all" || updated["name"] != "dc" {
		t.Errorf("update answer: %v", updated)
	}
	if got := checker.lastCall(t).credential; got != "first-token" {
		t.Errorf("checker got credential %q, want the stored one", got)
	}
	if updated["webhook_url"] != created["webhook_url"] || updated["webhook_secret"] != created["webhook_secret"] {
		t.Error("update changed the webhook URL or secret")
	}
	// Full replacement: omitted description/labels go back to defaults.
	again := c.must(http.MethodPut, path, map[string]any{
		"space_id": spaceB, "api_host": "https://bb.example.com", "username": "bot2", "access_token": "second-token",
	}, http.StatusOK)
	if len(again["labels"].([]any)) != 0 || again["vcs_checks"] != "individual" || again["user_facing_host"] != "https://bb.example.com" {
		t.Errorf("full replacement answer: %v", again)
	}
	c.must(http.MethodPost, path+"/validate", nil, http.StatusOK)
	if got := checker.lastCall(t).credential; got != "second-token" {
		t.Errorf("validate used credential %q, want the replaced one", got)
	}

	// Cloud: switching from app password to api token needs the token.
	legacy := c.must(http.MethodPost, "/api/v1/integrations", map[string]any{
		"provider": "bitbucket_cloud", "name": "legacy", "space_id": spaceA, "username": "dev", "app_password": "pw",
	}, http.StatusCreated)
	lpath := "/api/v1/integrations/" + str(legacy, "id")
	c.wantError(http.MethodPut, lpath, map[string]any{"space_id": spaceA, "email": "dev@example.com"}, http.StatusBadRequest, "invalid_argument", "api_token")
	c.must(http.MethodPut, lpath, map[string]any{"space_id": spaceA, "username": "dev", "description": "kept pw"}, http.StatusOK)
	switched := c.must(http.MethodPut, lpath, map[string]any{"space_id": spaceA, "email": "dev@example.com", "api_token": "new-api-token"}, http.StatusOK)
	if switched["auth_method"] != "api_token" || switched["warnings"] != nil {
		t.Errorf("switched answer: %v", switched)
	}
	c.must(http.MethodPost, lpath+"/validate", nil, http.StatusOK)
	if call := checker.lastCall(t); call.credential != "new-api-token" || call.integration.AuthMethod != "api_token" {
		t.Errorf("validate after switch used %q/%q", call.credential, call.integration.AuthMethod)
	}

	c.wantError(http.MethodPut, "/api/v1/integrations/does-not-exist", dcBody("dc", spaceA, "x"), http.StatusNotFound, "not_found", "")
}

func TestRotateAndRecreate(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	reader := c.as(inst.NewKey(t, "reader", servertest.Read(space)))

	created := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", space, "tok"), http.StatusCreated)
	path := "/api/v1/integrations/" + str(created, "id")

	reader.wantError(http.MethodPost, path+"/rotate-secret", nil, http.StatusForbidden, "permission_denied", "")
	unchanged := c.must(http.MethodGet, path, nil, http.StatusOK)
	if unchanged["webhook_secret"] != created["webhook_secret"] {
		t.Fatal("a forbidden rotate changed the secret")
	}

	rotated := c.must(http.MethodPost, path+"/rotate-secret", nil, http.StatusOK)
	if rotated["webhook_secret"] == created["webhook_secret"] || len(str(rotated, "webhook_secret")) != 64 {
		t.Errorf("rotate did not produce a new secret: %v", rotated["webhook_secret"])
	}
	if rotated["webhook_url"] != created["webhook_url"] || rotated["id"] != created["id"] {
		t.Errorf("rotate changed URL or id")
	}
	hook := c.must(http.MethodGet, path+"/webhook", nil, http.StatusOK)
	if hook["webhook_secret"] != rotated["webhook_secret"] {
		t.Error("webhook endpoint does not show the rotated secret")
	}

	// The fingerprint follows the secret and is visible to a reader, who never sees
	// the secret itself.
	if want := bitbucket.Secret(str(created, "webhook_secret")).Fingerprint(); created["webhook_secret_fingerprint"] != want || len(want) != 16 {
		t.Errorf("fingerprint on create = %v, want %s", created["webhook_secret_fingerprint"], want)
	}
	asReader := reader.must(http.MethodGet, path, nil, http.StatusOK)
	if _, leaked := asReader["webhook_secret"]; leaked {
		t.Fatal("a reader sees the webhook secret")
	}
	if want := bitbucket.Secret(str(rotated, "webhook_secret")).Fingerprint(); asReader["webhook_secret_fingerprint"] != want || rotated["webhook_secret_fingerprint"] != want {
		t.Errorf("fingerprint after rotate: reader %v, admin %v, want %s", asReader["webhook_secret_fingerprint"], rotated["webhook_secret_fingerprint"], want)
	}
	if asReader["webhook_secret_fingerprint"] == created["webhook_secret_fingerprint"] {
		t.Error("the fingerprint did not change with the secret")
	}

	c.must(http.MethodDelete, path, nil, http.StatusNoContent)
	c.wantError(http.MethodGet, path, nil, http.StatusNotFound, "not_found", "")
	recreated := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", space, "tok"), http.StatusCreated)
	if recreated["webhook_url"] != created["webhook_url"] {
		t.Errorf("recreated URL %v, want %v", recreated["webhook_url"], created["webhook_url"])
	}
	if recreated["webhook_secret"] == created["webhook_secret"] || recreated["webhook_secret"] == rotated["webhook_secret"] {
		t.Error("recreated integration reuses an old secret")
	}
}

func TestCredentialChecker(t *testing.T) {
	t.Parallel()
	checker := &fakeChecker{rejections: map[string]server.CredentialCheck{
		"revoked-token":  {Valid: false, Reason: server.CheckBadCredentials, Message: "Bitbucket answered 401: the token is not valid"},
		"narrow-token":   {Valid: false, Reason: server.CheckMissingScope, Message: "Bitbucket answered 403: the token lacks repository admin"},
		"offline-token":  {Valid: false, Reason: server.CheckUnreachable, Message: "cannot reach the Bitbucket host"},
		"legacy-refused": {Valid: false, Reason: server.CheckBadCredentials, Message: "app passwords are no longer accepted"},
	}}
	inst := servertest.Start(t, servertest.WithCredentialChecker(checker))
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)

	tests := []struct {
		name  string
		body  map[string]any
		field string
		msg   string
	}{
		{"cloud bad token", cloudBody("c1", space, "revoked-token"), "api_token", "401"},
		{"cloud missing scope", cloudBody("c2", space, "narrow-token"), "api_token", "lacks repository admin"},
		{"cloud legacy refused", map[string]any{"provider": "bitbucket_cloud", "name": "c3", "space_id": space, "username": "u", "app_password": "legacy-refused"}, "app_password", "no longer accepted"},
		{"dc bad token", dcBody("d1", space, "revoked-token"), "access_token", "401"},
		{"dc unreachable", dcBody("d2", space, "offline-token"), "api_host", "cannot reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			msg := c.wantError(http.MethodPost, "/api/v1/integrations", tt.body, http.StatusBadRequest, "invalid_argument", tt.field)
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not carry the checker's message", msg)
			}
		})
	}
	list := c.must(http.MethodGet, "/api/v1/integrations", nil, http.StatusOK)
	if n := len(list["items"].([]any)); n != 0 {
		t.Fatalf("rejected credentials stored %d integrations", n)
	}

	// check_credentials=false skips the checker.
	calls := checker.callCount()
	skipped := c.must(http.MethodPost, "/api/v1/integrations?check_credentials=false", cloudBody("c1", space, "revoked-token"), http.StatusCreated)
	if checker.callCount() != calls {
		t.Error("check_credentials=false still called the checker")
	}
	c.wantError(http.MethodPost, "/api/v1/integrations?check_credentials=maybe", cloudBody("c9", space, "x"), http.StatusBadRequest, "invalid_argument", "check_credentials")

	// validate reports the check of the stored credential.
	res := c.must(http.MethodPost, "/api/v1/integrations/"+str(skipped, "id")+"/validate", nil, http.StatusOK)
	if res["valid"] != false || res["reason"] != "bad_credentials" || !strings.Contains(str(res, "message"), "401") {
		t.Errorf("validate answer: %v", res)
	}
	// An update that keeps the stored (bad) credential is checked too and rejected.
	path := "/api/v1/integrations/" + str(skipped, "id")
	c.wantError(http.MethodPut, path, with(cloudBody("c1", space, ""), "api_token", nil, "description", "new"), http.StatusBadRequest, "invalid_argument", "api_token")
	if got := c.must(http.MethodGet, path, nil, http.StatusOK); got["description"] != "" {
		t.Error("a rejected update changed the description")
	}
	// Replacing the credential with a good one passes.
	c.must(http.MethodPut, path, with(cloudBody("c1", space, "good-token"), "description", "new"), http.StatusOK)
	res = c.must(http.MethodPost, path+"/validate", nil, http.StatusOK)
	if res["valid"] != true || res["reason"] != "ok" {
		t.Errorf("validate after fix: %v", res)
	}
}

func TestValidateWithoutChecker(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	created := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("c", "root", "t"), http.StatusCreated)
	res := c.must(http.MethodPost, "/api/v1/integrations/"+str(created, "id")+"/validate", nil, http.StatusOK)
	if res["valid"] != true || res["reason"] != "skipped" || res["message"] != "credential check not configured" {
		t.Errorf("validate without checker: %v", res)
	}
}
