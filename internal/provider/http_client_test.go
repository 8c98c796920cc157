package provider

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newConnections runs rounds of parallel GETs through hc against a server whose
// handler answers only once all of a round's requests have arrived (so each round
// holds parallel connections open at once), and returns how many connections the
// server accepted.
func newConnections(t *testing.T, hc *http.Client, rounds, parallel int) int64 {
	t.Helper()
	var accepted atomic.Int64
	var mu sync.Mutex
	arrived, release := 0, make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if arrived == parallel {
			arrived = 0
			close(release)
			release = make(chan struct{})
			mu.Unlock()
		} else {
			wait := release
			mu.Unlock()
			select {
			case <-wait:
			case <-time.After(10 * time.Second):
				t.Error("a round's requests did not all arrive")
			}
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	for range rounds {
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				resp, err := hc.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				// Read to EOF: the connection is back in the idle pool when Read returns EOF.
				_, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	return accepted.Load()
}

// Terraform applies 10 resources at once: the provider's client keeps those
// connections for the next resources instead of opening (and, against Bitbucket,
// handshaking) a new one per request. net/http's default keeps 2 per host, so it
// opens 8 more each round; the test shows that difference, then holds ours to it.
func TestHTTPClientKeepsParallelConnections(t *testing.T) {
	const rounds, parallel = 3, 10
	if got := newConnections(t, &http.Client{Transport: &http.Transport{}}, rounds, parallel); got <= parallel {
		t.Fatalf("the default transport opened %d connections for %d rounds of %d: the test no longer shows the difference", got, rounds, parallel)
	}
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	if got := newConnections(t, hc, rounds, parallel); got != parallel {
		t.Errorf("provider client opened %d connections for %d rounds of %d parallel requests, want %d (one per parallel request, kept)", got, rounds, parallel, parallel)
	}
	if hc.Timeout != 60*time.Second {
		t.Errorf("timeout %s, want 60s", hc.Timeout)
	}
}
