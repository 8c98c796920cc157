package server_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

func randomKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return key
}

// restart opens a server on inst's database with key, as a restart would.
func restart(t *testing.T, inst *servertest.Instance, key []byte) (*server.Server, error) {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{
		DB: inst.DBPath, PublicURL: inst.PublicURL, SecretKey: key, BootstrapKey: inst.AdminKey, BootstrapOut: io.Discard,
	})
	if err == nil {
		t.Cleanup(func() { srv.Close() })
	}
	return srv, err
}

// A server started with another key than the database's refuses to start, saying
// what to do, instead of reporting ready and answering 500 on every secret.
func TestServerRefusesAnotherSecretKey(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	admin.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", space, "cloud-token-1"), http.StatusCreated)
	inst.Stop(t)

	other := randomKey(t)
	_, err := restart(t, inst, other)
	if !errors.Is(err, server.ErrKeyMismatch) {
		t.Fatalf("start with another key: err = %v, want ErrKeyMismatch", err)
	}
	for _, want := range []string{"key check", "rekey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// The right key still starts, and nothing was sealed under the wrong one.
	srv, err := restart(t, inst, inst.SecretKey)
	if err != nil {
		t.Fatalf("start with the right key: %v", err)
	}
	if _, err := srv.Store().KeyCheck(context.Background()); err != nil {
		t.Fatalf("key check: %v", err)
	}
}

// A database from before key checks (sealed data, no key check value) is checked
// against its sealed values: a wrong key is refused, the right one stores the check.
func TestServerChecksKeyAgainstSealedDataWithoutKeyCheck(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	admin.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", space, "cloud-token-1"), http.StatusCreated)
	inst.Stop(t)
	db, err := sql.Open("sqlite", inst.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM key_check`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if _, err := restart(t, inst, randomKey(t)); !errors.Is(err, server.ErrKeyMismatch) || !strings.Contains(err.Error(), "does not open the stored") {
		t.Fatalf("start with another key: err = %v, want ErrKeyMismatch naming a stored value", err)
	}
	srv, err := restart(t, inst, inst.SecretKey)
	if err != nil {
		t.Fatalf("start with the right key: %v", err)
	}
	if _, err := srv.Store().KeyCheck(context.Background()); err != nil {
		t.Fatalf("key check not stored on the first start with the right key: %v", err)
	}
}

// A webhook secret that does not open (a damaged row) fails neither the list nor a
// PUT: before, the PUT answered 500 after committing its change, and the whole list
// answered 500.
func TestUnreadableWebhookSecretFailsNoResponse(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	admin := newClient(t, inst, inst.AdminKey)
	space := inst.NewSpace(t, "platform", "root", false)
	good := admin.must(http.MethodPost, "/api/v1/integrations", cloudBody("good", space, "cloud-token-1"), http.StatusCreated)
	bad := admin.must(http.MethodPost, "/api/v1/integrations", cloudBody("bad", space, "cloud-token-2"), http.StatusCreated)
	damaged := make([]byte, 64)
	damaged[0] = 1
	if _, err := inst.Server.Store().SetWebhookSecret(context.Background(), str(bad, "id"), damaged); err != nil {
		t.Fatal(err)
	}

	updated := admin.must(http.MethodPut, "/api/v1/integrations/"+str(bad, "id"),
		with(cloudBody("bad", space, "cloud-token-2"), "description", "changed"), http.StatusOK)
	if updated["description"] != "changed" || updated["webhook_secret"] != nil || !hasWarning(updated) {
		t.Fatalf("PUT on a damaged row: %v", updated)
	}
	list := admin.must(http.MethodGet, "/api/v1/integrations", nil, http.StatusOK)
	items, _ := list["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("list: %v", list)
	}
	for _, it := range items {
		item, _ := it.(map[string]any)
		switch item["id"] {
		case str(good, "id"):
			if str(item, "webhook_secret") == "" || hasWarning(item) {
				t.Errorf("readable row: %v", item)
			}
		case str(bad, "id"):
			if item["webhook_secret"] != nil || !hasWarning(item) {
				t.Errorf("damaged row: %v", item)
			}
		}
	}
	msg := admin.wantError(http.MethodGet, "/api/v1/integrations/"+str(bad, "id")+"/webhook", nil, http.StatusInternalServerError, "internal", "")
	if !strings.Contains(msg, "rotate") {
		t.Errorf("webhook of a damaged row: %q", msg)
	}
	// Rotation repairs it.
	rotated := admin.must(http.MethodPost, "/api/v1/integrations/"+str(bad, "id")+"/rotate-secret", nil, http.StatusOK)
	if str(rotated, "webhook_secret") == "" || hasWarning(rotated) {
		t.Fatalf("rotate: %v", rotated)
	}
}

// hasWarning reports whether m warns that its webhook secret does not open.
func hasWarning(m map[string]any) bool {
	ws, _ := m["warnings"].([]any)
	for _, w := range ws {
		if s, _ := w.(string); strings.Contains(s, "cannot be opened") {
			return true
		}
	}
	return false
}

// ORBIT_BOOTSTRAP_KEY on a database that already has keys does nothing, and the
// operator is told so.
func TestBootstrapKeyIgnoredIsLogged(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	inst.Stop(t)
	logs := &lockedBuffer{}
	servertest.Start(t, servertest.WithDatabase(inst.DBPath, inst.SecretKey, inst.AdminKey),
		servertest.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"ORBIT_BOOTSTRAP_KEY is set but the database already has API keys`) ||
		!strings.Contains(logs.String(), `"key_installed":true`) {
		t.Fatalf("no warning in the logs:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), inst.AdminKey) {
		t.Fatal("the log holds the key")
	}
}
