package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	// Drivers for Database.Open.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/auth"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres/pgtest"
)

// Database is where an orbit-server under test keeps its data.
type Database struct {
	Engine string // "sqlite" or "postgres"
	// Arg is the --db value.
	Arg     string
	cleanup func()
}

// NewSQLite is a fresh SQLite file in dir.
func NewSQLite(dir string) Database {
	return Database{Engine: "sqlite", Arg: filepath.Join(dir, "orbit.db"), cleanup: func() {}}
}

// NewPostgres is a fresh database on a new throwaway cluster (durable: fsync
// on, as in production) that Close stops.
func NewPostgres(durable bool) (Database, error) {
	c, err := pgtest.StartCluster(pgtest.Options{Durable: durable})
	if err != nil {
		return Database{}, err
	}
	name, err := c.CreateDatabase(context.Background())
	if err != nil {
		_ = c.Stop()
		return Database{}, err
	}
	return Database{Engine: "postgres", Arg: c.URL(name), cleanup: func() { _ = c.Stop() }}, nil
}

// Open opens the database directly, for counting rows beside the server.
func (d Database) Open() (*sql.DB, error) {
	if d.Engine == "postgres" {
		return sql.Open("pgx", d.Arg)
	}
	return sql.Open("sqlite", d.Arg+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
}

// Close removes what NewPostgres started.
func (d Database) Close() {
	if d.cleanup != nil {
		d.cleanup()
	}
}

// Keys are the secrets a server (and its replicas) start with.
type Keys struct {
	SecretKey string // ORBIT_SECRET_KEY
	AdminKey  string // ORBIT_BOOTSTRAP_KEY
}

// NewKeys generates a secret key and an admin key.
func NewKeys() (Keys, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Keys{}, err
	}
	admin, _, _, err := auth.NewAPIKey()
	if err != nil {
		return Keys{}, err
	}
	return Keys{SecretKey: base64.StdEncoding.EncodeToString(raw), AdminKey: admin}, nil
}

// Env is the environment of a server process.
func (k Keys) Env() []string {
	return []string{"ORBIT_SECRET_KEY=" + k.SecretKey, "ORBIT_BOOTSTRAP_KEY=" + k.AdminKey}
}

// Sandbox is a Bitbucket sandbox on a loopback port, seeded with
// sandbox.DemoSeed (Cloud user dev@example.com, workspace acme, repository infra).
type Sandbox struct {
	*sandbox.Server
	URL string
	hs  *httptest.Server
}

// Demo credentials of sandbox.DemoSeed.
const (
	SandboxEmail = "dev@example.com"
	SandboxToken = "sandbox-cloud-admin-token"
)

// StartSandbox starts a seeded sandbox.
func StartSandbox() (*Sandbox, error) {
	hs := httptest.NewUnstartedServer(nil)
	srv := sandbox.New(sandbox.Config{BaseURL: "http://" + hs.Listener.Addr().String()})
	if err := srv.Seed(sandbox.DemoSeed()); err != nil {
		hs.Close()
		return nil, err
	}
	hs.Config.Handler = srv
	hs.Start()
	return &Sandbox{Server: srv, URL: hs.URL, hs: hs}, nil
}

// Close stops the sandbox.
func (s *Sandbox) Close() { s.hs.Close() }

// ServerArgs are the flags of an orbit-server that posts statuses to the sandbox.
func ServerArgs(db Database, sb *Sandbox) []string {
	// No load balancer watches /readyz here: stop without the shutdown delay.
	args := []string{"--db", db.Arg, "--shutdown-delay", "0"}
	if sb != nil {
		args = append(args, "--bitbucket-cloud-api-url", sb.URL)
	}
	return args
}

// MustEnv fails loudly in programs.
func MustEnv(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// QueueCounts is the state of the receiver's tables.
type QueueCounts struct {
	Deliveries, Processed, Jobs, Runs int
}

// CountQueue reads QueueCounts from the database.
func CountQueue(ctx context.Context, db *sql.DB) (QueueCounts, error) {
	var c QueueCounts
	err := db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM webhook_deliveries),
		(SELECT COUNT(*) FROM webhook_deliveries WHERE processed_at <> ''),
		(SELECT COUNT(*) FROM jobs),
		(SELECT COUNT(*) FROM runs)`).Scan(&c.Deliveries, &c.Processed, &c.Jobs, &c.Runs)
	return c, err
}
