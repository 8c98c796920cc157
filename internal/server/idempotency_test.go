package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// withIdempotencyKey returns a client that sends key on every request.
func (c *client) withIdempotencyKey(key string) *client {
	cp := *c
	cp.headers = http.Header{"Idempotency-Key": {key}}
	return &cp
}

func countItems(t *testing.T, c *client, path string) int {
	t.Helper()
	list := c.must(http.MethodGet, path, nil, http.StatusOK)
	items, _ := list["items"].([]any)
	return len(items)
}

// TestIdempotencyKeyRepeatCreatesOnce: every create route answers a repeat with the
// stored answer and makes no second object; the stored answer is the first one, byte
// for byte, secrets included.
func TestIdempotencyKeyRepeatCreatesOnce(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	admin.check = openAPIChecker(t)
	space := inst.NewSpace(t, "platform", "root", false)

	creates := []struct {
		name, path, list string
		body             any
	}{
		{"space", "/api/v1/spaces", "/api/v1/spaces?name=once", map[string]any{"name": "once", "parent_space_id": "root"}},
		{"stack", "/api/v1/stacks", "/api/v1/stacks?name=once", map[string]any{"name": "once", "space_id": space}},
		{"integration", "/api/v1/integrations", "/api/v1/integrations?name=once", cloudBody("once", space, "token-that-is-long")},
		{"api key", "/api/v1/api-keys", "/api/v1/api-keys", map[string]any{"name": "once", "roles": []servertest.Role{servertest.Read(space)}}},
	}
	for _, tc := range creates {
		t.Run(tc.name, func(t *testing.T) {
			before := countItems(t, admin, tc.list)
			c := admin.withIdempotencyKey("key-" + strings.ReplaceAll(tc.name, " ", "-"))
			status, first := c.do(http.MethodPost, tc.path, tc.body)
			if status != http.StatusCreated {
				t.Fatalf("first POST: %d %s", status, first)
			}
			status, again := c.do(http.MethodPost, tc.path, tc.body)
			if status != http.StatusCreated || string(again) != string(first) {
				t.Fatalf("repeat: %d %s, want 201 and the first answer %s", status, again, first)
			}
			if got := countItems(t, admin, tc.list); got != before+1 {
				t.Fatalf("%d objects after two POSTs with one key, want %d", got, before+1)
			}
			// A new key is a new create.
			if tc.name == "space" || tc.name == "stack" {
				admin.withIdempotencyKey("another-"+tc.name).must(http.MethodPost, tc.path, tc.body, http.StatusCreated)
				if got := countItems(t, admin, tc.list); got != before+2 {
					t.Fatalf("%d objects after a POST with a new key, want %d", got, before+2)
				}
			}
		})
	}
}

func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	admin.check = openAPIChecker(t)
	c := admin.withIdempotencyKey("k1")
	c.must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "a"}, http.StatusCreated)
	c.wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "b"}, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
	c.wantError(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "a", "space_id": "root"}, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
	if got := countItems(t, admin, "/api/v1/spaces?name=b"); got != 0 {
		t.Fatalf("a reused key created space b")
	}
	// The key belongs to the API key that sent it: another API key may use the same.
	other := inst.NewKey(t, "other", servertest.Admin("root"))
	admin.as(other).withIdempotencyKey("k1").must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "b"}, http.StatusCreated)
	admin.withIdempotencyKey(strings.Repeat("x", 256)).wantError(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "c"}, http.StatusBadRequest, "invalid_argument", "Idempotency-Key")
}

// TestIdempotencyKeyFailedCreateStoresNothing: an answer that is an error is not kept,
// so the repeat runs again (and succeeds once the cause is gone).
func TestIdempotencyKeyFailedCreateStoresNothing(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	c := admin.withIdempotencyKey("k1")
	body := map[string]any{"name": "child", "parent_space_id": "later"}
	c.wantError(http.MethodPost, "/api/v1/spaces", body, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	c.wantError(http.MethodPost, "/api/v1/spaces", body, http.StatusBadRequest, "invalid_argument", "parent_space_id")
	// Nothing was stored under the key, so it is free for the corrected request.
	c.must(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "child"}, http.StatusCreated)
}

func TestIdempotencyKeyConcurrentRepeats(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	c := admin.withIdempotencyKey("racing")
	var wg sync.WaitGroup
	bodies := make([]string, 8)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := c.do(http.MethodPost, "/api/v1/spaces", map[string]any{"name": "racer"})
			bodies[i] = fmt.Sprint(status, " ", string(body))
		}()
	}
	wg.Wait()
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("concurrent repeats got different answers:\n%s\n%s", bodies[0], b)
		}
	}
	if got := countItems(t, admin, "/api/v1/spaces?name=racer"); got != 1 {
		t.Fatalf("%d spaces after concurrent repeats, want 1", got)
	}
}

func TestRotateSecretWithIdempotencyKeyRotatesOnce(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	created := admin.must(http.MethodPost, "/api/v1/integrations", cloudBody("rot", "root", "token-that-is-long"), http.StatusCreated)
	path := "/api/v1/integrations/" + str(created, "id") + "/rotate-secret"
	c := admin.withIdempotencyKey("rotate-1")
	first := c.must(http.MethodPost, path, nil, http.StatusOK)
	again := c.must(http.MethodPost, path, nil, http.StatusOK)
	current := admin.must(http.MethodGet, "/api/v1/integrations/"+str(created, "id"), nil, http.StatusOK)
	if str(first, "webhook_secret") != str(again, "webhook_secret") || str(current, "webhook_secret") != str(first, "webhook_secret") {
		t.Fatalf("a repeated rotation rotated again")
	}
}

func TestWhoami(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	admin.check = openAPIChecker(t)
	platform := inst.NewSpace(t, "platform", "root", false)
	inheriting := inst.NewSpace(t, "inheriting", platform, true)
	inst.NewSpace(t, "isolated", platform, false)

	key := inst.NewKey(t, "narrow", servertest.Write(platform))
	got := admin.as(key).must(http.MethodGet, "/api/v1/whoami", nil, http.StatusOK)
	if !strings.HasPrefix(str(got, "id"), "k_") || str(got, "name") != "narrow" {
		t.Fatalf("whoami = %v", got)
	}
	want := map[string]string{platform: "write", inheriting: "write"}
	spaces, _ := got["spaces"].([]any)
	if len(spaces) != len(want) {
		t.Fatalf("whoami spaces = %v, want %v", spaces, want)
	}
	for _, raw := range spaces {
		sp := raw.(map[string]any)
		if want[str(sp, "space_id")] != str(sp, "role") {
			t.Fatalf("whoami spaces = %v, want %v", spaces, want)
		}
	}
	rootAdmin := admin.must(http.MethodGet, "/api/v1/whoami", nil, http.StatusOK)
	if n := len(rootAdmin["spaces"].([]any)); n != 4 {
		t.Fatalf("root admin sees %d spaces, want 4", n)
	}
	newClient(t, inst, "").wantError(http.MethodGet, "/api/v1/whoami", nil, http.StatusUnauthorized, "unauthenticated", "")
}

// TestIdempotentAnswersSealedAtRest: a stored answer may carry a webhook secret or a
// new API key; the database must not hold either in clear.
func TestIdempotentAnswersSealedAtRest(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	created := admin.withIdempotencyKey("at-rest-1").must(http.MethodPost, "/api/v1/integrations", dcBody("dc", "root", "plaintext-token-7a1b2c3d"), http.StatusCreated)
	key := admin.withIdempotencyKey("at-rest-2").must(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "k", "roles": []servertest.Role{servertest.Read("root")}}, http.StatusCreated)
	files, err := filepath.Glob(inst.DBPath + "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("database files: %v %v", files, err)
	}
	var all []byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, raw...)
	}
	if !bytes.Contains(all, []byte("at-rest-1")) {
		t.Fatal("the idempotency record is not in the database files; the check would prove nothing")
	}
	apiKey := str(key, "key")
	for _, s := range []string{str(created, "webhook_secret"), apiKey[len(apiKey)-43:], "plaintext-token-7a1b2c3d"} {
		if s == "" || bytes.Contains(all, []byte(s)) {
			t.Errorf("database files contain a secret in clear (or the answer lacked it): %q", s)
		}
	}
}
