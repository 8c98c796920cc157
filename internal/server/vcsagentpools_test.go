package server_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlite"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcsagent/pooltoken"
)

const poolsPath = "/api/v1/vcs-agent-pools"

func newPool(t *testing.T, c *client, name, spaceID string) map[string]any {
	t.Helper()
	return c.must(http.MethodPost, poolsPath, map[string]any{"name": name, "space_id": spaceID}, http.StatusCreated)
}

// agentAuth authenticates pool tokens against the instance's database, as the agent
// tunnel does.
func agentAuth(t *testing.T, inst *servertest.Instance) *pooltoken.Authenticator {
	t.Helper()
	st, err := sqlite.Open(t.Context(), inst.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return pooltoken.NewAuthenticator(st, nil)
}

func TestVCSAgentPoolCRUD(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	spaceA := inst.NewSpace(t, "a", "root", false)
	spaceB := inst.NewSpace(t, "b", "root", false)

	body := map[string]any{"name": "dc-east", "space_id": spaceA, "description": "the east data centre"}
	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"missing name", with(body, "name", nil), "name"},
		{"uppercase name", with(body, "name", "DC"), "name"},
		{"name with a dot", with(body, "name", "dc.east"), "name"},
		{"name too long", with(body, "name", strings.Repeat("a", 64)), "name"},
		{"missing space", with(body, "space_id", nil), "space_id"},
		{"unknown space", with(body, "space_id", "nope"), "space_id"},
		{"description too long", with(body, "description", strings.Repeat("x", 4097)), "description"},
		{"unknown field", with(body, "labels", []string{"a"}), "labels"},
		{"response-only field", with(body, "connected_agents", []string{}), "connected_agents"},
	} {
		c.wantError(http.MethodPost, poolsPath, tt.body, http.StatusBadRequest, "invalid_argument", tt.field)
	}

	created := c.withIdempotencyKey("pool-1").must(http.MethodPost, poolsPath, body, http.StatusCreated)
	id := str(created, "id")
	if created["name"] != "dc-east" || created["space_id"] != spaceA || created["description"] != "the east data centre" ||
		created["connected_agent_count"] != float64(0) || len(created["connected_agents"].([]any)) != 0 {
		t.Fatalf("create answer: %v", created)
	}
	// A retried create answers the same pool; a new one with the name is a 409 naming it.
	again := c.withIdempotencyKey("pool-1").must(http.MethodPost, poolsPath, body, http.StatusCreated)
	if again["id"] != id {
		t.Fatalf("idempotent retry made %v, want %s", again["id"], id)
	}
	status, raw := c.do(http.MethodPost, poolsPath, with(body, "space_id", spaceB))
	if status != http.StatusConflict || !strings.Contains(string(raw), `"existing_id":"`+id+`"`) || !strings.Contains(string(raw), `"field":"name"`) {
		t.Fatalf("duplicate name: %d %s", status, raw)
	}
	if got := c.must(http.MethodGet, poolsPath+"/"+id, nil, http.StatusOK); got["name"] != "dc-east" {
		t.Fatalf("get: %v", got)
	}
	list := c.must(http.MethodGet, poolsPath+"?name=dc-east", nil, http.StatusOK)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Fatalf("list by name: %v", list)
	}
	c.wantError(http.MethodGet, poolsPath+"?label=x", nil, http.StatusBadRequest, "invalid_argument", "label")

	// Update: space and description; the name cannot change.
	c.wantError(http.MethodPut, poolsPath+"/"+id, with(body, "name", "dc-west"), http.StatusBadRequest, "invalid_argument", "name")
	updated := c.must(http.MethodPut, poolsPath+"/"+id, map[string]any{"space_id": spaceB}, http.StatusOK)
	if updated["space_id"] != spaceB || updated["description"] != "" || updated["name"] != "dc-east" {
		t.Fatalf("update: %v", updated)
	}
	c.wantError(http.MethodDelete, "/api/v1/spaces/"+spaceB, nil, http.StatusConflict, "conflict", "")

	c.must(http.MethodDelete, poolsPath+"/"+id, nil, http.StatusNoContent)
	c.wantError(http.MethodGet, poolsPath+"/"+id, nil, http.StatusNotFound, "not_found", "")
	c.wantError(http.MethodDelete, poolsPath+"/"+id, nil, http.StatusNotFound, "not_found", "")
}

func TestVCSAgentPoolRoles(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "team", "root", false)
	other := inst.NewSpace(t, "other", "root", false)
	pool := newPool(t, admin, "team-pool", space)
	path := poolsPath + "/" + str(pool, "id")

	reader := admin.as(inst.NewKey(t, "reader", servertest.Read(space)))
	writer := admin.as(inst.NewKey(t, "writer", servertest.Write(space)))
	outsider := admin.as(inst.NewKey(t, "outsider", servertest.Admin(other)))

	reader.must(http.MethodGet, path, nil, http.StatusOK)
	writer.wantError(http.MethodPost, poolsPath, map[string]any{"name": "w", "space_id": space}, http.StatusForbidden, "permission_denied", "space_id")
	writer.wantError(http.MethodPut, path, map[string]any{"space_id": space}, http.StatusForbidden, "permission_denied", "")
	writer.wantError(http.MethodDelete, path, nil, http.StatusForbidden, "permission_denied", "")
	writer.wantError(http.MethodPost, path+"/tokens", map[string]any{}, http.StatusForbidden, "permission_denied", "")
	reader.wantError(http.MethodGet, path+"/tokens", nil, http.StatusForbidden, "permission_denied", "")
	// A key that cannot read the space does not learn the pool exists.
	outsider.wantError(http.MethodGet, path, nil, http.StatusNotFound, "not_found", "")
	outsider.wantError(http.MethodPost, path+"/tokens", map[string]any{}, http.StatusNotFound, "not_found", "")
	if items := outsider.must(http.MethodGet, poolsPath, nil, http.StatusOK)["items"].([]any); len(items) != 0 {
		t.Fatalf("outsider lists %v", items)
	}
	// Nor through a name conflict: 409 without existing_id.
	status, raw := outsider.do(http.MethodPost, poolsPath, map[string]any{"name": "team-pool", "space_id": other})
	if status != http.StatusConflict || strings.Contains(string(raw), "existing_id") {
		t.Fatalf("outsider's duplicate name: %d %s", status, raw)
	}
}

func TestVCSAgentPoolTokens(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	pool := newPool(t, c, "dc", "root")
	poolID := str(pool, "id")
	path := poolsPath + "/" + poolID + "/tokens"
	auth := agentAuth(t, inst)

	c.wantError(http.MethodPost, path, map[string]any{"expires_in_seconds": -1}, http.StatusBadRequest, "invalid_argument", "expires_in_seconds")
	c.wantError(http.MethodPost, path, map[string]any{"expires_in_seconds": 315360001}, http.StatusBadRequest, "invalid_argument", "expires_in_seconds")
	c.wantError(http.MethodPost, path, map[string]any{"token": "mine"}, http.StatusBadRequest, "invalid_argument", "token")

	issued := c.withIdempotencyKey("tok-1").must(http.MethodPost, path, map[string]any{"description": "k8s agent"}, http.StatusCreated)
	secret := str(issued, "token")
	if !strings.HasPrefix(secret, "orbitpool_") || issued["expires_at"] != nil || issued["description"] != "k8s agent" || issued["pool_id"] != poolID {
		t.Fatalf("issue answer: %v", issued)
	}
	// A retried issue answers the same token (it was stored once).
	if again := c.withIdempotencyKey("tok-1").must(http.MethodPost, path, map[string]any{"description": "k8s agent"}, http.StatusCreated); again["token"] != secret {
		t.Fatal("idempotent retry issued another token")
	}
	who, err := auth.AuthenticateAgent(t.Context(), secret)
	if err != nil || who.PoolID != poolID || who.PoolName != "dc" || who.SpaceID != "root" {
		t.Fatalf("authenticate issued token: %+v %v", who, err)
	}
	expiring := c.must(http.MethodPost, path, map[string]any{"expires_in_seconds": 3600}, http.StatusCreated)
	if expiring["expires_at"] == nil {
		t.Fatalf("token with a lifetime: %v", expiring)
	}
	list := c.must(http.MethodGet, path, nil, http.StatusOK)
	items := list["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["id"] != issued["id"] {
		t.Fatalf("list: %v", list)
	}
	for _, it := range items {
		if _, ok := it.(map[string]any)["token"]; ok {
			t.Fatalf("the list shows a token's secret: %v", it)
		}
	}

	// Rotate with a grace: both work; rotate with none: the old one stops at once.
	rotatePath := path + "/" + str(issued, "id") + "/rotate"
	c.wantError(http.MethodPost, rotatePath, map[string]any{"grace_seconds": 2592001}, http.StatusBadRequest, "invalid_argument", "grace_seconds")
	c.wantError(http.MethodPost, path+"/pt_missing/rotate", map[string]any{"grace_seconds": 1}, http.StatusNotFound, "not_found", "")
	rotated := c.must(http.MethodPost, rotatePath, map[string]any{"grace_seconds": 600}, http.StatusOK)
	next := rotated["issued"].(map[string]any)
	previous := rotated["previous"].(map[string]any)
	if previous["id"] != issued["id"] || previous["expires_at"] == nil || next["description"] != "k8s agent" || next["token"] == "" {
		t.Fatalf("rotation answer: %v", rotated)
	}
	for name, token := range map[string]string{"rotated, in its grace": secret, "new": next["token"].(string)} {
		if _, err := auth.AuthenticateAgent(t.Context(), token); err != nil {
			t.Fatalf("%s token: %v", name, err)
		}
	}
	c.must(http.MethodPost, path+"/"+str(next, "id")+"/rotate", map[string]any{"grace_seconds": 0}, http.StatusOK)
	if _, err := auth.AuthenticateAgent(t.Context(), next["token"].(string)); !errors.Is(err, pooltoken.ErrBadAgentToken) {
		t.Fatalf("token rotated without grace: %v", err)
	}

	// Revoke: at once.
	c.must(http.MethodDelete, path+"/"+str(issued, "id"), nil, http.StatusNoContent)
	if _, err := auth.AuthenticateAgent(t.Context(), secret); !errors.Is(err, pooltoken.ErrBadAgentToken) {
		t.Fatalf("revoked token: %v", err)
	}
	c.wantError(http.MethodDelete, path+"/"+str(issued, "id"), nil, http.StatusNotFound, "not_found", "")
	// A token is revoked only through its own pool.
	other := newPool(t, c, "other", "root")
	c.wantError(http.MethodDelete, poolsPath+"/"+str(other, "id")+"/tokens/"+str(expiring, "id"), nil, http.StatusNotFound, "not_found", "")

	// The secrets appear in the answers that issued them and nowhere else.
	for _, body := range c.responses() {
		if strings.Contains(body, secret) && !strings.Contains(body, `"id":"`+str(issued, "id")+`"`) {
			t.Fatalf("an answer shows the token: %s", body)
		}
	}
}

func TestVCSAgentPoolIntegrationNamesPool(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	parent := inst.NewSpace(t, "parent", "root", false)
	inheriting := inst.NewSpace(t, "inheriting", parent, true)
	isolated := inst.NewSpace(t, "isolated", parent, false)
	pool := newPool(t, c, "corp", parent)
	private := func(name, space, pool string) map[string]any {
		return with(dcBody(name, space, "tok"), "api_host", "private://"+pool, "user_facing_host", "https://bitbucket.corp.example.com")
	}

	msg := c.wantError(http.MethodPost, "/api/v1/integrations", private("dc-missing", parent, "nope"), http.StatusBadRequest, "invalid_argument", "api_host")
	if !strings.Contains(msg, `"nope"`) {
		t.Fatalf("message does not name the pool: %s", msg)
	}
	c.wantError(http.MethodPost, "/api/v1/integrations", private("dc-isolated", isolated, "corp"), http.StatusBadRequest, "invalid_argument", "api_host")
	// A key that cannot read the pool's space cannot name it either.
	isolatedAdmin := c.as(inst.NewKey(t, "iso-admin", servertest.Admin(isolated)))
	isolatedAdmin.wantError(http.MethodPost, "/api/v1/integrations", private("dc-iso", isolated, "corp"), http.StatusBadRequest, "invalid_argument", "api_host")

	// A pool of root is visible from every space.
	newPool(t, c, "everywhere", "root")
	c.must(http.MethodPost, "/api/v1/integrations", private("dc-root-pool", isolated, "everywhere"), http.StatusCreated)

	same := c.must(http.MethodPost, "/api/v1/integrations", private("dc-same", parent, "corp"), http.StatusCreated)
	c.must(http.MethodPost, "/api/v1/integrations", private("dc-inherit", inheriting, "corp"), http.StatusCreated)
	// Moving an integration where the pool is not visible is refused.
	c.wantError(http.MethodPut, "/api/v1/integrations/"+str(same, "id"), with(private("dc-same", isolated, "corp"), "access_token", nil),
		http.StatusBadRequest, "invalid_argument", "api_host")
	// So is moving the pool away from its integrations, or deleting it while they use it.
	poolPath := poolsPath + "/" + str(pool, "id")
	c.wantError(http.MethodPut, poolPath, map[string]any{"space_id": inheriting}, http.StatusBadRequest, "invalid_argument", "space_id")
	c.wantError(http.MethodDelete, poolPath, nil, http.StatusConflict, "conflict", "")
	c.must(http.MethodGet, poolPath, nil, http.StatusOK)
}
