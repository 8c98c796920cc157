package server_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// hookTarget is one integration's receiver URL and secret.
type hookTarget struct {
	provider string // bitbucket_cloud | bitbucket_datacenter
	url      string
	secret   string
	id       string
}

func newHookTarget(t *testing.T, c *client, body map[string]any) hookTarget {
	t.Helper()
	created := c.must(http.MethodPost, "/api/v1/integrations", body, http.StatusCreated)
	return hookTarget{provider: str(created, "provider"), url: str(created, "webhook_url"), secret: str(created, "webhook_secret"), id: str(created, "id")}
}

const (
	cloudPushBody = `{"actor":{"type":"user"},"repository":{"full_name":"acme/infra","type":"repository"},` +
		`"push":{"changes":[{"new":{"type":"branch","name":"main","target":{"hash":"0123456789abcdef0123456789abcdef01234567"}},"old":null}]}}`
	dcPushBody = `{"eventKey":"repo:refs_changed","repository":{"slug":"infra","project":{"key":"PLAT"}},` +
		`"changes":[{"ref":{"id":"refs/heads/main","displayId":"main","type":"BRANCH"},"refId":"refs/heads/main",` +
		`"fromHash":"0000000000000000000000000000000000000000","toHash":"0123456789abcdef0123456789abcdef01234567","type":"UPDATE"}]}`
)

// delivery is one webhook request as Bitbucket would send it.
type delivery struct {
	body      string
	event     string
	requestID string
	attempt   int
	signWith  string // "" = unsigned
	signature string // overrides signWith
}

func (h hookTarget) push(requestID string) delivery {
	if h.provider == "bitbucket_cloud" {
		return delivery{body: cloudPushBody, event: "repo:push", requestID: requestID, signWith: h.secret}
	}
	return delivery{body: dcPushBody, event: "repo:refs_changed", requestID: requestID, signWith: h.secret}
}

func (h hookTarget) send(t testing.TB, d delivery) (int, string) {
	t.Helper()
	return h.sendTo(t, h.url, d)
}

func (h hookTarget) sendTo(t testing.TB, url string, d delivery) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Event-Key", d.event)
	if h.provider == "bitbucket_cloud" {
		req.Header.Set("X-Request-UUID", d.requestID)
		req.Header.Set("X-Attempt-Number", fmt.Sprint(max(d.attempt, 1)))
	} else {
		req.Header.Set("X-Request-Id", d.requestID)
	}
	switch {
	case d.signature != "":
		req.Header.Set("X-Hub-Signature", d.signature)
	case d.signWith != "":
		req.Header.Set("X-Hub-Signature", bitbucket.Sign(bitbucket.Secret(d.signWith), []byte(d.body)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// tableCount counts rows straight from the server's SQLite file.
func tableCount(t testing.TB, inst *servertest.Instance, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", inst.DBPath+"?_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func metricValue(t testing.TB, c *client, series string) string {
	t.Helper()
	_, body := c.do(http.MethodGet, "/metrics", nil)
	for _, line := range strings.Split(string(body), "\n") {
		if value, ok := strings.CutPrefix(line, series+" "); ok {
			return value
		}
	}
	return "0"
}

func TestWebhookRejectionsStoreNothing(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	targets := []hookTarget{
		newHookTarget(t, c, with(cloudBody("cloud-hooks", "root", "tok"), "space_id", nil, "is_default", true)),
		newHookTarget(t, c, with(dcBody("dc-hooks", "root", "tok"), "space_id", nil, "is_default", true)),
	}
	for _, h := range targets {
		t.Run(h.provider, func(t *testing.T) {
			good := h.push("req-1")
			otherSecret := strings.Repeat("ab", 32)
			cases := []struct {
				name   string
				url    string
				d      delivery
				status int
				code   string
			}{
				{"unknown integration", strings.TrimSuffix(h.url, "-hooks") + "-nope", good, 404, "not_found"},
				{"unsigned", h.url, delivery{body: good.body, event: good.event, requestID: "r-unsigned"}, 401, "unauthenticated"},
				{"signed with another secret", h.url, delivery{body: good.body, event: good.event, requestID: "r-other", signWith: otherSecret}, 401, "unauthenticated"},
				{"signature of another body", h.url, delivery{body: good.body, event: good.event, requestID: "r-x",
					signature: bitbucket.Sign(bitbucket.Secret(h.secret), []byte(good.body+" "))}, 401, "unauthenticated"},
				{"github header form", h.url, delivery{body: good.body, event: good.event, requestID: "r-gh",
					signature: "sha1=" + strings.Repeat("0", 40)}, 401, "unauthenticated"},
				{"malformed JSON", h.url, delivery{body: `{"repository":`, event: good.event, requestID: "r-json", signWith: h.secret}, 400, "invalid_argument"},
				{"not an object", h.url, delivery{body: `[1,2]`, event: good.event, requestID: "r-arr", signWith: h.secret}, 400, "invalid_argument"},
				{"no repository", h.url, delivery{body: `{"actor":{}}`, event: good.event, requestID: "r-shape", signWith: h.secret}, 400, "invalid_argument"},
				{"push without changes", h.url, delivery{body: `{"repository":{"full_name":"acme/infra","slug":"infra","project":{"key":"PLAT"}}}`,
					event: good.event, requestID: "r-nochanges", signWith: h.secret}, 400, "invalid_argument"},
				{"no event key", h.url, delivery{body: good.body, requestID: "r-noevent", signWith: h.secret}, 400, "invalid_argument"},
				{"over 1 MiB", h.url, delivery{body: `{"pad":"` + strings.Repeat("x", 1<<20) + `"}`, event: good.event, requestID: "r-big", signWith: h.secret}, 413, "invalid_argument"},
			}
			for _, tc := range cases {
				status, body := h.sendTo(t, tc.url, tc.d)
				if status != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) {
					t.Errorf("%s: got %d %s, want %d %s", tc.name, status, body, tc.status, tc.code)
				}
				if strings.Contains(body, h.secret) {
					t.Errorf("%s: the answer contains the webhook secret", tc.name)
				}
			}
		})
	}
	if n := tableCount(t, inst, "webhook_deliveries"); n != 0 {
		t.Errorf("rejected deliveries stored %d rows", n)
	}
	if n := tableCount(t, inst, "jobs"); n != 0 {
		t.Errorf("rejected deliveries queued %d jobs", n)
	}
	for _, p := range []string{"bitbucket_cloud", "bitbucket_datacenter"} {
		series := `orbit_webhook_deliveries_total{outcome="bad_signature",provider="` + p + `"}`
		if got := metricValue(t, c, series); got != "4" {
			t.Errorf("%s = %s, want 4", series, got)
		}
	}
}

func TestWebhookDataCenterPing(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	h := newHookTarget(t, c, dcBody("dc-ping", "root", "tok"))
	status, body := h.send(t, delivery{body: `{"test": true}`, event: "diagnostics:ping", requestID: "ping-1"})
	if status != http.StatusOK || !strings.Contains(body, "pong") {
		t.Fatalf("ping: %d %s", status, body)
	}
	// Cloud has no ping: the same request there is an unsigned delivery.
	cloudHook := newHookTarget(t, c, cloudBody("cloud-ping", "root", "tok"))
	if status, body := cloudHook.send(t, delivery{body: `{"test": true}`, event: "diagnostics:ping", requestID: "ping-2"}); status != http.StatusUnauthorized {
		t.Fatalf("cloud ping: %d %s", status, body)
	}
	if n := tableCount(t, inst, "webhook_deliveries"); n != 0 {
		t.Errorf("ping stored %d deliveries", n)
	}
}

func TestWebhookDedupe(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.PauseQueue = true }))
	c := newClient(t, inst, inst.AdminKey)
	cloudHook := newHookTarget(t, c, cloudBody("cloud-dedupe", "root", "tok"))
	dcHook := newHookTarget(t, c, dcBody("dc-dedupe", "root", "tok"))

	for _, h := range []hookTarget{cloudHook, dcHook} {
		d := h.push("same-request")
		if status, body := h.send(t, d); status != http.StatusAccepted || !strings.Contains(body, `"accepted"`) {
			t.Fatalf("%s first delivery: %d %s", h.provider, status, body)
		}
		if status, body := h.send(t, d); status != http.StatusOK || !strings.Contains(body, `"duplicate"`) {
			t.Fatalf("%s repeated delivery: %d %s", h.provider, status, body)
		}
	}
	// Bitbucket Cloud's own retries: same X-Request-UUID, higher X-Attempt-Number.
	retry := cloudHook.push("same-request")
	for attempt := 2; attempt <= 3; attempt++ {
		retry.attempt = attempt
		if status, body := cloudHook.send(t, retry); status != http.StatusOK || !strings.Contains(body, `"duplicate"`) {
			t.Fatalf("cloud attempt %d: %d %s", attempt, status, body)
		}
	}
	// The same request id on another integration is another delivery.
	other := newHookTarget(t, c, cloudBody("cloud-dedupe-2", "root", "tok"))
	if status, body := other.send(t, other.push("same-request")); status != http.StatusAccepted {
		t.Fatalf("other integration: %d %s", status, body)
	}
	if n := tableCount(t, inst, "webhook_deliveries"); n != 3 {
		t.Errorf("stored %d deliveries, want 3", n)
	}
	if n := tableCount(t, inst, "jobs"); n != 3 {
		t.Errorf("queued %d jobs, want 3", n)
	}
}

func TestWebhookGroupCommit(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.PauseQueue = true }))
	c := newClient(t, inst, inst.AdminKey)
	h := newHookTarget(t, c, cloudBody("cloud-burst", "root", "tok"))
	const n = 64
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half of them repeat an earlier request id, so duplicates meet in one batch.
			statuses[i], _ = h.send(t, h.push(fmt.Sprintf("burst-%d", i%(n/2))))
		}()
	}
	wg.Wait()
	accepted, dupes := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusAccepted:
			accepted++
		case http.StatusOK:
			dupes++
		default:
			t.Errorf("status %d", s)
		}
	}
	if accepted != n/2 || dupes != n/2 {
		t.Errorf("accepted %d, duplicates %d; want %d each", accepted, dupes, n/2)
	}
	if got := tableCount(t, inst, "webhook_deliveries"); got != n/2 {
		t.Errorf("stored %d deliveries, want %d", got, n/2)
	}
}

func TestWebhookSecretRotationGrace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		grace        time.Duration
		oldAccepted  bool
		wantSecretAs string
	}{
		{"default grace", 0, true, store.SecretPrevious},
		{"no grace", -1, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
				c.PauseQueue = true
				c.WebhookSecretGrace = tc.grace
			}))
			c := newClient(t, inst, inst.AdminKey)
			h := newHookTarget(t, c, dcBody("dc-rotate", "root", "tok"))
			// Warm the receiver's cache with the old secret first.
			if status, body := h.send(t, h.push("before")); status != http.StatusAccepted {
				t.Fatalf("before rotation: %d %s", status, body)
			}
			rotated := c.must(http.MethodPost, "/api/v1/integrations/"+h.id+"/rotate-secret", nil, http.StatusOK)
			newSecret := str(rotated, "webhook_secret")
			if newSecret == "" || newSecret == h.secret {
				t.Fatal("rotation did not change the secret")
			}
			status, body := h.send(t, h.push("old-secret"))
			if tc.oldAccepted != (status == http.StatusAccepted) {
				t.Fatalf("old secret after rotation: %d %s", status, body)
			}
			if tc.oldAccepted {
				var ans struct {
					DeliveryID string `json:"delivery_id"`
				}
				_ = json.Unmarshal([]byte(body), &ans)
				d, err := inst.Server.Store().GetDelivery(t.Context(), ans.DeliveryID)
				if err != nil || d.Secret != tc.wantSecretAs {
					t.Fatalf("delivery %q: secret %q, %v; want %q", ans.DeliveryID, d.Secret, err, tc.wantSecretAs)
				}
			}
			fresh := h.push("new-secret")
			fresh.signWith = newSecret
			status, body = h.send(t, fresh)
			if status != http.StatusAccepted {
				t.Fatalf("new secret: %d %s", status, body)
			}
			var ans struct {
				DeliveryID string `json:"delivery_id"`
			}
			_ = json.Unmarshal([]byte(body), &ans)
			if d, err := inst.Server.Store().GetDelivery(t.Context(), ans.DeliveryID); err != nil || d.Secret != store.SecretCurrent {
				t.Fatalf("new-secret delivery: %q %v", d.Secret, err)
			}
		})
	}
}

// TestWebhookResumesAfterRestart: the delivery is acknowledged by a server that stops
// before processing it; the next server on the same database processes it, once.
func TestWebhookResumesAfterRestart(t *testing.T) {
	t.Parallel()
	first := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.PauseQueue = true }))
	c := newClient(t, first, first.AdminKey)
	h := newHookTarget(t, c, cloudBody("cloud-restart", "root", "tok"))
	status, body := h.send(t, h.push("restart-1"))
	if status != http.StatusAccepted {
		t.Fatalf("delivery: %d %s", status, body)
	}
	var ans struct {
		DeliveryID string `json:"delivery_id"`
	}
	_ = json.Unmarshal([]byte(body), &ans)
	first.Stop(t)

	second := servertest.Start(t, servertest.WithDatabase(first.DBPath, first.SecretKey, first.AdminKey))
	d := waitProcessed(t, second, ans.DeliveryID)
	if !strings.Contains(d.Outcome, "main@0123456789abcdef") {
		t.Errorf("outcome %q", d.Outcome)
	}
	if n := tableCount(t, second, "jobs"); n != 0 {
		t.Errorf("%d jobs left", n)
	}
}

func waitProcessed(t *testing.T, inst *servertest.Instance, deliveryID string) store.Delivery {
	t.Helper()
	var d store.Delivery
	testwait.For(t, 90*time.Second, "delivery "+deliveryID+" processed", func() bool {
		var err error
		d, err = inst.Server.Store().GetDelivery(t.Context(), deliveryID)
		if err != nil {
			t.Fatal(err)
		}
		return !d.ProcessedAt.IsZero()
	})
	return d
}
