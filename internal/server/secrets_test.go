package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlite"
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoSecretLeaks runs a full scenario with logs captured and asserts that no
// credential, webhook secret or API key appears in any log line, that no credential
// appears in any response, and that webhook secrets reach admins only.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	checker := &fakeChecker{rejections: map[string]server.CredentialCheck{
		"cloud-token-REJECTED-9f3": {Valid: false, Reason: server.CheckBadCredentials, Message: "Bitbucket answered 401"},
	}}
	inst := servertest.Start(t,
		servertest.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		servertest.WithCredentialChecker(checker))
	admin := newClient(t, inst, inst.AdminKey)
	admin.check = openAPIChecker(t)
	space := inst.NewSpace(t, "platform", "root", false)
	readerKey := inst.NewKey(t, "reader", servertest.Read("root"), servertest.Read(space))
	reader := newClient(t, inst, readerKey)
	reader.check = openAPIChecker(t)

	credentials := []string{
		"cloud-token-7c1e2a", "cloud-token-REJECTED-9f3", "app-password-5d8b0c", "dc-token-e41f77", "dc-token-rotated-0a9",
		"wrong-type-token-31b",
	}
	cloud := admin.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", space, credentials[0]), http.StatusCreated)
	admin.wantError(http.MethodPost, "/api/v1/integrations", cloudBody("rejected", space, credentials[1]), http.StatusBadRequest, "invalid_argument", "api_token")
	legacy := admin.must(http.MethodPost, "/api/v1/integrations", map[string]any{
		"provider": "bitbucket_cloud", "name": "legacy", "is_default": true, "username": "dev", "app_password": credentials[2],
	}, http.StatusCreated)
	dc := admin.must(http.MethodPost, "/api/v1/integrations", dcBody("dc", space, credentials[3]), http.StatusCreated)
	admin.must(http.MethodPut, "/api/v1/integrations/"+str(dc, "id"), with(dcBody("dc", space, credentials[4]), "provider", nil), http.StatusOK)
	// A credential in a wrongly typed or unknown field must not echo back either.
	admin.wantError(http.MethodPost, "/api/v1/integrations", `{"provider":"bitbucket_cloud","name":"x","space_id":"root","email":"a@b.co","api_token":["`+credentials[5]+`"]}`, http.StatusBadRequest, "invalid_argument", "api_token")
	admin.wantError(http.MethodPost, "/api/v1/integrations", `{"provider":"bitbucket_cloud","name":"x","space_id":"root","email":"a@b.co","token":"`+credentials[5]+`"}`, http.StatusBadRequest, "invalid_argument", "token")
	admin.wantError(http.MethodPost, "/api/v1/integrations", `{"provider":"bitbucket_cloud","name":"x","space_id":"root","email":"`+credentials[5]+`","api_token":"t"}`, http.StatusBadRequest, "invalid_argument", "email")
	rotated := admin.must(http.MethodPost, "/api/v1/integrations/"+str(cloud, "id")+"/rotate-secret", nil, http.StatusOK)
	for _, in := range []map[string]any{cloud, legacy, dc} {
		admin.must(http.MethodGet, "/api/v1/integrations/"+str(in, "id")+"/webhook", nil, http.StatusOK)
		admin.must(http.MethodPost, "/api/v1/integrations/"+str(in, "id")+"/validate", nil, http.StatusOK)
		reader.must(http.MethodGet, "/api/v1/integrations/"+str(in, "id"), nil, http.StatusOK)
		reader.wantError(http.MethodGet, "/api/v1/integrations/"+str(in, "id")+"/webhook", nil, http.StatusForbidden, "permission_denied", "")
	}
	admin.must(http.MethodGet, "/api/v1/integrations", nil, http.StatusOK)
	reader.must(http.MethodGet, "/api/v1/integrations", nil, http.StatusOK)
	reader.wantError(http.MethodPost, "/api/v1/integrations/"+str(cloud, "id")+"/rotate-secret", nil, http.StatusForbidden, "permission_denied", "")
	// Requests with bad keys are logged too.
	bad := newClient(t, inst, inst.AdminKey[:len(inst.AdminKey)-3]+"xyz")
	bad.wantError(http.MethodGet, "/api/v1/spaces", nil, http.StatusUnauthorized, "unauthenticated", "")

	webhookSecrets := []string{str(cloud, "webhook_secret"), str(rotated, "webhook_secret"), str(legacy, "webhook_secret"), str(dc, "webhook_secret")}
	for _, s := range webhookSecrets {
		if len(s) != 64 {
			t.Fatalf("admin did not receive a webhook secret: %q", s)
		}
	}
	apiKeys := []string{inst.AdminKey, readerKey, inst.AdminKey[:len(inst.AdminKey)-3] + "xyz"}
	var apiKeySecrets []string
	for _, k := range apiKeys {
		apiKeySecrets = append(apiKeySecrets, k[len(k)-43:])
	}

	logText := logs.String()
	lines := strings.Split(strings.TrimSpace(logText), "\n")
	if len(lines) < 20 {
		t.Fatalf("only %d log lines captured", len(lines))
	}
	for _, line := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if entry["msg"] == "http request" {
			for _, key := range []string{"request_id", "method", "path", "status", "duration_ms"} {
				if _, ok := entry[key]; !ok {
					t.Errorf("log line lacks %s: %s", key, line)
				}
			}
		}
	}
	if !strings.Contains(logText, `"key_id":"k_`) {
		t.Error("no log line names the key id")
	}
	for _, secret := range append(append(append([]string{}, credentials...), webhookSecrets...), apiKeySecrets...) {
		if strings.Contains(logText, secret) {
			t.Errorf("a log line contains the secret %q", secret)
		}
	}
	for _, body := range admin.responses() {
		for _, cred := range credentials {
			if strings.Contains(body, cred) {
				t.Errorf("a response contains the credential %q: %s", cred, body)
			}
		}
	}
	for _, body := range append(reader.responses(), bad.responses()...) {
		for _, secret := range append(append(append([]string{}, credentials...), webhookSecrets...), apiKeySecrets...) {
			if strings.Contains(body, secret) {
				t.Errorf("a non-admin response contains the secret %q: %s", secret, body)
			}
		}
	}
}

// TestSecretsEncryptedAtRest reads the raw database files: neither the credential nor
// the webhook secret nor the API key may appear in them.
func TestSecretsEncryptedAtRest(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	const token = "plaintext-token-4f0c9e1d"
	created := c.must(http.MethodPost, "/api/v1/integrations", dcBody("dc", "root", token), http.StatusCreated)
	secret := str(created, "webhook_secret")
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
	if !bytes.Contains(all, []byte("bitbucket.example.com")) {
		t.Fatal("database files do not hold the integration at all; the check would prove nothing")
	}
	for _, s := range []string{token, secret, inst.AdminKey[len(inst.AdminKey)-43:]} {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("database files contain %q in clear", s)
		}
	}
}

// TestSealedSecretsBoundToIntegrationID replays the sealed credential and webhook
// secret of a deleted integration into a later one of the same provider and name.
// They were sealed to the first integration's id, so the server must refuse them
// with an internal error (which says to rotate a webhook secret, and nothing else), or
// leave the secret out of a read with a warning, never using or returning the old
// plaintext.
func TestSealedSecretsBoundToIntegrationID(t *testing.T) {
	t.Parallel()
	checker := &fakeChecker{}
	inst := servertest.Start(t, servertest.WithCredentialChecker(checker))
	c := newClient(t, inst, inst.AdminKey)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, inst.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	const oldToken, newToken = "token-of-deleted-a-51c0", "token-of-b-77e2"
	a := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("main", "root", oldToken), http.StatusCreated)
	stored, err := db.GetIntegration(ctx, str(a, "id"))
	if err != nil {
		t.Fatal(err)
	}
	c.must(http.MethodDelete, "/api/v1/integrations/"+str(a, "id"), nil, http.StatusNoContent)
	b := c.must(http.MethodPost, "/api/v1/integrations", cloudBody("main", "root", newToken), http.StatusCreated)
	bPath := "/api/v1/integrations/" + str(b, "id")
	if str(b, "id") == str(a, "id") {
		t.Fatalf("recreated integration reuses id %q", str(a, "id"))
	}
	// Control: B's own sealed values open, so the failures below come from the replay.
	c.must(http.MethodGet, bPath+"/webhook", nil, http.StatusOK)
	c.must(http.MethodPost, bPath+"/validate", nil, http.StatusOK)

	current, err := db.GetIntegration(ctx, str(b, "id"))
	if err != nil {
		t.Fatal(err)
	}
	current.SealedCredential = stored.SealedCredential
	if _, err := db.UpdateIntegration(ctx, current); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetWebhookSecret(ctx, current.ID, stored.SealedWebhookSecret); err != nil {
		t.Fatal(err)
	}

	calls, before := checker.callCount(), len(c.responses())
	tests := []struct {
		name, method, path, message string
	}{
		{"validate opens the credential", http.MethodPost, bPath + "/validate", "internal error"},
		{"update without a credential re-checks the stored one", http.MethodPut, bPath, "internal error"},
		{"webhook opens the secret", http.MethodGet, bPath + "/webhook",
			"the webhook secret of this integration cannot be opened with the server's secret key; rotate it (POST /api/v1/integrations/{id}/rotate-secret)"},
	}
	for _, tc := range tests {
		var body any
		if tc.method == http.MethodPut {
			body = with(cloudBody("main", "root", ""), "api_token", nil, "provider", nil)
		}
		msg := c.wantError(tc.method, tc.path, body, http.StatusInternalServerError, "internal", "")
		if msg != tc.message {
			t.Errorf("%s: message %q, want %q", tc.name, msg, tc.message)
		}
	}
	got := c.must(http.MethodGet, bPath, nil, http.StatusOK)
	if got["webhook_secret"] != nil || !hasWarning(got) {
		t.Errorf("get of an integration whose secret does not open: %v", got)
	}
	if n := checker.callCount(); n != calls {
		t.Errorf("the checker was called %d more times with a credential that must not open", n-calls)
	}
	for _, body := range c.responses()[before:] {
		for _, s := range []string{oldToken, str(a, "webhook_secret")} {
			if strings.Contains(body, s) {
				t.Errorf("a response contains the deleted integration's secret %q: %s", s, body)
			}
		}
	}
}
