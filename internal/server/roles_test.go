package server_test

import (
	"net/http"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// TestRoleMatrix walks read/write/admin keys on root and on a space over a default
// integration, a space integration and integrations in child spaces that do and do
// not inherit entities.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	admin.check = openAPIChecker(t)
	platform := inst.NewSpace(t, "platform", "root", false)
	inheriting := inst.NewSpace(t, "inheriting", platform, true)
	isolated := inst.NewSpace(t, "isolated", platform, false)

	integrations := map[string]map[string]any{
		"default":    admin.must(http.MethodPost, "/api/v1/integrations", with(cloudBody("default", "", "t"), "space_id", nil, "is_default", true), http.StatusCreated),
		"space":      admin.must(http.MethodPost, "/api/v1/integrations", dcBody("space", platform, "t"), http.StatusCreated),
		"inheriting": admin.must(http.MethodPost, "/api/v1/integrations", cloudBody("inheriting", inheriting, "t"), http.StatusCreated),
		"isolated":   admin.must(http.MethodPost, "/api/v1/integrations", dcBody("isolated", isolated, "t"), http.StatusCreated),
	}
	keys := map[string]string{
		"read root":      inst.NewKey(t, "read-root", servertest.Read("root")),
		"write root":     inst.NewKey(t, "write-root", servertest.Write("root")),
		"admin root":     inst.AdminKey,
		"read platform":  inst.NewKey(t, "read-platform", servertest.Read(platform)),
		"write platform": inst.NewKey(t, "write-platform", servertest.Write(platform)),
		"admin platform": inst.NewKey(t, "admin-platform", servertest.Admin(platform)),
	}
	const (
		none = iota
		read
		admin_
	)
	tests := []struct {
		key         string
		integration string
		access      int
	}{
		{"read root", "default", read},
		{"write root", "default", read},
		{"admin root", "default", admin_},
		{"read platform", "default", none},
		{"admin platform", "default", none},

		{"read root", "space", none}, // platform does not inherit from root
		{"write root", "space", none},
		{"admin root", "space", admin_},
		{"read platform", "space", read},
		{"write platform", "space", read},
		{"admin platform", "space", admin_},

		{"read platform", "inheriting", read},
		{"write platform", "inheriting", read},
		{"admin platform", "inheriting", admin_},
		{"read root", "inheriting", none}, // inherits from platform only, which does not inherit

		{"read platform", "isolated", none},
		{"admin platform", "isolated", none},
		{"admin root", "isolated", admin_},
	}
	for _, tt := range tests {
		t.Run(tt.key+" on "+tt.integration, func(t *testing.T) {
			created := integrations[tt.integration]
			id := str(created, "id")
			path := "/api/v1/integrations/" + id
			c := newClient(t, inst, keys[tt.key])
			c.check = openAPIChecker(t)

			list := c.must(http.MethodGet, "/api/v1/integrations", nil, http.StatusOK)
			var listed map[string]any
			for _, item := range list["items"].([]any) {
				if m := item.(map[string]any); m["id"] == id {
					listed = m
				}
			}
			if (listed != nil) != (tt.access >= read) {
				t.Fatalf("listed = %v, want access %d", listed != nil, tt.access)
			}
			if tt.access == none {
				c.wantError(http.MethodGet, path, nil, http.StatusNotFound, "not_found", "")
				c.wantError(http.MethodPut, path, map[string]any{"is_default": true}, http.StatusNotFound, "not_found", "")
				c.wantError(http.MethodGet, path+"/webhook", nil, http.StatusNotFound, "not_found", "")
				c.wantError(http.MethodDelete, path, nil, http.StatusNotFound, "not_found", "")
				return
			}
			got := c.must(http.MethodGet, path, nil, http.StatusOK)
			_, secretInGet := got["webhook_secret"]
			_, secretInList := listed["webhook_secret"]
			if secretInGet != (tt.access == admin_) || secretInList != (tt.access == admin_) {
				t.Fatalf("webhook_secret visible get=%v list=%v, want %v", secretInGet, secretInList, tt.access == admin_)
			}
			if tt.access == admin_ && got["webhook_secret"] != created["webhook_secret"] {
				t.Fatal("admin sees a different secret")
			}
			update := updateBodyFor(created)
			if tt.access == admin_ {
				c.must(http.MethodPut, path, update, http.StatusOK)
				hook := c.must(http.MethodGet, path+"/webhook", nil, http.StatusOK)
				if hook["webhook_secret"] != created["webhook_secret"] {
					t.Fatal("webhook endpoint secret differs")
				}
				c.must(http.MethodPost, path+"/validate", nil, http.StatusOK)
				return
			}
			c.wantError(http.MethodPut, path, update, http.StatusForbidden, "permission_denied", "")
			c.wantError(http.MethodGet, path+"/webhook", nil, http.StatusForbidden, "permission_denied", "")
			c.wantError(http.MethodPost, path+"/validate", nil, http.StatusForbidden, "permission_denied", "")
			c.wantError(http.MethodPost, path+"/rotate-secret", nil, http.StatusForbidden, "permission_denied", "")
			c.wantError(http.MethodDelete, path, nil, http.StatusForbidden, "permission_denied", "")
		})
	}
}

// updateBodyFor builds a PUT body that keeps an integration as it is.
func updateBodyFor(in map[string]any) map[string]any {
	body := map[string]any{"is_default": in["is_default"], "description": "updated", "labels": in["labels"], "vcs_checks": in["vcs_checks"]}
	if in["is_default"] != true {
		body["space_id"] = in["space_id"]
	}
	if in["provider"] == "bitbucket_cloud" {
		body["email"] = in["email"]
	} else {
		body["api_host"] = in["api_host"]
		body["username"] = in["username"]
	}
	return body
}

func TestRoleRulesForSpacesStacksAndKeys(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	platform := inst.NewSpace(t, "platform", "root", false)
	child := inst.NewSpace(t, "child", platform, true)
	other := inst.NewSpace(t, "other", "root", false)
	readRoot := admin.as(inst.NewKey(t, "read-root", servertest.Read("root")))
	writePlatform := admin.as(inst.NewKey(t, "write-platform", servertest.Write(platform), servertest.Read(other)))
	readPlatform := admin.as(inst.NewKey(t, "read-platform", servertest.Read(platform)))
	adminPlatform := admin.as(inst.NewKey(t, "admin-platform", servertest.Admin(platform)))

	// Spaces: create needs admin on the parent.
	readRoot.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "x"}, http.StatusForbidden, "permission_denied", "parent_space_id")
	adminPlatform.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "x"}, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	grandchild := adminPlatform.must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "grandchild", "parent_space_id": child, "inherit_entities": true}, http.StatusCreated)
	writePlatform.wantError(http.MethodPut, "/api/v1/spaces/"+platform, map[string]any{"name": "renamed"}, http.StatusForbidden, "permission_denied", "")
	// admin on platform may update platform without being able to touch root.
	adminPlatform.must(http.MethodPut, "/api/v1/spaces/"+platform, map[string]any{"name": "renamed"}, http.StatusOK)
	adminPlatform.wantError(http.MethodGet, "/api/v1/spaces/"+other, nil, http.StatusNotFound, "not_found", "")

	// Lists omit what the caller cannot read.
	list := readPlatform.must(http.MethodGet, "/api/v1/spaces", nil, http.StatusOK)
	names := map[string]bool{}
	for _, item := range list["items"].([]any) {
		names[item.(map[string]any)["name"].(string)] = true
	}
	if !names["renamed"] || !names["child"] || !names["grandchild"] || names["root"] || names["other"] || len(names) != 3 {
		t.Errorf("read-platform lists spaces %v", names)
	}

	// Stacks: write on the space; moving needs write on both.
	readPlatform.wantError(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s", "space_id": platform}, http.StatusForbidden, "permission_denied", "space_id")
	stack := writePlatform.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "net", "space_id": str(grandchild, "id")}, http.StatusCreated)
	spath := "/api/v1/stacks/" + str(stack, "id")
	writePlatform.wantError(http.MethodPut, spath, map[string]any{"name": "net", "space_id": other}, http.StatusForbidden, "permission_denied", "space_id")
	readPlatform.wantError(http.MethodDelete, spath, nil, http.StatusForbidden, "permission_denied", "")
	readRoot.wantError(http.MethodGet, spath, nil, http.StatusNotFound, "not_found", "")
	writePlatform.must(http.MethodPut, spath, map[string]any{"name": "net2", "space_id": platform}, http.StatusOK)

	// Integrations need admin.
	writePlatform.wantError(http.MethodPost, "/api/v1/integrations", cloudBody("c", platform, "t"), http.StatusForbidden, "permission_denied", "space_id")
	// A default lives in root: a sub-space admin gets a 403 saying so (it used to get
	// a 400 claiming space "root" does not exist).
	adminPlatform.wantError(http.MethodPost, "/api/v1/integrations", with(cloudBody("c", "", "t"), "space_id", nil, "is_default", true), http.StatusForbidden, "permission_denied", "is_default")
	readRoot.wantError(http.MethodPost, "/api/v1/integrations", with(cloudBody("c", "", "t"), "space_id", nil, "is_default", true), http.StatusForbidden, "permission_denied", "is_default")

	// API keys need admin on root.
	adminPlatform.wantError(http.MethodGet, "/api/v1/api-keys", nil, http.StatusForbidden, "permission_denied", "")
	adminPlatform.wantError(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "k", "roles": []servertest.Role{servertest.Read(platform)}}, http.StatusForbidden, "permission_denied", "")
}
