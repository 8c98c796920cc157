package server_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// testClock is a clock a test sets by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// --webhook-secret-grace (Config.WebhookSecretGrace): the integration answers when
// the secret a rotation replaced stops verifying (null before any rotation); up to
// that instant the receiver accepts a delivery signed with it, one second later it
// refuses it, while the new secret verifies throughout. The receiver's clock is moved
// by the test; the window is not the 24h default, so the flag's value is what counts.
func TestWebhookSecretGraceWindow(t *testing.T) {
	t.Parallel()
	const grace = 90 * time.Minute
	clock := &testClock{now: time.Now()}
	inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.PauseQueue = true
		c.WebhookSecretGrace = grace
		c.Now = clock.Now
	}))
	c := newClient(t, inst, inst.AdminKey)
	h := newHookTarget(t, c, cloudBody("cloud-grace", "root", "tok"))
	if got, ok := c.must(http.MethodGet, "/api/v1/integrations/"+h.id, nil, http.StatusOK)["previous_webhook_secret_expires_at"]; !ok || got != nil {
		t.Fatalf("before any rotation: previous_webhook_secret_expires_at = %v (present %v), want null", got, ok)
	}
	// Warm the receiver's cache with the old secret first.
	if status, body := h.send(t, h.push("before")); status != http.StatusAccepted {
		t.Fatalf("before rotation: %d %s", status, body)
	}
	rotated := c.must(http.MethodPost, "/api/v1/integrations/"+h.id+"/rotate-secret", nil, http.StatusOK)
	newSecret := str(rotated, "webhook_secret")
	expires, err := time.Parse(time.RFC3339, str(rotated, "previous_webhook_secret_expires_at"))
	if err != nil {
		t.Fatalf("rotate-secret answer: previous_webhook_secret_expires_at: %v", err)
	}
	stored, err := inst.Server.Store().GetIntegration(t.Context(), h.id)
	if err != nil {
		t.Fatal(err)
	}
	if want := stored.WebhookSecretRotatedAt.Add(grace).Truncate(time.Second); !expires.Equal(want) {
		t.Fatalf("previous_webhook_secret_expires_at %v, want the rotation (%v) plus %v: %v", expires, stored.WebhookSecretRotatedAt, grace, want)
	}
	if got := str(c.must(http.MethodGet, "/api/v1/integrations/"+h.id, nil, http.StatusOK), "previous_webhook_secret_expires_at"); got != expires.Format(time.RFC3339) {
		t.Fatalf("GET shows previous_webhook_secret_expires_at %q, the rotation answered %v", got, expires)
	}

	signedNew := func(id string) delivery {
		d := h.push(id)
		d.signWith = newSecret
		return d
	}
	for _, step := range []struct {
		name      string
		at        time.Time
		oldStatus int
	}{
		{"right after the rotation", stored.WebhookSecretRotatedAt, http.StatusAccepted},
		{"at the shown expiry", expires, http.StatusAccepted},
		{"a second after it", expires.Add(time.Second), http.StatusUnauthorized},
		{"a day later", expires.Add(24 * time.Hour), http.StatusUnauthorized},
	} {
		clock.set(step.at)
		if status, body := h.send(t, h.push("old "+step.name)); status != step.oldStatus {
			t.Errorf("%s: delivery signed with the previous secret answered %d %s, want %d", step.name, status, body, step.oldStatus)
		}
		if status, body := h.send(t, signedNew("new "+step.name)); status != http.StatusAccepted {
			t.Errorf("%s: delivery signed with the new secret answered %d %s", step.name, status, body)
		}
	}
}
