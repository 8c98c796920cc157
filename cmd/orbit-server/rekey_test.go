package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
)

// api sends one JSON request to srv and decodes the answer.
func api(t *testing.T, srv *server.Server, key, method, path string, body any) map[string]any {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	var reader io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		reader = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, ts.URL+path, reader)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %v %v", method, path, resp.StatusCode, out, err)
	}
	return out
}

// withIntegration starts a server in dir, creates an integration and returns the
// admin key, the integration id and its webhook secret.
func withIntegration(t *testing.T, dir string, vars map[string]string) (adminKey, id, secret string) {
	t.Helper()
	key, _, _, err := server.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"ORBIT_BOOTSTRAP_KEY": key}
	for k, v := range vars {
		all[k] = v
	}
	srv, _ := start(t, dir, all)
	in := api(t, srv, key, http.MethodPost, "/api/v1/integrations?check_credentials=false", map[string]any{
		"provider": "bitbucket_cloud", "name": "cloud", "is_default": true, "email": "dev@example.com", "api_token": "token-1",
	})
	srv.Close()
	return key, in["id"].(string), in["webhook_secret"].(string)
}

func TestRekeyWithKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	adminKey, id, secret := withIntegration(t, dir, nil)
	keyFile := filepath.Join(dir, "orbit.db.key")
	before, _ := os.ReadFile(keyFile)

	var stdout, stderr bytes.Buffer
	// The database named by ORBIT_DB, as the server reads it (--db in the other tests).
	if code := rekey(context.Background(), nil, env(map[string]string{"ORBIT_DB": filepath.Join(dir, "orbit.db")}), &stdout, &stderr); code != 0 {
		t.Fatalf("rekey exit %d: %s", code, stderr.String())
	}
	after, _ := os.ReadFile(keyFile)
	if bytes.Equal(before, after) || len(after) == 0 {
		t.Fatal("the key file still holds the old key")
	}
	if _, err := os.Stat(keyFile + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s.new left behind: %v", keyFile, err)
	}
	if !strings.Contains(stdout.String(), "Re-sealed") {
		t.Errorf("output: %q", stdout.String())
	}
	// The server starts on the new key and reads the same secret.
	srv, _ := start(t, dir, map[string]string{"ORBIT_BOOTSTRAP_KEY": adminKey})
	hook := api(t, srv, adminKey, http.MethodGet, "/api/v1/integrations/"+id+"/webhook", nil)
	if hook["webhook_secret"] != secret {
		t.Fatalf("webhook secret after rekey differs")
	}
}

func TestRekeyWithEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	oldKey := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	newKey := "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	adminKey, id, secret := withIntegration(t, dir, map[string]string{"ORBIT_SECRET_KEY": oldKey})
	db := filepath.Join(dir, "orbit.db")

	// A wrong old key changes nothing.
	var stderr bytes.Buffer
	wrong := map[string]string{"ORBIT_SECRET_KEY": newKey, "ORBIT_NEW_SECRET_KEY": oldKey}
	if code := rekey(context.Background(), []string{"--db", db}, env(wrong), io.Discard, &stderr); code == 0 || !strings.Contains(stderr.String(), "does not match") {
		t.Fatalf("rekey with a wrong old key: exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := rekey(context.Background(), []string{"--db", db}, env(map[string]string{"ORBIT_SECRET_KEY": oldKey, "ORBIT_NEW_SECRET_KEY": newKey}), io.Discard, &stderr); code != 0 {
		t.Fatalf("rekey exit %d: %s", code, stderr.String())
	}
	cfg, err := configFromArgs([]string{"--db", db}, env(map[string]string{"ORBIT_SECRET_KEY": oldKey}), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.New(context.Background(), cfg); !errors.Is(err, server.ErrKeyMismatch) {
		t.Fatalf("start with the old key after rekey: %v", err)
	}
	srv, _ := start(t, dir, map[string]string{"ORBIT_SECRET_KEY": newKey, "ORBIT_BOOTSTRAP_KEY": adminKey})
	hook := api(t, srv, adminKey, http.MethodGet, "/api/v1/integrations/"+id+"/webhook", nil)
	if hook["webhook_secret"] != secret {
		t.Fatalf("webhook secret after rekey differs")
	}
}
