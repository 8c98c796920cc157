package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		// 21 failed authentications on purpose: above the default per-client limit.
		c.AuthFailureBurst = 100
	}))
	admin := newClient(t, inst, inst.AdminKey)
	revoked := admin.must(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "ci", "roles": []servertest.Role{servertest.Read("root")}}, http.StatusCreated)
	admin.must(http.MethodDelete, "/api/v1/api-keys/"+str(revoked, "id"), nil, http.StatusNoContent)
	// Same id as the admin key, wrong secret part.
	wrongSecret := inst.AdminKey[:len(inst.AdminKey)-43] + strings.Repeat("A", 43)

	tests := []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"not bearer", "Basic " + inst.AdminKey},
		{"garbage", "Bearer garbage"},
		{"truncated", "Bearer " + inst.AdminKey[:len(inst.AdminKey)-1]},
		{"unknown id", "Bearer orbit_k_unknown_" + strings.Repeat("A", 43)},
		{"wrong secret", "Bearer " + wrongSecret},
		{"revoked", "Bearer " + str(revoked, "key")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, inst, "")
			if tt.header != "" {
				c.headers = http.Header{"Authorization": {tt.header}}
			}
			for _, path := range []string{"/api/v1/spaces", "/api/v1/integrations", "/api/v1/api-keys"} {
				msg := c.wantError(http.MethodGet, path, nil, http.StatusUnauthorized, "unauthenticated", "")
				if strings.Contains(msg, inst.AdminKey[len(inst.AdminKey)-43:]) || (tt.header != "" && strings.Contains(msg, strings.TrimPrefix(tt.header, "Bearer "))) {
					t.Fatalf("401 message echoes the key: %q", msg)
				}
			}
		})
	}
	// Public routes need no key.
	c := newClient(t, inst, "")
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"} {
		if status, body := c.do(http.MethodGet, path, nil); status != http.StatusOK {
			t.Errorf("GET %s without key: %d %s", path, status, body)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	c.check = openAPIChecker(t)

	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"no name", map[string]any{"roles": []servertest.Role{servertest.Read("root")}}, "name"},
		{"blank name", map[string]any{"name": "  ", "roles": []servertest.Role{servertest.Read("root")}}, "name"},
		{"no roles", map[string]any{"name": "k"}, "roles"},
		{"unknown role", map[string]any{"name": "k", "roles": []servertest.Role{{SpaceID: "root", Role: "owner"}}}, "roles[0].role"},
		{"unknown space", map[string]any{"name": "k", "roles": []servertest.Role{servertest.Read("root"), servertest.Read("nope")}}, "roles[1].space_id"},
		{"unknown nested field", `{"name":"k","roles":[{"space_id":"root","role":"read","extra":1}]}`, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			c.wantError(http.MethodPost, "/api/v1/api-keys", tt.body, http.StatusBadRequest, "invalid_argument", tt.field)
		})
	}

	created := c.must(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "ci", "roles": []servertest.Role{servertest.Write("root")}}, http.StatusCreated)
	key := str(created, "key")
	if !strings.HasPrefix(key, "orbit_"+str(created, "id")+"_") || len(key) != len("orbit_")+len(str(created, "id"))+1+43 {
		t.Fatalf("key %q is not orbit_<id>_<43 chars>", key)
	}
	got := c.must(http.MethodGet, "/api/v1/api-keys/"+str(created, "id"), nil, http.StatusOK)
	if _, ok := got["key"]; ok {
		t.Error("GET returns the key")
	}
	list := c.must(http.MethodGet, "/api/v1/api-keys", nil, http.StatusOK)
	if n := len(list["items"].([]any)); n != 2 {
		t.Errorf("%d keys listed, want 2 (bootstrap + ci)", n)
	}
	for _, body := range c.responses()[1:] {
		if strings.Contains(body, key[len(key)-43:]) {
			t.Fatalf("the key's secret appears after creation: %s", body)
		}
	}
	// The new key works with its role and no more.
	ci := c.as(key)
	ci.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s", "space_id": "root"}, http.StatusCreated)
	ci.wantError(http.MethodGet, "/api/v1/api-keys", nil, http.StatusForbidden, "permission_denied", "")

	selfID := strings.Split(strings.TrimPrefix(inst.AdminKey, "orbit_"), "_")
	c.wantError(http.MethodDelete, "/api/v1/api-keys/"+selfID[0]+"_"+selfID[1], nil, http.StatusConflict, "conflict", "")
	c.wantError(http.MethodGet, "/api/v1/api-keys/k_missing", nil, http.StatusNotFound, "not_found", "")
	c.must(http.MethodDelete, "/api/v1/api-keys/"+str(created, "id"), nil, http.StatusNoContent)
	ci.wantError(http.MethodGet, "/api/v1/stacks", nil, http.StatusUnauthorized, "unauthenticated", "")
}

func TestSpaces(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	c.check = openAPIChecker(t)

	parent := c.must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "parent", "labels": []string{"z", "a"}}, http.StatusCreated)
	if parent["parent_space_id"] != "root" || parent["inherit_entities"] != false || fmt.Sprint(parent["labels"]) != "[a z]" {
		t.Errorf("defaults: %v", parent)
	}
	pid := str(parent, "id")
	child := c.must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "child", "parent_space_id": pid, "inherit_entities": true}, http.StatusCreated)
	cid := str(child, "id")

	c.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": ""}, http.StatusBadRequest, "invalid_argument", "name")
	c.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": strings.Repeat("n", 101)}, http.StatusBadRequest, "invalid_argument", "name")
	c.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "x", "parent_space_id": "missing"}, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	c.wantError(http.MethodPut, "/api/v1/spaces/"+pid, map[string]any{"name": "parent", "parent_space_id": cid}, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	c.wantError(http.MethodPut, "/api/v1/spaces/"+pid, map[string]any{"name": "parent", "parent_space_id": pid}, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	c.wantError(http.MethodPut, "/api/v1/spaces/root", map[string]any{"name": "root2"}, http.StatusConflict, "conflict", "")
	c.wantError(http.MethodDelete, "/api/v1/spaces/root", nil, http.StatusConflict, "conflict", "")
	c.wantError(http.MethodGet, "/api/v1/spaces/missing", nil, http.StatusNotFound, "not_found", "")

	// Not empty: a child space, then a stack.
	c.wantError(http.MethodDelete, "/api/v1/spaces/"+pid, nil, http.StatusConflict, "conflict", "")
	stack := c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s", "space_id": cid}, http.StatusCreated)
	c.wantError(http.MethodDelete, "/api/v1/spaces/"+cid, nil, http.StatusConflict, "conflict", "")
	after := c.must(http.MethodGet, "/api/v1/spaces/"+pid, nil, http.StatusOK)
	if after["name"] != "parent" || after["updated_at"] != parent["updated_at"] {
		t.Errorf("failed requests changed the space: %v", after)
	}

	moved := c.must(http.MethodPut, "/api/v1/spaces/"+cid, map[string]any{"name": "moved", "description": "d"}, http.StatusOK)
	if moved["parent_space_id"] != "root" || moved["inherit_entities"] != false || moved["description"] != "d" {
		t.Errorf("full replacement: %v", moved)
	}
	c.must(http.MethodDelete, "/api/v1/stacks/"+str(stack, "id"), nil, http.StatusNoContent)
	c.must(http.MethodDelete, "/api/v1/spaces/"+cid, nil, http.StatusNoContent)
	c.must(http.MethodDelete, "/api/v1/spaces/"+pid, nil, http.StatusNoContent)
	c.wantError(http.MethodGet, "/api/v1/spaces/"+pid, nil, http.StatusNotFound, "not_found", "")
}

func TestStacksAndLists(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	c.check = openAPIChecker(t)
	space := inst.NewSpace(t, "platform", "root", false)

	c.wantError(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s"}, http.StatusBadRequest, "invalid_argument", "space_id")
	c.wantError(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s", "space_id": "nope"}, http.StatusBadRequest, "invalid_argument", "space_id")
	c.wantError(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s", "space_id": space, "labels": []string{"bad label"}}, http.StatusBadRequest, "invalid_argument", "labels[0]")

	for i, name := range []string{"delta", "alpha", "charlie", "bravo", "echo"} {
		labels := []string{"all"}
		if i%2 == 0 {
			labels = append(labels, "even")
		}
		sp := space
		if name == "echo" {
			sp = "root"
		}
		c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": name, "space_id": sp, "labels": labels}, http.StatusCreated)
	}
	names := func(query string) string {
		var got []string
		token := ""
		for {
			q := query
			if token != "" {
				q += "&page_token=" + token
			}
			page := c.must(http.MethodGet, "/api/v1/stacks?"+q, nil, http.StatusOK)
			for _, item := range page["items"].([]any) {
				got = append(got, item.(map[string]any)["name"].(string))
			}
			token = str(page, "next_page_token")
			if token == "" {
				return strings.Join(got, ",")
			}
		}
	}
	tests := []struct{ query, want string }{
		{"", "alpha,bravo,charlie,delta,echo"},
		{"page_size=2", "alpha,bravo,charlie,delta,echo"},
		{"page_size=1&space_id=" + space, "alpha,bravo,charlie,delta"},
		{"label=even", "charlie,delta,echo"},
		{"label=even&label=all&space_id=" + space, "charlie,delta"},
		{"name=bravo", "bravo"},
		{"space_id=missing", ""},
	}
	for _, tt := range tests {
		if got := names(tt.query); got != tt.want {
			t.Errorf("list ?%s = %s, want %s", tt.query, got, tt.want)
		}
	}
	first := c.must(http.MethodGet, "/api/v1/stacks?page_size=2", nil, http.StatusOK)
	if n := len(first["items"].([]any)); n != 2 || str(first, "next_page_token") == "" {
		t.Errorf("page_size=2 gave %d items, token %q", n, first["next_page_token"])
	}
	c.wantError(http.MethodGet, "/api/v1/stacks?page_size=501", nil, http.StatusBadRequest, "invalid_argument", "page_size")
	c.wantError(http.MethodGet, "/api/v1/stacks?page_size=0", nil, http.StatusBadRequest, "invalid_argument", "page_size")
	c.wantError(http.MethodGet, "/api/v1/stacks?page_token=%21%21", nil, http.StatusBadRequest, "invalid_argument", "page_token")
	c.wantError(http.MethodGet, "/api/v1/integrations?provider=github", nil, http.StatusBadRequest, "invalid_argument", "provider")
	c.wantError(http.MethodGet, "/api/v1/stacks/missing", nil, http.StatusNotFound, "not_found", "")
}

func TestRequestBodies(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	c.check = openAPIChecker(t)

	huge := `{"name":"x","description":"` + strings.Repeat("a", 1<<20) + `"}`
	c.wantError(http.MethodPost, "/api/v1/spaces", huge, http.StatusRequestEntityTooLarge, "invalid_argument", "")
	c.wantError(http.MethodPost, "/api/v1/spaces", `{"name":`, http.StatusBadRequest, "invalid_argument", "")
	c.wantError(http.MethodPost, "/api/v1/spaces", `not json`, http.StatusBadRequest, "invalid_argument", "")
	c.wantError(http.MethodPost, "/api/v1/spaces", `{"name":"a"} {"name":"b"}`, http.StatusBadRequest, "invalid_argument", "")
	c.wantError(http.MethodPost, "/api/v1/spaces", `[]`, http.StatusBadRequest, "invalid_argument", "")
	c.wantError(http.MethodPost, "/api/v1/spaces", ``, http.StatusBadRequest, "invalid_argument", "")
	c.wantError(http.MethodPost, "/api/v1/spaces", `{"name":"a","labels":"x"}`, http.StatusBadRequest, "invalid_argument", "labels")
	list := c.must(http.MethodGet, "/api/v1/spaces", nil, http.StatusOK)
	if n := len(list["items"].([]any)); n != 1 {
		t.Errorf("rejected bodies created spaces: %d listed", n)
	}
}

func TestOpsEndpointsAndRequestIDs(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)

	var gotID string
	c.check = func(_ *http.Request, _ int, h http.Header, _ []byte) { gotID = h.Get("X-Request-Id") }
	c.headers = http.Header{"X-Request-Id": {"trace-42.a:b"}}
	c.must(http.MethodGet, "/healthz", nil, http.StatusOK)
	if gotID != "trace-42.a:b" {
		t.Errorf("sane request id not echoed: %q", gotID)
	}
	c.headers = http.Header{"X-Request-Id": {"bad id with spaces"}}
	c.must(http.MethodGet, "/healthz", nil, http.StatusOK)
	if gotID == "" || strings.Contains(gotID, " ") {
		t.Errorf("insane request id not replaced: %q", gotID)
	}
	c.headers = nil
	c.must(http.MethodGet, "/api/v1/spaces", nil, http.StatusOK)
	firstID := gotID
	c.must(http.MethodGet, "/api/v1/spaces", nil, http.StatusOK)
	if firstID == "" || firstID == gotID {
		t.Errorf("generated request ids %q, %q", firstID, gotID)
	}

	c.wantError(http.MethodGet, "/api/v1/nope", nil, http.StatusNotFound, "not_found", "")
	c.wantError(http.MethodPatch, "/api/v1/spaces", nil, http.StatusMethodNotAllowed, "invalid_argument", "")

	if r := c.must(http.MethodGet, "/readyz", nil, http.StatusOK); r["status"] != "ready" {
		t.Errorf("readyz: %v", r)
	}
	inst.Server.SetDraining(true)
	c.must(http.MethodGet, "/readyz", nil, http.StatusServiceUnavailable)
	c.must(http.MethodGet, "/healthz", nil, http.StatusOK)
	inst.Server.SetDraining(false)

	status, metrics := c.do(http.MethodGet, "/metrics", nil)
	for _, want := range []string{
		`orbit_http_requests_total{code="200",route="GET /api/v1/spaces"} 2`,
		`orbit_http_requests_total{code="404",route="unmatched"} 1`,
		`orbit_http_requests_total{code="503",route="GET /readyz"} 1`,
		`orbit_http_request_duration_seconds_bucket{code="200",route="GET /healthz",le="+Inf"} 3`,
	} {
		if status != http.StatusOK || !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
