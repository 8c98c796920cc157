package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// Bodies encoding/json accepts but API.md's rules refuse: a key given twice, a field
// name in another case, bytes that are not UTF-8. Each is a 400 naming the field, and
// nothing is stored.
func TestStrictJSONInput(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	tests := []struct {
		name, path, body, field, says string
	}{
		{"duplicate key", "/api/v1/spaces", `{"name":"a","name":"b"}`, "name", "twice"},
		{"duplicate key after others", "/api/v1/stacks", `{"name":"s","space_id":"` + space + `","description":"x","description":"y"}`, "description", "twice"},
		{"field in another case", "/api/v1/integrations", `{"provider":"bitbucket_cloud","name":"i","IS_DEFAULT":true,"email":"a@example.com","api_token":"t"}`, "IS_DEFAULT", "case-sensitive"},
		{"field in mixed case", "/api/v1/spaces", `{"Name":"a"}`, "Name", "case-sensitive"},
		{"nested duplicate", "/api/v1/api-keys", `{"name":"k","roles":[{"space_id":"root","role":"read","role":"admin"}]}`, "roles[0].role", "twice"},
		{"nested case", "/api/v1/api-keys", `{"name":"k","roles":[{"SPACE_ID":"root","role":"read"}]}`, "roles[0].SPACE_ID", "case-sensitive"},
		{"invalid UTF-8", "/api/v1/spaces", "{\"name\":\"a\xff\"}", "", "UTF-8"},
	}
	for _, tc := range tests {
		msg := c.wantError(http.MethodPost, tc.path, tc.body, http.StatusBadRequest, "invalid_argument", tc.field)
		if !strings.Contains(msg, tc.says) {
			t.Errorf("%s: message %q does not say %q", tc.name, msg, tc.says)
		}
	}
	list := c.must(http.MethodGet, "/api/v1/spaces", nil, http.StatusOK)
	if items, _ := list["items"].([]any); len(items) != 2 {
		t.Errorf("refused requests stored something: %v", list)
	}
}

// Names carry no control or bidirectional override characters: they end up in lists,
// logs and terminals.
func TestNamesRefuseControlAndBidiCharacters(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	for _, name := range []string{"a\u0000b", "two\nlines", "esc\u001b[31m", "rlo\u202etxt.exe", "iso\u2067x\u2069"} {
		c.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": name}, http.StatusBadRequest, "invalid_argument", "name")
		c.wantError(http.MethodPost, "/api/v1/stacks", map[string]any{"name": name, "space_id": space}, http.StatusBadRequest, "invalid_argument", "name")
		c.wantError(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": name, "roles": []any{}}, http.StatusBadRequest, "invalid_argument", "name")
	}
	c.must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "équipe plateforme"}, http.StatusCreated)
}

// A space admin who creates a sub-space without inheritance keeps access to it: its
// key gets admin on the new space. Before, the creator could not even read it.
func TestSpaceCreatorKeepsAdminWithoutInheritance(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	team := inst.NewSpace(t, "team", "root", false)
	key := inst.NewKey(t, "team-admin", servertest.Admin(team))
	c := newClient(t, inst, key)
	isolated := c.must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "isolated", "parent_space_id": team}, http.StatusCreated)
	id := str(isolated, "id")
	c.must(http.MethodGet, "/api/v1/spaces/"+id, nil, http.StatusOK)
	c.must(http.MethodPut, "/api/v1/spaces/"+id, map[string]any{"name": "isolated", "parent_space_id": team, "description": "mine"}, http.StatusOK)
	c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s", "space_id": id}, http.StatusCreated)

	// Another admin of the parent does not inherit into it: only the creator got a role.
	other := newClient(t, inst, inst.NewKey(t, "other-admin", servertest.Admin(team)))
	other.wantError(http.MethodGet, "/api/v1/spaces/"+id, nil, http.StatusNotFound, "not_found", "")
}
