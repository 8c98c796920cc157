package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// getPage fetches a page without an API key.
func getPage(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url) //nolint:noctx // a test on loopback
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(raw)
}

// TestRunPageLinks: the capability link opens the page without a key, with the
// strict headers and no secret; a reissued link replaces the old one, a revoked
// one is a plain 404 like a malformed one, and statuses posted after the
// revocation link to the stable URL, which needs an API key.
func TestRunPageLinks(t *testing.T) {
	t.Parallel()
	l := newLoop(t, "individual")
	stack := l.bind("pages", l.cloud, "acme")
	head := hash(901)
	l.fire(sandbox.Event{Product: "cloud", Workspace: "acme", Repository: "infra", Event: "repo:push",
		Branch: "main", Commits: []sandbox.Commit{{Hash: head, Message: "change"}}})
	run := l.waitRuns(head, 1)[0]
	got := l.c.must(http.MethodGet, "/api/v1/runs/"+run.ID, nil, http.StatusOK)
	public, stable := str(got, "public_page_url"), str(got, "page_url")
	if !strings.HasPrefix(public, l.inst.PublicURL+"/run-pages/") || stable != l.inst.PublicURL+"/api/v1/runs/"+run.ID+"/page" {
		t.Fatalf("page URLs %q, %q", public, stable)
	}

	status, header, body := getPage(t, public)
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/html") {
		t.Fatalf("public page: %d %s", status, header.Get("Content-Type"))
	}
	for h, want := range map[string]string{"X-Robots-Tag": "noindex, nofollow, noarchive", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if header.Get(h) != want {
			t.Errorf("%s: %q, want %q", h, header.Get(h), want)
		}
	}
	if csp := header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; style-src 'sha256-") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy: %q", csp)
	}
	for _, want := range []string{"pages", head, "push to main", "https://bitbucket.org/acme/infra/commits/" + head} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, secret := range []string{"sandbox-cloud-admin-token", l.inst.AdminKey, strings.TrimPrefix(public, l.inst.PublicURL+"/run-pages/")} {
		if strings.Contains(body, secret) {
			t.Errorf("the page shows a secret (%.8s...)", secret)
		}
	}
	if strings.Contains(body, "<script") {
		t.Error("the page has a script")
	}

	// The stable URL needs a key, and shows the same page with one.
	if status, _, _ := getPage(t, stable); status != http.StatusUnauthorized {
		t.Errorf("stable URL without a key: %d, want 401", status)
	}
	if status, raw := l.c.do(http.MethodGet, "/api/v1/runs/"+run.ID+"/page", nil); status != http.StatusOK || !strings.Contains(string(raw), head) {
		t.Errorf("stable URL with a key: %d", status)
	}
	reader := l.c.must(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "reader", "roles": []servertest.Role{servertest.Read("root")}}, http.StatusCreated)
	l.c.as(str(reader, "key")).wantError(http.MethodPost, "/api/v1/runs/"+run.ID+"/page-link", nil, http.StatusForbidden, "permission_denied", "")

	const unknown = "404 page not found\n"
	reissued := str(l.c.must(http.MethodPost, "/api/v1/runs/"+run.ID+"/page-link", nil, http.StatusOK), "public_page_url")
	if reissued == public {
		t.Fatal("the reissued link is the old one")
	}
	for _, bad := range []string{public, public[:len(public)-1], l.inst.URL + "/run-pages/" + strings.Repeat("A", 43)} {
		status, header, body := getPage(t, bad)
		if status != http.StatusNotFound || body != unknown || header.Get("X-Robots-Tag") == "" {
			t.Errorf("%s: %d %q, want the plain 404 %q", bad, status, body, unknown)
		}
	}
	if status, _, _ := getPage(t, reissued); status != http.StatusOK {
		t.Errorf("reissued link: %d", status)
	}

	l.c.must(http.MethodDelete, "/api/v1/runs/"+run.ID+"/page-link", nil, http.StatusNoContent)
	if status, _, _ := getPage(t, reissued); status != http.StatusNotFound {
		t.Errorf("revoked link: %d, want 404", status)
	}
	if got := l.c.must(http.MethodGet, "/api/v1/runs/"+run.ID, nil, http.StatusOK); got["public_page_url"] != nil {
		t.Errorf("revoked run still has a public link: %v", got["public_page_url"])
	}
	l.finish(run.ID, "succeeded")
	eventually(t, "the final status linking to the stable URL", func() (bool, string) {
		for _, st := range l.sb.Statuses() {
			if st.Commit == head && st.Key == stackKey(stack) {
				return st.State == "SUCCESSFUL" && st.URL == stable, st.State + " " + st.URL
			}
		}
		return false, "no status"
	})
}
