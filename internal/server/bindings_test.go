package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsname"
)

func bindingBody(integrationID, namespace, repository string) map[string]any {
	return map[string]any{"integration_id": integrationID, "namespace": namespace, "repository": repository}
}

func newStack(t *testing.T, c *client, name, spaceID string) string {
	t.Helper()
	return str(c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": name, "space_id": spaceID}, http.StatusCreated), "id")
}

func bindingPath(stackID string) string { return "/api/v1/stacks/" + stackID + "/vcs-binding" }

func TestBindingLifecycle(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	c.check = openAPIChecker(t)
	dc := str(c.must(http.MethodPost, "/api/v1/integrations", with(dcBody("dc", "root", "t"), "user_facing_host", "https://bitbucket.example.com/"), http.StatusCreated), "id")
	cloud := str(c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", "root", "t"), http.StatusCreated), "id")
	stack := newStack(t, c, "network", "root")

	c.wantError(http.MethodGet, bindingPath(stack), nil, http.StatusNotFound, "not_found", "")
	got := c.must(http.MethodPost, bindingPath(stack), bindingBody(dc, "PLAT", "infra"), http.StatusCreated)
	want := map[string]any{
		"stack_id": stack, "integration_id": dc, "provider_type": "bitbucket_datacenter", "namespace": "PLAT",
		"repository": "infra", "branch": "main", "project_root": "", "pull_request_runs": true,
		"status": "attached", "detached_reason": "", "repository_url": "https://bitbucket.example.com/projects/PLAT/repos/infra",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("created binding %s = %v, want %v", k, got[k], v)
		}
	}
	// Moved in place (If-Match: the version read) to another branch, then to a Cloud
	// integration.
	moved := c.ifMatch(str(got, "version")).must(http.MethodPut, bindingPath(stack), with(bindingBody(dc, "PLAT", "infra"), "branch", "release/1.x", "project_root", "envs/prod", "pull_request_runs", false), http.StatusOK)
	if moved["branch"] != "release/1.x" || moved["project_root"] != "envs/prod" || moved["pull_request_runs"] != false {
		t.Fatalf("moved binding = %v", moved)
	}
	moved = c.ifMatch("*").must(http.MethodPut, bindingPath(stack), bindingBody(cloud, "acme", "infra"), http.StatusOK)
	if moved["provider_type"] != "bitbucket_cloud" || moved["repository_url"] != "https://bitbucket.org/acme/infra" || moved["branch"] != "main" || moved["pull_request_runs"] != true {
		t.Fatalf("binding moved to Cloud = %v", moved)
	}
	if items := c.must(http.MethodGet, "/api/v1/integrations/"+dc+"/bindings", nil, http.StatusOK)["items"].([]any); len(items) != 0 {
		t.Fatalf("old integration still lists %v", items)
	}
	if items := c.must(http.MethodGet, "/api/v1/integrations/"+cloud+"/bindings", nil, http.StatusOK)["items"].([]any); len(items) != 1 {
		t.Fatalf("new integration lists %v", items)
	}

	c.must(http.MethodDelete, bindingPath(stack), nil, http.StatusNoContent)
	c.wantError(http.MethodGet, bindingPath(stack), nil, http.StatusNotFound, "not_found", "")
	c.wantError(http.MethodDelete, bindingPath(stack), nil, http.StatusNotFound, "not_found", "")
	c.must(http.MethodGet, "/api/v1/stacks/"+stack, nil, http.StatusOK)
	c.wantError(http.MethodPost, bindingPath("missing"), bindingBody(dc, "PLAT", "infra"), http.StatusNotFound, "not_found", "")
	c.ifMatch("*").wantError(http.MethodPut, bindingPath(stack), bindingBody(dc, "PLAT", "infra"), http.StatusNotFound, "not_found", "")
}

func TestBindingValidation(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	c.check = openAPIChecker(t)
	dc := str(c.must(http.MethodPost, "/api/v1/integrations", dcBody("dc", "root", "t"), http.StatusCreated), "id")
	cloud := str(c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", "root", "t"), http.StatusCreated), "id")
	stack := newStack(t, c, "network", "root")
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{bindingBody("", "acme", "infra"), "integration_id"},
		{bindingBody("missing", "acme", "infra"), "integration_id"},
		{bindingBody(cloud, "PLAT", "infra"), "namespace"}, // a project key is no workspace
		{bindingBody(dc, "acme", "infra"), "namespace"},    // nor the reverse
		{bindingBody(cloud, "acme", "In fra"), "repository"},
		{with(bindingBody(cloud, "acme", "infra"), "branch", "a..b"), "branch"},
		{with(bindingBody(cloud, "acme", "infra"), "project_root", "/etc"), "project_root"},
		{with(bindingBody(cloud, "acme", "infra"), "project_root", "envs/../../x"), "project_root"},
		{with(bindingBody(cloud, "acme", "infra"), "project_root", ".."), "project_root"},
		{with(bindingBody(cloud, "acme", "infra"), "provider_type", "bitbucket_cloud"), "provider_type"},
		{with(bindingBody(cloud, "acme", "infra"), "pull_request_runs", "yes"), "pull_request_runs"},
	} {
		c.wantError(http.MethodPost, bindingPath(stack), tc.body, http.StatusBadRequest, "invalid_argument", tc.field)
	}
	c.wantError(http.MethodGet, bindingPath(stack), nil, http.StatusNotFound, "not_found", "")
}

// TestBindingVisibility walks the visibility matrix: a default integration, one in the
// stack's own space, one seen from an inheriting child and one from a child that does
// not inherit.
func TestBindingVisibility(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	c.check = openAPIChecker(t)
	platform := inst.NewSpace(t, "platform", "root", false)
	inheriting := inst.NewSpace(t, "inheriting", platform, true)
	grandchild := inst.NewSpace(t, "grandchild", inheriting, true)
	isolated := inst.NewSpace(t, "isolated", platform, false)
	other := inst.NewSpace(t, "other", "root", true)
	def := str(c.must(http.MethodPost, "/api/v1/integrations", with(cloudBody("default", "", "t"), "space_id", nil, "is_default", true), http.StatusCreated), "id")
	space := str(c.must(http.MethodPost, "/api/v1/integrations", cloudBody("platform", platform, "t"), http.StatusCreated), "id")
	for _, tc := range []struct {
		integration, space string
		visible            bool
	}{
		{def, platform, true}, {def, isolated, true}, {def, "root", true},
		{space, platform, true},
		{space, inheriting, true},
		{space, grandchild, true},
		{space, isolated, false},
		{space, other, false}, // inherits from root, not from platform
		{space, "root", false},
	} {
		stack := newStack(t, c, "s", tc.space)
		if tc.visible {
			c.must(http.MethodPost, bindingPath(stack), bindingBody(tc.integration, "acme", "infra"), http.StatusCreated)
			continue
		}
		msg := c.wantError(http.MethodPost, bindingPath(stack), bindingBody(tc.integration, "acme", "infra"), http.StatusBadRequest, "invalid_argument", "integration_id")
		if !strings.Contains(msg, "not visible") {
			t.Errorf("integration in platform from %s: message %q", tc.space, msg)
		}
	}

	// A stack bound to a space integration cannot move where the integration is not
	// visible; it can move where it is.
	stack := newStack(t, c, "mover", inheriting)
	c.must(http.MethodPost, bindingPath(stack), bindingBody(space, "acme", "infra"), http.StatusCreated)
	c.wantError(http.MethodPut, "/api/v1/stacks/"+stack, map[string]any{"name": "mover", "space_id": isolated}, http.StatusBadRequest, "invalid_argument", "space_id")
	c.must(http.MethodPut, "/api/v1/stacks/"+stack, map[string]any{"name": "mover", "space_id": grandchild}, http.StatusOK)

	// Likewise an integration cannot move away from the stacks bound to it, nor stop
	// being the default while a stack that sees it only as such uses it.
	msg := c.wantError(http.MethodPut, "/api/v1/integrations/"+space, with(cloudBody("platform", other, ""), "api_token", nil), http.StatusBadRequest, "invalid_argument", "space_id")
	if !strings.Contains(msg, "would no longer see it") {
		t.Fatalf("moving a bound integration: %q", msg)
	}
	c.wantError(http.MethodPut, "/api/v1/integrations/"+def, with(cloudBody("default", platform, ""), "api_token", nil), http.StatusBadRequest, "invalid_argument", "space_id")
	// An update that leaves it where it is goes through.
	c.must(http.MethodPut, "/api/v1/integrations/"+space, with(cloudBody("platform", platform, ""), "api_token", nil, "description", "kept"), http.StatusOK)
}

// TestBindingDetachTriggerReattach: deleting an integration in use succeeds and
// detaches its bindings; a detached stack refuses manual triggers with a 409 that
// says to choose a new integration; recreating the name re-attaches nothing; pointing
// the binding at an integration re-attaches it.
func TestBindingDetachTriggerReattach(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	c.check = openAPIChecker(t)
	created := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("main-cloud", "root", "t"), http.StatusCreated)
	in := str(created, "id")
	a, b := newStack(t, c, "a", "root"), newStack(t, c, "b", "root")
	unbound := newStack(t, c, "unbound", "root")
	c.must(http.MethodPost, bindingPath(a), bindingBody(in, "acme", "infra"), http.StatusCreated)
	c.must(http.MethodPost, bindingPath(b), bindingBody(in, "acme", "app"), http.StatusCreated)
	if items := c.must(http.MethodGet, "/api/v1/integrations/"+in+"/bindings", nil, http.StatusOK)["items"].([]any); len(items) != 2 {
		t.Fatalf("bindings before delete: %v", items)
	}

	msg := c.wantError(http.MethodPost, "/api/v1/stacks/"+unbound+"/trigger", nil, http.StatusConflict, "conflict", "")
	if !strings.Contains(msg, "no VCS binding") {
		t.Fatalf("trigger of an unbound stack: %q", msg)
	}
	// An attached stack gets past the binding checks.
	if !passesBindingChecks(c, a) {
		t.Fatal("trigger of an attached stack refused as if detached")
	}

	c.must(http.MethodDelete, "/api/v1/integrations/"+in, nil, http.StatusNoContent)
	for _, stack := range []string{a, b} {
		got := c.must(http.MethodGet, bindingPath(stack), nil, http.StatusOK)
		if got["status"] != "detached" || got["integration_id"] != in || !strings.Contains(str(got, "detached_reason"), "main-cloud") {
			t.Fatalf("binding after the integration was deleted = %v", got)
		}
		c.must(http.MethodGet, "/api/v1/stacks/"+stack, nil, http.StatusOK)
		msg := c.wantError(http.MethodPost, "/api/v1/stacks/"+stack+"/trigger", nil, http.StatusConflict, "conflict", "")
		if !strings.Contains(msg, "detached") || !strings.Contains(msg, "new integration") {
			t.Fatalf("trigger of a detached stack: %q", msg)
		}
	}
	if got := c.must(http.MethodGet, bindingPath(a), nil, http.StatusOK); got["repository_url"] != "https://bitbucket.org/acme/infra" {
		t.Fatalf("detached binding keeps its repository URL: %v", got)
	}
	c.wantError(http.MethodGet, "/api/v1/integrations/"+in+"/bindings", nil, http.StatusNotFound, "not_found", "")

	// The same name comes back with the same webhook URL and re-attaches nothing.
	recreated := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("main-cloud", "root", "t"), http.StatusCreated)
	if recreated["webhook_url"] != created["webhook_url"] {
		t.Fatalf("webhook URL changed: %v -> %v", created["webhook_url"], recreated["webhook_url"])
	}
	if got := c.must(http.MethodGet, bindingPath(a), nil, http.StatusOK); got["status"] != "detached" {
		t.Fatalf("recreating the integration re-attached %v", got)
	}
	// Pointing at the deleted id is refused, naming integration_id.
	c.ifMatch("*").wantError(http.MethodPut, bindingPath(a), bindingBody(in, "acme", "infra"), http.StatusBadRequest, "invalid_argument", "integration_id")

	re := c.ifMatch("*").must(http.MethodPut, bindingPath(a), bindingBody(str(recreated, "id"), "acme", "infra"), http.StatusOK)
	if re["status"] != "attached" || re["detached_reason"] != "" || re["integration_id"] != str(recreated, "id") {
		t.Fatalf("re-attached binding = %v", re)
	}
	if !passesBindingChecks(c, a) {
		t.Fatal("trigger of a re-attached stack refused")
	}
	if got := c.must(http.MethodGet, bindingPath(b), nil, http.StatusOK); got["status"] != "detached" {
		t.Fatalf("the other binding re-attached too: %v", got)
	}
}

// TestBindingRoles: write on the stack's space and read on the integration's space.
func TestBindingRoles(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	admin.check = openAPIChecker(t)
	apps := inst.NewSpace(t, "apps", "root", false)
	infra := inst.NewSpace(t, "infra", apps, true)
	in := str(admin.must(http.MethodPost, "/api/v1/integrations", cloudBody("apps", apps, "t"), http.StatusCreated), "id")
	stack := newStack(t, admin, "web", infra)
	body := bindingBody(in, "acme", "web")

	readInfra := admin.as(inst.NewKey(t, "read-infra", servertest.Read(infra)))
	writeInfra := admin.as(inst.NewKey(t, "write-infra", servertest.Write(infra)))
	writeApps := admin.as(inst.NewKey(t, "write-apps", servertest.Write(apps)))
	outsider := admin.as(inst.NewKey(t, "outsider", servertest.Admin(inst.NewSpace(t, "elsewhere", "root", false))))

	outsider.wantError(http.MethodPost, bindingPath(stack), body, http.StatusNotFound, "not_found", "")
	readInfra.wantError(http.MethodPost, bindingPath(stack), body, http.StatusForbidden, "permission_denied", "")
	// write on infra, but no read on apps where the integration lives.
	writeInfra.wantError(http.MethodPost, bindingPath(stack), body, http.StatusBadRequest, "invalid_argument", "integration_id")
	// write on apps is write on infra (it inherits) and read on apps.
	writeApps.must(http.MethodPost, bindingPath(stack), body, http.StatusCreated)

	readInfra.must(http.MethodGet, bindingPath(stack), nil, http.StatusOK)
	outsider.wantError(http.MethodGet, bindingPath(stack), nil, http.StatusNotFound, "not_found", "")
	readInfra.wantError(http.MethodDelete, bindingPath(stack), nil, http.StatusForbidden, "permission_denied", "")
	readInfra.ifMatch("*").wantError(http.MethodPut, bindingPath(stack), body, http.StatusForbidden, "permission_denied", "")
	readInfra.wantError(http.MethodPost, "/api/v1/stacks/"+stack+"/trigger", nil, http.StatusForbidden, "permission_denied", "")
	// The integration's bindings: its readers see them; a stack they cannot read is left out.
	if items := writeApps.must(http.MethodGet, "/api/v1/integrations/"+in+"/bindings", nil, http.StatusOK)["items"].([]any); len(items) != 1 {
		t.Fatalf("bindings seen by write-apps: %v", items)
	}
	writeInfra.wantError(http.MethodGet, "/api/v1/integrations/"+in+"/bindings", nil, http.StatusNotFound, "not_found", "")
	writeApps.must(http.MethodDelete, bindingPath(stack), nil, http.StatusNoContent)
}

// TestBindingOpenAPIRulesMatch holds the rules openapi.json states to package vcsname.
func TestBindingOpenAPIRulesMatch(t *testing.T) {
	t.Parallel()
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	props := doc.Components.Schemas["StackVCSBindingInput"].Value.Properties
	if got := props["repository"].Value.Pattern; got != vcsname.RepositorySlugPattern.String() {
		t.Errorf("openapi repository pattern %q, vcsname %q", got, vcsname.RepositorySlugPattern)
	}
	for _, want := range []string{vcsname.CloudWorkspacePattern.String(), vcsname.DataCenterProjectKeyPattern.String()} {
		if !strings.Contains(props["namespace"].Value.Description, want) {
			t.Errorf("openapi namespace description does not state %q", want)
		}
	}
	if props["branch"].Value.Default != "main" || props["pull_request_runs"].Value.Default != true {
		t.Errorf("openapi defaults: branch %v, pull_request_runs %v", props["branch"].Value.Default, props["pull_request_runs"].Value.Default)
	}
}

// passesBindingChecks triggers a stack and reports whether the binding checks let it
// through: no push has been received in these tests, so the branch head is unknown
// and the answer is the 409 that says so, never the unbound or detached one.
func passesBindingChecks(c *client, stackID string) bool {
	status, body := c.do(http.MethodPost, "/api/v1/stacks/"+stackID+"/trigger", nil)
	return status == http.StatusAccepted || status == http.StatusConflict && strings.Contains(string(body), "no push")
}
