// Package servertest starts a real orbit-server on loopback for tests: a temporary
// SQLite database, a known admin key and a real HTTP listener, all cleaned up with
// t.Cleanup.
package servertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
)

// Instance is a running orbit-server.
type Instance struct {
	// URL is the base URL of the server (http://127.0.0.1:port); the API is under URL+"/api/v1".
	URL string
	// AdminKey is an API key with admin on root.
	AdminKey string
	// Server is the running server.
	Server *server.Server
	// PublicURL is what webhook URLs are built from (URL unless WithPublicURL).
	PublicURL string
	// DBPath is the SQLite file.
	DBPath string
	// SecretKey seals the database's secrets; with DBPath and AdminKey it restarts a
	// server on the same data (WithDatabase).
	SecretKey []byte

	stop  func()
	close func() error
}

// Stop shuts the server down now (the test's cleanup then does nothing more), e.g. to
// start another one on the same database.
func (in *Instance) Stop(t testing.TB) {
	t.Helper()
	in.stop()
}

type config struct {
	checker   server.CredentialChecker
	logger    *slog.Logger
	publicURL string
	dbPath    string
	secretKey []byte
	adminKey  string
	tweaks    []func(*server.Config)
}

// Option changes how Start builds the server.
type Option func(*config)

// WithCredentialChecker sets the server's credential checker (default: none).
func WithCredentialChecker(c server.CredentialChecker) Option {
	return func(cfg *config) { cfg.checker = c }
}

// WithLogger sends the server's JSON request logs to l (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.logger = l } }

// WithPublicURL overrides the public URL webhook URLs derive from.
func WithPublicURL(u string) Option { return func(cfg *config) { cfg.publicURL = u } }

// WithDatabase uses (or reuses) the SQLite file at path with the given 32-byte secret
// key and admin key, e.g. to restart a server on the same data.
func WithDatabase(path string, secretKey []byte, adminKey string) Option {
	return func(cfg *config) { cfg.dbPath, cfg.secretKey, cfg.adminKey = path, secretKey, adminKey }
}

// WithConfig lets f change the server.Config just before the server starts (e.g.
// its quotas).
func WithConfig(f func(*server.Config)) Option {
	return func(cfg *config) { cfg.tweaks = append(cfg.tweaks, f) }
}

// WithMaxSpaces sets the space quota (Config.MaxSpaces), for a program that cannot
// name server.Config (nothing but cmd/orbit-server and tests imports the root).
func WithMaxSpaces(n int) Option {
	return WithConfig(func(c *server.Config) { c.MaxSpaces = n })
}

// Start runs an orbit-server on 127.0.0.1 with an ephemeral port until the test ends.
func Start(t testing.TB, opts ...Option) *Instance {
	t.Helper()
	in, err := launch(t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	in.stop = func() {
		if err := in.close(); err != nil {
			t.Errorf("servertest: close server: %v", err)
		}
	}
	t.Cleanup(in.stop)
	return in
}

// Launch is Start for programs (benchmarks): the server's files go to dir (when
// no WithDatabase), and the caller must Close it.
func Launch(dir string, opts ...Option) (*Instance, error) {
	in, err := launch(dir, opts...)
	if err != nil {
		return nil, err
	}
	in.stop = func() { _ = in.close() }
	return in, nil
}

// Close shuts the server down (once) and returns the error of its shutdown.
func (in *Instance) Close() error { return in.close() }

func launch(dir string, opts ...Option) (*Instance, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.dbPath == "" {
		cfg.dbPath = filepath.Join(dir, "orbit.db")
	}
	if cfg.secretKey == nil {
		cfg.secretKey = make([]byte, 32)
		if _, err := rand.Read(cfg.secretKey); err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
	}
	if cfg.adminKey == "" {
		key, _, _, err := server.NewAPIKey()
		if err != nil {
			return nil, fmt.Errorf("admin key: %w", err)
		}
		cfg.adminKey = key
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	baseURL := "http://" + ln.Addr().String()
	if cfg.publicURL == "" {
		cfg.publicURL = baseURL
	}
	serverConfig := server.Config{
		DB:                cfg.dbPath,
		PublicURL:         cfg.publicURL,
		SecretKey:         cfg.secretKey,
		BootstrapKey:      cfg.adminKey,
		Logger:            cfg.logger,
		BootstrapOut:      io.Discard,
		CredentialChecker: cfg.checker,
		QueuePollInterval: 50 * time.Millisecond,
	}
	for _, f := range cfg.tweaks {
		f(&serverConfig)
	}
	srv, err := server.New(context.Background(), serverConfig)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start server: %w", err)
	}
	ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv.Handler()}}
	ts.Start()
	var once sync.Once
	var closeErr error
	return &Instance{URL: baseURL, AdminKey: cfg.adminKey, Server: srv, PublicURL: cfg.publicURL, DBPath: cfg.dbPath,
		SecretKey: cfg.secretKey, close: func() error {
			once.Do(func() {
				ts.Close()
				closeErr = srv.Close()
			})
			return closeErr
		}}, nil
}

// Role is one {space_id, role} grant of an API key.
type Role struct {
	SpaceID string `json:"space_id"`
	Role    string `json:"role"`
}

// Read, Write and Admin build a Role on a space.
func Read(spaceID string) Role  { return Role{SpaceID: spaceID, Role: "read"} }
func Write(spaceID string) Role { return Role{SpaceID: spaceID, Role: "write"} }
func Admin(spaceID string) Role { return Role{SpaceID: spaceID, Role: "admin"} }

// NewKey creates an API key with the given roles through the API (as the admin key)
// and returns the key string.
func (in *Instance) NewKey(t testing.TB, name string, roles ...Role) string {
	t.Helper()
	var created struct {
		Key string `json:"key"`
	}
	in.mustDo(t, http.MethodPost, "/api/v1/api-keys", map[string]any{"name": name, "roles": roles}, http.StatusCreated, &created)
	return created.Key
}

// NewSpace creates a space under parentID through the API and returns its id.
func (in *Instance) NewSpace(t testing.TB, name, parentID string, inheritEntities bool) string {
	t.Helper()
	var created struct {
		ID string `json:"id"`
	}
	in.mustDo(t, http.MethodPost, "/api/v1/spaces",
		map[string]any{"name": name, "parent_space_id": parentID, "inherit_entities": inheritEntities}, http.StatusCreated, &created)
	return created.ID
}

func (in *Instance) mustDo(t testing.TB, method, path string, body any, wantStatus int, out any) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	req, err := http.NewRequest(method, in.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+in.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("servertest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("servertest: %s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, respBody)
	}
	if out != nil {
		if err := json.Unmarshal(respBody, out); err != nil {
			t.Fatalf("servertest: %s %s: decode: %v", method, path, fmt.Sprint(err))
		}
	}
}
