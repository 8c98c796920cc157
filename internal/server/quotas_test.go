package server_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

func TestSpaceQuotas(t *testing.T) {
	t.Parallel()
	const maxSpaces, maxDepth = 4, 2
	inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.MaxSpaces, c.MaxSpaceDepth = maxSpaces, maxDepth
	}))
	c := newClient(t, inst, inst.AdminKey)
	a := inst.NewSpace(t, "a", "root", false)
	ab := inst.NewSpace(t, "ab", a, false)
	// Depth: a child of ab would sit 3 levels below root.
	c.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "abc", "parent_space_id": ab}, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	// Moving a space that has a child under a (depth 1) would put the child at 3.
	x := inst.NewSpace(t, "x", "root", false)
	inst.NewSpace(t, "xy", x, false)
	c.wantError(http.MethodPut, "/api/v1/spaces/"+x, map[string]any{"name": "x", "parent_space_id": a}, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	// Count: a, ab, x, xy are the maxSpaces allowed.
	msg := c.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "fifth"}, http.StatusConflict, "conflict", "")
	if !strings.Contains(msg, fmt.Sprintf("maximum of %d spaces", maxSpaces)) {
		t.Errorf("quota message %q does not say the limit", msg)
	}
	// Nothing of the refused writes was stored, and freeing a space frees quota.
	got := c.must(http.MethodGet, "/api/v1/spaces/"+x, nil, http.StatusOK)
	if got["parent_space_id"] != "root" {
		t.Fatalf("refused move changed the parent: %v", got["parent_space_id"])
	}
	c.must(http.MethodDelete, "/api/v1/spaces/"+ab, nil, http.StatusNoContent)
	c.must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "fifth"}, http.StatusCreated)
	// An update that does not move a space is not held to the depth limit.
	c.must(http.MethodPut, "/api/v1/spaces/"+x, map[string]any{"name": "x renamed"}, http.StatusOK)
}

func TestLabelQuotas(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	labels := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("l%d", i)
		}
		return out
	}
	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{"/api/v1/spaces", map[string]any{"name": "s"}},
		{"/api/v1/stacks", map[string]any{"name": "s", "space_id": space}},
		{"/api/v1/integrations", cloudBody("i", space, "tok")},
	} {
		c.wantError(http.MethodPost, tc.path, with(tc.body, "labels", labels(server.DefaultMaxLabels+1)), http.StatusBadRequest, "invalid_argument", "labels")
		c.wantError(http.MethodPost, tc.path, with(tc.body, "labels", append(labels(server.DefaultMaxLabels), "l0")), http.StatusBadRequest, "invalid_argument", "labels")
		c.must(http.MethodPost, tc.path, with(tc.body, "labels", labels(server.DefaultMaxLabels)), http.StatusCreated)
	}
	// More label filters than an object can carry: 400, not a failing query.
	for _, n := range []int{server.DefaultMaxLabels + 1, 1000} {
		q := url.Values{"label": labels(n)}
		for _, coll := range []string{"spaces", "stacks", "integrations"} {
			c.wantError(http.MethodGet, "/api/v1/"+coll+"?"+q.Encode(), nil, http.StatusBadRequest, "invalid_argument", "label")
		}
	}
	q := url.Values{"label": labels(server.DefaultMaxLabels)}
	list := c.must(http.MethodGet, "/api/v1/stacks?"+q.Encode(), nil, http.StatusOK)
	if n := len(list["items"].([]any)); n != 1 {
		t.Fatalf("stack carrying all %d labels: %d matches", server.DefaultMaxLabels, n)
	}
}

// seedSpaces writes teams spaces under root (not inheriting) and, spread over them,
// perTeam*teams inheriting children labelled "bulk", straight into the database:
// creating tens of thousands through the API would take minutes.
func seedSpaces(t *testing.T, dbPath string, teams, perTeam int) {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const ts = `'2026-01-01T00:00:00.000000Z'`
	for _, stmt := range []string{
		`PRAGMA busy_timeout = 10000`,
		fmt.Sprintf(`WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO spaces (id, name, parent_space_id, inherit_entities, description, created_at, updated_at)
			SELECT 'team-' || i, 'team ' || i, 'root', FALSE, '', %s, %s FROM n`, teams, ts, ts),
		fmt.Sprintf(`WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO spaces (id, name, parent_space_id, inherit_entities, description, created_at, updated_at)
			SELECT 'bulk-' || i, 'bulk ' || i, 'team-' || (i %% %d + 1), TRUE, '', %s, %s FROM n`, teams*perTeam, teams, ts, ts),
		`INSERT INTO space_labels (space_id, label) SELECT id, 'bulk' FROM spaces WHERE id LIKE 'bulk-%'`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}

// Every request used to load every space and its labels, binding one SQL variable
// per space: past SQLite's limit of bound variables (SQLITE_MAX_VARIABLE_NUMBER,
// 32,766) each request, including the delete that would fix it, answered 500. Role
// checks now read the ancestry of the space concerned, and lists resolve readable
// spaces in SQL. The test holds more spaces than that limit, whatever it is.
func TestManySpaces(t *testing.T) {
	t.Parallel()
	const teams = 100
	const perTeam = sqlite3.SQLITE_MAX_VARIABLE_NUMBER/teams + 1 // teams*(perTeam+1) spaces, over the limit
	inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.MaxSpaces = 100000 }))
	seedSpaces(t, inst.DBPath, teams, perTeam)
	c := newClient(t, inst, inst.AdminKey)

	c.must(http.MethodGet, "/api/v1/spaces/bulk-5", nil, http.StatusOK)
	page := c.must(http.MethodGet, "/api/v1/spaces?page_size=500&label=bulk", nil, http.StatusOK)
	if n := len(page["items"].([]any)); n != 500 || str(page, "next_page_token") == "" {
		t.Fatalf("first page: %d items, token %q", n, str(page, "next_page_token"))
	}
	created := c.must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "new", "parent_space_id": "bulk-7"}, http.StatusCreated)
	c.must(http.MethodPut, "/api/v1/spaces/"+str(created, "id"), map[string]any{"name": "moved", "parent_space_id": "team-9"}, http.StatusOK)
	c.must(http.MethodDelete, "/api/v1/spaces/"+str(created, "id"), nil, http.StatusNoContent)
	c.must(http.MethodDelete, "/api/v1/spaces/bulk-1", nil, http.StatusNoContent)
	c.must(http.MethodGet, "/api/v1/stacks", nil, http.StatusOK)
	c.must(http.MethodGet, "/api/v1/integrations", nil, http.StatusOK)

	// A key with admin on one team sees that team and the children inheriting from
	// it, and nothing else.
	team := newClient(t, inst, inst.NewKey(t, "team-3-admin", servertest.Admin("team-3")))
	seen := map[string]bool{}
	token := ""
	for {
		page := team.must(http.MethodGet, "/api/v1/spaces?page_size=500&page_token="+token, nil, http.StatusOK)
		for _, it := range page["items"].([]any) {
			seen[it.(map[string]any)["id"].(string)] = true
		}
		if token = str(page, "next_page_token"); token == "" {
			break
		}
	}
	if len(seen) != perTeam+1 || !seen["team-3"] || !seen["bulk-2"] || seen["bulk-3"] || seen["root"] {
		t.Fatalf("team key lists %d spaces, want team-3 and its %d children", len(seen), perTeam)
	}
	team.must(http.MethodGet, "/api/v1/spaces/bulk-102", nil, http.StatusOK)
	team.wantError(http.MethodGet, "/api/v1/spaces/bulk-103", nil, http.StatusNotFound, "not_found", "")
	team.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s", "space_id": "bulk-202"}, http.StatusCreated)
	team.wantError(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "s", "space_id": "bulk-203"}, http.StatusBadRequest, "invalid_argument", "space_id")
	stacks := team.must(http.MethodGet, "/api/v1/stacks", nil, http.StatusOK)
	if n := len(stacks["items"].([]any)); n != 1 {
		t.Fatalf("team key lists %d stacks, want 1", n)
	}
}
