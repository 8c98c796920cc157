// Package bbtest holds what the Cloud and Data Center client tests share: a recording
// loopback fake of Bitbucket and a retry policy that keeps retry tests from sleeping.
package bbtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

// FastRetry keeps backoff tiny so retry tests do not sleep.
var FastRetry = bitbucket.RetryPolicy{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRetryAfter: 2 * time.Second}

// Recorded is one request as the fake received it.
type Recorded struct {
	Method      string
	EscapedPath string
	Query       string
	Header      http.Header
	Body        []byte
}

// Fake is an httptest server that records requests and answers with respond, which
// gets the 1-based number of the request.
type Fake struct {
	URL     string
	mu      sync.Mutex
	reqs    []Recorded
	respond func(w http.ResponseWriter, r *http.Request, n int)
}

// NewFake starts a Fake on loopback; it is closed when the test ends.
func NewFake(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *Fake {
	t.Helper()
	f := &Fake{respond: respond}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, Recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
		n := len(f.reqs)
		f.mu.Unlock()
		f.respond(w, r, n)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Requests returns a copy of the requests received so far.
func (f *Fake) Requests() []Recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Recorded(nil), f.reqs...)
}

// WriteJSON answers with status and v as a JSON body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
