package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// orbit-server healthcheck (the Dockerfile's HEALTHCHECK) asks the server's real
// /healthz where the server's own configuration says it listens.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, t.TempDir(), nil)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)

	ctx := context.Background()
	if code := healthcheck(ctx, []string{"--listen", addr}, env(nil), io.Discard, io.Discard); code != 0 {
		t.Errorf("--listen %s: exit %d, want 0", addr, code)
	}
	// As in the image: ORBIT_LISTEN on all interfaces, asked on loopback.
	if code := healthcheck(ctx, nil, env(map[string]string{"ORBIT_LISTEN": "0.0.0.0:" + port}), io.Discard, io.Discard); code != 0 {
		t.Errorf("ORBIT_LISTEN=0.0.0.0:%s: exit %d, want 0", port, code)
	}

	unhealthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer unhealthy.Close()
	var stderr strings.Builder
	if code := healthcheck(ctx, []string{"--listen", strings.TrimPrefix(unhealthy.URL, "http://")}, env(nil), io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "503") {
		t.Errorf("a 503: exit %d (%q), want 1 naming the status", code, stderr.String())
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if code := healthcheck(ctx, []string{"--listen", closed}, env(nil), io.Discard, io.Discard); code != 1 {
		t.Errorf("nothing listening: exit %d, want 1", code)
	}
	if code := healthcheck(ctx, []string{"--listen", "no-port"}, env(nil), io.Discard, io.Discard); code != 2 {
		t.Errorf("--listen without a port: exit %d, want 2", code)
	}
}

func TestHealthURL(t *testing.T) {
	t.Parallel()
	for listen, want := range map[string]string{
		"0.0.0.0:8700":   "http://127.0.0.1:8700/healthz",
		":8700":          "http://127.0.0.1:8700/healthz",
		"[::]:8700":      "http://[::1]:8700/healthz",
		"10.1.2.3:9000":  "http://10.1.2.3:9000/healthz",
		"localhost:8700": "http://localhost:8700/healthz",
	} {
		if got, err := healthURL(listen); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
}
