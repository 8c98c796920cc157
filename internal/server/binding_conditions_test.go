package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// ifMatch returns a client that sends If-Match: the version quoted, or * as is.
func (c *client) ifMatch(version string) *client {
	cp := *c
	cp.headers = cp.headers.Clone()
	if cp.headers == nil {
		cp.headers = http.Header{}
	}
	if version != "*" {
		version = strconv.Quote(version)
	}
	cp.headers.Set("If-Match", version)
	return &cp
}

// TestBindingCreateNeverTakesOver (issue 20 item 1): a second create for a bound stack
// is a 409 naming the binding in the way and leaves it as it was; a replace needs the
// version read (If-Match), and one that names a binding since replaced, or deleted and
// made again, changes nothing; a delete with a stale version deletes nothing.
func TestBindingCreateNeverTakesOver(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	c.check = openAPIChecker(t)
	cloud := str(c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", "root", "t"), http.StatusCreated), "id")
	stack := newStack(t, c, "network", "root")

	var etag string
	seen := *c
	seen.check = func(req *http.Request, status int, header http.Header, body []byte) {
		c.check(req, status, header, body)
		etag = header.Get("ETag")
	}
	created := seen.must(http.MethodPost, bindingPath(stack), bindingBody(cloud, "acme", "infra"), http.StatusCreated)
	version := str(created, "version")
	if version == "" || etag != strconv.Quote(version) {
		t.Fatalf("created binding: version %q, ETag %q", version, etag)
	}
	first := seen.must(http.MethodGet, bindingPath(stack), nil, http.StatusOK)
	if etag != strconv.Quote(version) || first["version"] != version {
		t.Fatalf("read binding: version %v, ETag %q; created %q", first["version"], etag, version)
	}

	// The second configuration's create: 409 on stack_id, naming what is there.
	status, raw := c.do(http.MethodPost, bindingPath(stack), bindingBody(cloud, "acme", "app"))
	if status != http.StatusConflict {
		t.Fatalf("second create: %d %s", status, raw)
	}
	for _, want := range []string{`"field":"stack_id"`, `"existing_id":"` + stack + `"`, "acme/infra", cloud, version} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("409 of the second create does not name %s: %s", want, raw)
		}
	}
	unchanged := func(what string) {
		t.Helper()
		got := c.must(http.MethodGet, bindingPath(stack), nil, http.StatusOK)
		if got["repository"] != "infra" || got["version"] != version || got["updated_at"] != first["updated_at"] {
			t.Fatalf("after %s the binding changed: %v", what, got)
		}
	}
	unchanged("a second create")

	// A replace must say which binding it replaces.
	c.wantError(http.MethodPut, bindingPath(stack), bindingBody(cloud, "acme", "app"), http.StatusPreconditionRequired, "precondition_required", "If-Match")
	c.ifMatch("other").wantError(http.MethodPut, bindingPath(stack), bindingBody(cloud, "acme", "app"), http.StatusPreconditionFailed, "precondition_failed", "If-Match")
	c.wantError(http.MethodPut, bindingPath(stack), bindingBody(cloud, "acme", "app"), http.StatusPreconditionRequired, "precondition_required", "If-Match")
	c.ifMatch("other").wantError(http.MethodDelete, bindingPath(stack), nil, http.StatusPreconditionFailed, "precondition_failed", "If-Match")
	bad := c.ifMatch("x")
	bad.headers.Set("If-Match", "unquoted")
	bad.wantError(http.MethodPut, bindingPath(stack), bindingBody(cloud, "acme", "app"), http.StatusBadRequest, "invalid_argument", "If-Match")
	unchanged("refused replaces and deletes")

	// Deleted and made again (by someone else): the old version names neither the new
	// binding for a replace nor for a delete.
	c.ifMatch(version).must(http.MethodDelete, bindingPath(stack), nil, http.StatusNoContent)
	again := c.must(http.MethodPost, bindingPath(stack), bindingBody(cloud, "acme", "web"), http.StatusCreated)
	if again["version"] == version {
		t.Fatal("a binding made again has the deleted one's version")
	}
	c.ifMatch(version).wantError(http.MethodPut, bindingPath(stack), bindingBody(cloud, "acme", "infra"), http.StatusPreconditionFailed, "precondition_failed", "If-Match")
	c.ifMatch(version).wantError(http.MethodDelete, bindingPath(stack), nil, http.StatusPreconditionFailed, "precondition_failed", "If-Match")
	if got := c.must(http.MethodGet, bindingPath(stack), nil, http.StatusOK); got["repository"] != "web" {
		t.Fatalf("stale writes changed the new binding: %v", got)
	}
	// The version read works, once.
	replaced := c.ifMatch(str(again, "version")).must(http.MethodPut, bindingPath(stack), bindingBody(cloud, "acme", "infra"), http.StatusOK)
	c.ifMatch(str(again, "version")).wantError(http.MethodPut, bindingPath(stack), bindingBody(cloud, "acme", "app"), http.StatusPreconditionFailed, "precondition_failed", "If-Match")
	c.ifMatch(str(replaced, "version")).must(http.MethodDelete, bindingPath(stack), nil, http.StatusNoContent)
}

// TestBindingCreateIdempotent: a create retried with the same Idempotency-Key (an
// answer lost on the way) gets the first answer, not the 409 of a second create.
func TestBindingCreateIdempotent(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	cloud := str(c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", "root", "t"), http.StatusCreated), "id")
	stack := newStack(t, c, "network", "root")
	keyed := *c
	keyed.headers = http.Header{"Idempotency-Key": []string{"bind-network-1"}}
	first := keyed.must(http.MethodPost, bindingPath(stack), bindingBody(cloud, "acme", "infra"), http.StatusCreated)
	again := keyed.must(http.MethodPost, bindingPath(stack), bindingBody(cloud, "acme", "infra"), http.StatusCreated)
	if again["version"] != first["version"] {
		t.Fatalf("replayed create = %v, first %v", again, first)
	}
	c.wantError(http.MethodPost, bindingPath(stack), bindingBody(cloud, "acme", "infra"), http.StatusConflict, "conflict", "stack_id")
}
