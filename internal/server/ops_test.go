package server_test

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

func rawGet(t *testing.T, url, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// A 401 names the Bearer scheme (RFC 6750), and the access log holds the client's
// address.
func TestUnauthorizedNamesBearerAndLogsClient(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	inst := servertest.Start(t, servertest.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	for _, key := range []string{"", "not-a-key"} {
		resp := rawGet(t, inst.URL+"/api/v1/spaces", key)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("key %q: status %d, WWW-Authenticate %q", key, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if resp := rawGet(t, inst.URL+"/api/v1/spaces", inst.AdminKey); resp.Header.Get("WWW-Authenticate") != "" {
		t.Error("a 200 carries WWW-Authenticate")
	}
	if !strings.Contains(logs.String(), `"client":"127.0.0.1"`) {
		t.Errorf("access log without the client address:\n%s", logs.String())
	}
}

// Failed authentications are limited per client address: past the burst, 429 with
// Retry-After, for good keys too, before any key is looked at.
func TestFailedAuthenticationIsRateLimited(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.AuthFailureBurst = 3
		c.AuthFailureInterval = time.Hour // no refill during the test
	}))
	bad := strings.Replace(inst.AdminKey, inst.AdminKey[len(inst.AdminKey)-4:], "AAAA", 1)
	for i := range 3 {
		if resp := rawGet(t, inst.URL+"/api/v1/spaces", bad); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, resp.StatusCode)
		}
	}
	for _, key := range []string{bad, inst.AdminKey} {
		resp := rawGet(t, inst.URL+"/api/v1/spaces", key)
		retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || err != nil || retry < 1 {
			t.Fatalf("after the burst: status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	// Public routes are not limited.
	if resp := rawGet(t, inst.URL+"/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}
