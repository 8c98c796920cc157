// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb into a
// temporary directory, a postmaster on a free loopback port, torn down (and the
// directory removed) when the test ends.
//
// The server binaries come from PATH, from $ORBIT_PG_BINDIR, or from
// /usr/lib/postgresql/<version>/bin (Debian and Ubuntu). When none is found the
// test FAILS, naming the package to install: the PostgreSQL suite is never
// skipped silently. initdb refuses to run as root, so as root the cluster runs as
// the unprivileged `postgres` user through runuser(1).
package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	// The pgx database/sql driver, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
)

// DebianPackage is the package that provides initdb and pg_ctl on the CI image.
const DebianPackage = "postgresql-15"

// BinDirEnv overrides where initdb and pg_ctl are looked up.
const BinDirEnv = "ORBIT_PG_BINDIR"

// superuser is the cluster's bootstrap role; loopback connections are trusted.
const superuser = "postgres"

// Cluster is one running throwaway PostgreSQL server.
type Cluster struct {
	// Port is the loopback TCP port the server listens on.
	Port int
	// Dir holds the data directory and the server log.
	Dir    string
	binDir string
	runAs  string // "" = the current user
	dbSeq  atomic.Int64
}

// Options tune a cluster. The zero value is a fast test cluster.
type Options struct {
	// Durable keeps fsync and synchronous commit on (benchmarks). Test clusters
	// turn them off: a test never survives a crash of PostgreSQL itself.
	Durable bool
	// Settings are extra `-c name=value` server settings.
	Settings map[string]string
}

// FindBinDir returns the directory holding initdb and pg_ctl, or an error that
// says which package to install.
func FindBinDir() (string, error) {
	return findBinDir(os.Getenv(BinDirEnv), os.Getenv("PATH"), "/usr/lib/postgresql/*/bin")
}

func findBinDir(envDir, path, pattern string) (string, error) {
	if envDir != "" {
		if hasServerBinaries(envDir) {
			return envDir, nil
		}
		return "", fmt.Errorf("%s=%s does not contain initdb, pg_ctl and postgres", BinDirEnv, envDir)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir != "" && hasServerBinaries(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(pattern)
	// Newest major version first.
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in PATH, $%s or %s; "+
		"install them, e.g. `apt-get install %s` on Debian/Ubuntu", BinDirEnv, pattern, DebianPackage)
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// Start starts a cluster for the test and stops it in t.Cleanup. Any failure
// fails the test (never skips it); under -short the test is skipped, saying so: a
// cluster is a tree of processes, and make test runs these tests.
func Start(t testing.TB, opts ...Options) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a throwaway PostgreSQL cluster: skipped under -short (make test runs it)")
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	c, err := StartCluster(o)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// StartCluster is Start for programs (benchmarks): the caller must Stop it.
func StartCluster(o Options) (*Cluster, error) {
	binDir, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{binDir: binDir}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup(superuser); err != nil {
			return nil, fmt.Errorf("running as root, and initdb refuses root: the unprivileged user %q is missing (the %s package creates it)", superuser, DebianPackage)
		}
		c.runAs = superuser
	}
	// Not t.TempDir: its parents are private to root, and the server may run as
	// another user.
	c.Dir, err = os.MkdirTemp("", "orbit-pgtest-")
	if err != nil {
		return nil, err
	}
	if err := c.chownToServer(c.Dir); err != nil {
		os.RemoveAll(c.Dir)
		return nil, err
	}
	if err := c.initdb(); err != nil {
		os.RemoveAll(c.Dir)
		return nil, err
	}
	// A free port can be taken between our probe and the server's bind; retry.
	for attempt := 0; ; attempt++ {
		if c.Port, err = freePort(); err != nil {
			os.RemoveAll(c.Dir)
			return nil, err
		}
		err = c.start(o)
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			os.RemoveAll(c.Dir)
			return nil, err
		}
	}
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }
func (c *Cluster) logFile() string { return filepath.Join(c.Dir, "server.log") }

func (c *Cluster) chownToServer(path string) error {
	if c.runAs == "" {
		return nil
	}
	u, err := user.Lookup(c.runAs)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(path, uid, gid)
}

// command runs a server binary as the cluster's user.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	bin := filepath.Join(c.binDir, name)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.Dir = c.Dir
	// A locale that exists everywhere; names compare with COLLATE "C" anyway.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C", "TZ=UTC")
	return cmd
}

func (c *Cluster) run(timeout time.Duration, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out bytes.Buffer
	cmd := c.command(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

func (c *Cluster) initdb() error {
	return c.run(2*time.Minute, "initdb", "-D", c.dataDir(), "-U", superuser, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
}

func (c *Cluster) start(o Options) error {
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"port":                    strconv.Itoa(c.Port),
		"unix_socket_directories": "''",
		"max_connections":         "200",
		"shared_buffers":          "32MB",
		"timezone":                "UTC",
	}
	if !o.Durable {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range o.Settings {
		settings[k] = v
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var opts []string
	for _, k := range keys {
		opts = append(opts, "-c "+k+"="+settings[k])
	}
	err := c.run(time.Minute, "pg_ctl", "start", "-w", "-t", "60", "-D", c.dataDir(), "-l", c.logFile(), "-o", strings.Join(opts, " "))
	if err != nil {
		log, _ := os.ReadFile(c.logFile())
		return fmt.Errorf("%v\nserver log:\n%s", err, log)
	}
	return nil
}

// Stop stops the server immediately and removes its directory.
func (c *Cluster) Stop() error {
	err := c.run(time.Minute, "pg_ctl", "stop", "-m", "immediate", "-w", "-D", c.dataDir())
	return errors.Join(err, os.RemoveAll(c.Dir))
}

// URL returns the DSN of database db on the cluster.
func (c *Cluster) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates a new empty database and returns its name.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("orbit_%d", c.dbSeq.Add(1))
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return name, nil
}

// NewDatabase creates a new empty database for the test and returns its DSN.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name, err := c.CreateDatabase(t.Context())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c.URL(name)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is not TCP", ln.Addr())
	}
	return addr.Port, nil
}
