package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// Every string field has a size limit (API.md "Field sizes"): one over it is a 400
// naming the field, exactly at it is accepted. Before, a 1 MB username was stored
// and listed back, so 100 of them made one list answer 100 MB.
func TestFieldSizeLimits(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	cloud := cloudBody("sizes-cloud", space, "tok-1")
	dc := dcBody("sizes-dc", space, "tok-2")
	legacy := with(cloud, "name", "sizes-legacy", "email", nil, "api_token", nil, "username", "dev", "app_password", "pw")
	long := func(n int) string { return strings.Repeat("a", n) }
	// A valid https URL of exactly n characters.
	urlOf := func(n int) string {
		const prefix = "https://bitbucket.example.com/"
		return prefix + strings.Repeat("p", n-len(prefix))
	}
	emailOf := func(n int) string { return strings.Repeat("d", n-len("@example.com")) + "@example.com" }

	tests := []struct {
		name, field string
		over, at    map[string]any
	}{
		{"description", "description", with(cloud, "description", long(4097)), with(cloud, "description", strings.Repeat("é", 4096))},
		{"cloud username (1 MB)", "username", with(legacy, "username", long(1_000_000)), nil},
		{"cloud username", "username", with(legacy, "username", long(256)), with(legacy, "username", long(255))},
		{"dc username", "username", with(dc, "username", long(256)), with(dc, "username", long(255))},
		{"email", "email", with(cloud, "email", emailOf(255)), with(cloud, "email", emailOf(254))},
		{"api_token", "api_token", with(cloud, "api_token", long(4097)), with(cloud, "api_token", long(4096))},
		{"app_password", "app_password", with(legacy, "app_password", long(4097)), with(legacy, "app_password", long(4096))},
		{"access_token", "access_token", with(dc, "access_token", long(4097)), with(dc, "access_token", long(4096))},
		{"api_host", "api_host", with(dc, "api_host", urlOf(2049)), with(dc, "api_host", urlOf(2048))},
		{"user_facing_host", "user_facing_host", with(dc, "user_facing_host", urlOf(2049)), with(dc, "user_facing_host", urlOf(2048))},
		{"space_id", "space_id", with(cloud, "space_id", long(256)), nil},
		{"provider", "provider", with(cloud, "provider", long(101)), nil},
		{"vcs_checks", "vcs_checks", with(cloud, "vcs_checks", long(101)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			c.wantError(http.MethodPost, "/api/v1/integrations", tt.over, http.StatusBadRequest, "invalid_argument", tt.field)
			if tt.at == nil {
				return
			}
			created := c.must(http.MethodPost, "/api/v1/integrations?check_credentials=false", tt.at, http.StatusCreated)
			path := "/api/v1/integrations/" + str(created, "id")
			// A PUT is held to the same limits and changes nothing when refused.
			put := with(tt.over, "name", nil, "provider", nil)
			c.wantError(http.MethodPut, path, put, http.StatusBadRequest, "invalid_argument", tt.field)
			c.must(http.MethodDelete, path, nil, http.StatusNoContent)
		})
	}

	// Spaces, stacks and API keys.
	c.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": long(101)}, http.StatusBadRequest, "invalid_argument", "name")
	c.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "s", "parent_space_id": long(256)}, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	c.wantError(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s", "space_id": long(256)}, http.StatusBadRequest, "invalid_argument", "space_id")
	c.wantError(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "k", "roles": []map[string]string{{"space_id": long(256), "role": "read"}}}, http.StatusBadRequest, "invalid_argument", "roles[0].space_id")
	roles := make([]map[string]string, 101)
	for i := range roles {
		roles[i] = map[string]string{"space_id": "root", "role": "read"}
	}
	c.wantError(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "k", "roles": roles}, http.StatusBadRequest, "invalid_argument", "roles")

	// List filters.
	for param, value := range map[string]string{"name": long(256), "space_id": long(256), "page_token": long(1025)} {
		c.wantError(http.MethodGet, "/api/v1/integrations?"+url.Values{param: {value}}.Encode(), nil, http.StatusBadRequest, "invalid_argument", param)
	}
}
