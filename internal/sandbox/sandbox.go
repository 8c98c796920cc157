// Package sandbox is an in-memory stand-in for Bitbucket Cloud REST 2.0 and Bitbucket
// Data Center REST, served on one port under their real paths, with a control API under
// /_sandbox/ to seed data, fire webhook deliveries and inject faults. See CONTROL.md.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config tunes a Server. The zero value is usable.
type Config struct {
	// BaseURL is the public URL used in absolute links (Cloud `next`, `links`).
	// Empty: derived from each request's Host.
	BaseURL string
	// DeliveryTimeout bounds each delivery attempt; 0 means 10s, Bitbucket's timeout.
	DeliveryTimeout time.Duration
	// DeliveryClient sends webhook deliveries; nil means a plain client with DeliveryTimeout.
	DeliveryClient *http.Client
	// Logger receives one line per request; nil discards. Credentials are never logged.
	Logger *slog.Logger
	// CloudRetryDelay is the wait before Cloud's first retry of a failed delivery, doubled
	// before the second; 0 means 2s. Bitbucket Cloud spaces retries out.
	CloudRetryDelay time.Duration
}

// Server is the sandbox; it is an http.Handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	api     *http.ServeMux
	control *http.ServeMux
	client  *http.Client

	mu     sync.Mutex
	state  *state
	faults *faultTable
	reqLog []RequestRecord
	deliv  []Delivery
}

// RequestRecord is one API request seen by the sandbox (control calls excluded).
type RequestRecord struct {
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Query  string    `json:"query,omitempty"`
	Status int       `json:"status"`
	At     time.Time `json:"at"`
}

// New returns a sandbox with no data; seed it with Seed or POST /_sandbox/seed.
func New(cfg Config) *Server {
	if cfg.DeliveryTimeout <= 0 {
		cfg.DeliveryTimeout = 10 * time.Second
	}
	if cfg.CloudRetryDelay <= 0 {
		cfg.CloudRetryDelay = 2 * time.Second
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		state:  newState(),
		faults: &faultTable{},
		client: cfg.DeliveryClient,
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: cfg.DeliveryTimeout}
	}
	s.api = http.NewServeMux()
	s.registerCloud(s.api)
	s.registerDataCenter(s.api)
	s.control = http.NewServeMux()
	s.registerControl(s.control)
	return s
}

// ServeHTTP routes control calls directly and API calls through faults and the request log.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sandbox" || strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		s.control.ServeHTTP(w, r)
		return
	}
	// Bitbucket Cloud serves a collection with or without a trailing slash
	// (.../hooks/, /2.0/repositories/acme/); route both forms alike.
	if p := r.URL.Path; strings.HasPrefix(p, "/2.0/") && len(p) > len("/2.0/") && strings.HasSuffix(p, "/") {
		r = r.Clone(r.Context())
		r.URL.Path = strings.TrimSuffix(p, "/")
		r.URL.RawPath = strings.TrimSuffix(r.URL.RawPath, "/")
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if !s.applyFault(rec, r) {
		s.api.ServeHTTP(rec, r)
	}
	s.mu.Lock()
	s.reqLog = append(s.reqLog, RequestRecord{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status, At: time.Now().UTC()})
	s.mu.Unlock()
	s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status)
}

// Requests returns the API requests served so far, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestRecord(nil), s.reqLog...)
}

// Reset drops all state: data, hooks, statuses, deliveries, faults and the request log.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = newState()
	s.faults = &faultTable{}
	s.reqLog = nil
	s.deliv = nil
}

func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// TestServer is a sandbox listening on loopback for one test.
type TestServer struct {
	*Server
	URL string
}

// StartTest starts a sandbox on 127.0.0.1:0 and stops it when the test ends.
func StartTest(t testing.TB) *TestServer {
	t.Helper()
	return StartTestWith(t, Config{})
}

// StartTestWith is StartTest with a Config; cfg.BaseURL is set to the listener's URL.
func StartTestWith(t testing.TB, cfg Config) *TestServer {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	cfg.BaseURL = "http://" + hs.Listener.Addr().String()
	srv := New(cfg)
	hs.Config.Handler = srv
	hs.Start()
	t.Cleanup(hs.Close)
	return &TestServer{Server: srv, URL: hs.URL}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// newUUID returns a random RFC 4122 version 4 UUID without braces.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func braced(uuid string) string {
	if strings.HasPrefix(uuid, "{") {
		return uuid
	}
	return "{" + uuid + "}"
}

//nolint:unparam // n is the byte count, kept visible at each call site
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

type needKey struct{}

// withNeed carries the scopes a Cloud route needs down to the handler, which checks
// them once the resource is known (Bitbucket answers 404 before it complains about scope).
func withNeed(ctx context.Context, scopes []string) context.Context {
	return context.WithValue(ctx, needKey{}, scopes)
}

func needFrom(ctx context.Context) []string {
	scopes, _ := ctx.Value(needKey{}).([]string)
	return scopes
}

// uuidFrom derives a stable UUID-shaped string from a name.
func uuidFrom(name string) string {
	sum := sha256.Sum256([]byte(name))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
