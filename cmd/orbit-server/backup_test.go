package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
)

// A backup taken while the server runs restores into a server that opens the
// stored credentials; the same copy without its key file does not start.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	live := t.TempDir()
	adminKey, _, _, err := server.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ORBIT_BOOTSTRAP_KEY": adminKey}
	srv, _ := start(t, live, vars)
	in := api(t, srv, adminKey, http.MethodPost, "/api/v1/integrations?check_credentials=false", map[string]any{
		"provider": "bitbucket_cloud", "name": "cloud", "is_default": true, "email": "dev@example.com", "api_token": "token-1",
	})
	id, secret := in["id"].(string), in["webhook_secret"].(string)

	// Online: the server is still open, and writes after the copy are not in it.
	backupDir := t.TempDir()
	copyPath := filepath.Join(backupDir, "orbit-backup.db")
	var stdout, stderr bytes.Buffer
	if code := backup(context.Background(), []string{"--to", copyPath}, env(map[string]string{"ORBIT_DB": filepath.Join(live, "orbit.db")}), &stdout, &stderr); code != 0 {
		t.Fatalf("backup exit %d: %s", code, stderr.String())
	}
	api(t, srv, adminKey, http.MethodPost, "/api/v1/spaces", map[string]any{"name": "after-backup", "parent_space_id": "root"})
	for _, p := range []string{copyPath, copyPath + ".key"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v; want a 0600 file", p, err, fi)
		}
	}
	if code := backup(context.Background(), []string{"--to", copyPath, "--db", filepath.Join(live, "orbit.db")}, env(nil), io.Discard, &stderr); code != 1 {
		t.Fatalf("a backup over an existing file: exit %d, want 1", code)
	}

	// Restore: the copy and its key file in place of the database and <db>.key.
	restored := t.TempDir()
	copyFile(t, copyPath, filepath.Join(restored, "orbit.db"))
	copyFile(t, copyPath+".key", filepath.Join(restored, "orbit.db.key"))
	srv2, out := start(t, restored, vars)
	if out != "" {
		t.Fatalf("the restored server printed %q (a new admin key?)", out)
	}
	hook := api(t, srv2, adminKey, http.MethodGet, "/api/v1/integrations/"+id+"/webhook", nil)
	if hook["webhook_secret"] != secret {
		t.Fatal("the restored server reads another webhook secret")
	}
	spaces := api(t, srv2, adminKey, http.MethodGet, "/api/v1/spaces", nil)
	if raw, _ := json.Marshal(spaces); strings.Contains(string(raw), "after-backup") {
		t.Fatal("the backup holds a space created after it was taken")
	}

	// Without its key file the copy's credentials cannot be opened: the server
	// refuses to start rather than make a new key.
	keyless := t.TempDir()
	copyFile(t, copyPath, filepath.Join(keyless, "orbit.db"))
	cfg, err := configFromArgs([]string{"--db", filepath.Join(keyless, "orbit.db"), "--listen", "127.0.0.1:0"}, env(vars), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := server.New(context.Background(), cfg); err == nil {
		s.Close()
		t.Fatal("a server started on a restored database without its key file")
	}
	if _, err := os.Stat(filepath.Join(keyless, "orbit.db.key")); err == nil {
		t.Fatal("a key file was made for a database that has sealed data")
	}
}

func TestBackupRefusesPostgres(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	code := backup(context.Background(), []string{"--to", filepath.Join(t.TempDir(), "x"), "--db", "postgres://db.internal/orbit"}, env(nil), io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "pg_dump") {
		t.Fatalf("exit %d, %q; want 1 pointing at pg_dump", code, stderr.String())
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}
