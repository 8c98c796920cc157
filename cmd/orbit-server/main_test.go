package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

var printedKey = regexp.MustCompile(`orbit_k_[a-z0-9]+_[A-Za-z0-9_-]{43}`)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// start builds the Config exactly as main does and opens the server on it.
func start(t *testing.T, dir string, vars map[string]string) (*server.Server, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cfg, err := configFromArgs([]string{"--db", filepath.Join(dir, "orbit.db"), "--listen", "127.0.0.1:0"}, env(vars), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, stdout.String()
}

func status(t *testing.T, srv *server.Server, key string) int {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/api-keys", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBootstrapPrintsKeyOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, out := start(t, dir, nil)
	keys := printedKey.FindAllString(out, -1)
	if len(keys) != 1 {
		t.Fatalf("first start printed %d keys: %q", len(keys), out)
	}
	if got := status(t, srv, keys[0]); got != http.StatusOK {
		t.Fatalf("printed key answers %d, want 200", got)
	}
	srv.Close()
	if _, err := os.Stat(filepath.Join(dir, "orbit.db.key")); err != nil {
		t.Fatalf("key file not created: %v", err)
	}

	// Second start on the same directory: nothing printed, same key still works,
	// same secret key read back from the key file.
	srv2, out2 := start(t, dir, nil)
	if out2 != "" {
		t.Fatalf("second start printed %q", out2)
	}
	if got := status(t, srv2, keys[0]); got != http.StatusOK {
		t.Fatalf("key from first start answers %d after restart", got)
	}
}

func TestBootstrapFromEnvironment(t *testing.T) {
	t.Parallel()
	key, _, _, err := server.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, out := start(t, t.TempDir(), map[string]string{
		"ORBIT_BOOTSTRAP_KEY": key,
		"ORBIT_SECRET_KEY":    "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	})
	if out != "" {
		t.Fatalf("start with ORBIT_BOOTSTRAP_KEY printed %q", out)
	}
	if got := status(t, srv, key); got != http.StatusOK {
		t.Fatalf("ORBIT_BOOTSTRAP_KEY answers %d", got)
	}

	var stdout, stderr bytes.Buffer
	cfg, err := configFromArgs([]string{"--db", filepath.Join(t.TempDir(), "x.db")}, env(map[string]string{"ORBIT_BOOTSTRAP_KEY": "not-a-key-but-long-enough-to-look-random-0123456789"}), &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.New(context.Background(), cfg); err == nil || strings.Contains(err.Error(), "not-a-key") {
		t.Fatalf("bad bootstrap key: err = %v", err)
	}
}

func TestConfigFromArgs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, err := configFromArgs([]string{"--db", filepath.Join(dir, "o.db")}, env(nil), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8700" || cfg.PublicURL != "http://127.0.0.1:8700" || cfg.SecretKey != nil || cfg.SecretKeyFile != filepath.Join(dir, "o.db.key") {
		t.Errorf("defaults: listen %q public %q key %d bytes, key file %q", cfg.Listen, cfg.PublicURL, len(cfg.SecretKey), cfg.SecretKeyFile)
	}
	cfg, err = configFromArgs([]string{"--db", filepath.Join(dir, "o.db"), "--public-url", "https://orbit.example.com"}, env(nil), io.Discard, io.Discard)
	if err != nil || cfg.PublicURL != "https://orbit.example.com" {
		t.Errorf("--public-url: %q, %v", cfg.PublicURL, err)
	}
	secret := "c2VjcmV0LWtleS10aGF0LWlzLXRvby1zaG9ydA=="
	_, err = configFromArgs([]string{"--db", filepath.Join(dir, "p.db")}, env(map[string]string{"ORBIT_SECRET_KEY": secret}), io.Discard, io.Discard)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("short ORBIT_SECRET_KEY: err = %v", err)
	}
	if _, err := configFromArgs([]string{"--nope"}, env(nil), io.Discard, io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
}

// TestRunShutsDownWhenContextEnds runs the real listener and stops it by cancelling
// the context, as SIGTERM does in main.
func TestRunShutsDownWhenContextEnds(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := configFromArgs([]string{"--db", filepath.Join(t.TempDir(), "o.db"), "--listen", addr, "--shutdown-delay", "0"}, env(nil), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg) }()
	// Wait until it serves (or Run fails first).
	testwait.For(t, time.Minute, "orbit-server to serve /healthz", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Run returned before serving: %v", err)
		default:
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

// A key file deleted next to a database that holds sealed data is not replaced by a
// new key (which would open none of it): the server refuses to start and says what
// to do. Before, a new key was created silently and the server reported ready.
func TestDeletedKeyFileIsNotRecreated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, _ := start(t, dir, nil)
	srv.Close()
	keyFile := filepath.Join(dir, "orbit.db.key")
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	cfg, err := configFromArgs([]string{"--db", filepath.Join(dir, "orbit.db")}, env(nil), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, err = server.New(context.Background(), cfg)
	if !errors.Is(err, server.ErrKeyMismatch) || !strings.Contains(err.Error(), "Restore the key file") {
		t.Fatalf("start without the key file: err = %v", err)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a new key file was created: %v", err)
	}
}

// Another ORBIT_SECRET_KEY than the database's is refused at start.
func TestOtherSecretKeyIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	srv, _ := start(t, dir, map[string]string{"ORBIT_SECRET_KEY": first})
	srv.Close()
	second := "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	cfg, err := configFromArgs([]string{"--db", filepath.Join(dir, "orbit.db")}, env(map[string]string{"ORBIT_SECRET_KEY": second}), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, err = server.New(context.Background(), cfg)
	if !errors.Is(err, server.ErrKeyMismatch) || strings.Contains(err.Error(), second) {
		t.Fatalf("start with another key: err = %v", err)
	}
}

// The first signal starts the graceful shutdown; the second exits at once.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal, 2)
	cancelled, exited := make(chan struct{}), make(chan struct{})
	go watchSignals(sigs, func() { close(cancelled) }, func() { close(exited) })
	sigs <- syscall.SIGTERM
	<-cancelled
	select {
	case <-exited:
		t.Fatal("exited on the first signal")
	default:
	}
	sigs <- syscall.SIGTERM
	<-exited
}

func TestShutdownFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, err := configFromArgs([]string{"--db", filepath.Join(dir, "o.db")}, env(nil), io.Discard, io.Discard)
	if err != nil || cfg.ShutdownDelay != server.DefaultShutdownDelay || cfg.DrainTimeout != server.DefaultDrainTimeout {
		t.Fatalf("defaults: delay %s drain %s, %v", cfg.ShutdownDelay, cfg.DrainTimeout, err)
	}
	cfg, err = configFromArgs([]string{"--db", filepath.Join(dir, "o.db"), "--shutdown-delay", "0"}, env(nil), io.Discard, io.Discard)
	if err != nil || cfg.ShutdownDelay >= 0 {
		t.Fatalf("--shutdown-delay 0: %s, %v", cfg.ShutdownDelay, err)
	}
	if _, err := configFromArgs([]string{"--db", filepath.Join(dir, "o.db"), "--shutdown-delay", "-1s"}, env(nil), io.Discard, io.Discard); err == nil {
		t.Fatal("a negative --shutdown-delay is accepted")
	}
}
