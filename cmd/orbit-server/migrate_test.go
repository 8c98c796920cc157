package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/migrations"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres/pgtest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlstore"
)

// runMigrate runs `orbit-server migrate args...` and returns its exit code and output.
func runMigrate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = migrate(t.Context(), args, env(nil), &out, &errOut)
	return code, out.String(), errOut.String()
}

func wantedVersion(t *testing.T, dialect string) int64 {
	t.Helper()
	all, err := migrations.For(dialect)
	if err != nil {
		t.Fatal(err)
	}
	return all[len(all)-1].Version
}

// TestMigrateCheckAndRefusal walks one SQLite database through the lifecycle of
// its schema: missing (check: behind, nothing created), migrated (current), then
// migrated by a newer orbit-server (a version this build does not know): check,
// migrate and start all refuse it, naming both versions.
func TestMigrateCheckAndRefusal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "orbit.db")
	wanted := wantedVersion(t, "sqlite")

	code, out, errOut := runMigrate(t, "--check", "--db", db)
	if code != migrateBehind || !strings.Contains(out, fmt.Sprintf("current 0, wanted %d", wanted)) || !strings.Contains(out, "pending: 0001_") {
		t.Fatalf("check on a missing database: exit %d, %q %q; want %d, current 0 and the pending list", code, out, errOut, migrateBehind)
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("--check created the database (%v)", err)
	}
	// Starting with migrations off refuses a schema that is behind.
	cfg, err := configFromArgs([]string{"--db", db, "--migrate-on-start=false"}, env(map[string]string{"ORBIT_SECRET_KEY": strings.Repeat("ab", 32)}), &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.New(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "run `orbit-server migrate` first") ||
		!strings.Contains(err.Error(), fmt.Sprintf("needs version %d", wanted)) {
		t.Fatalf("start with --migrate-on-start=false on an empty database: %v", err)
	}

	if code, out, errOut := runMigrate(t, "--db", db); code != migrateOK || !strings.Contains(out, fmt.Sprintf("-> %d", wanted)) {
		t.Fatalf("migrate: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ := runMigrate(t, "--db", db); code != migrateOK || !strings.Contains(out, "nothing to do") {
		t.Fatalf("migrate again: exit %d, %q", code, out)
	}
	if code, out, _ := runMigrate(t, "--check", "--db", db); code != migrateOK || !strings.Contains(out, fmt.Sprintf("current %d, wanted %d", wanted, wanted)) {
		t.Fatalf("check when current: exit %d, %q", code, out)
	}
	srv, err := server.New(t.Context(), cfg) // migrations off, schema current: starts
	if err != nil {
		t.Fatalf("start on a current schema with --migrate-on-start=false: %v", err)
	}
	srv.Close()

	// A newer orbit-server migrates the database one version further.
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	newer := wanted + 1
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 'later')`, newer); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	both := []string{fmt.Sprintf("at version %d", newer), fmt.Sprintf("(version %d)", wanted)}
	code, out, errOut = runMigrate(t, "--check", "--db", db)
	if code != migrateNewer || !strings.Contains(out, fmt.Sprintf("current %d, wanted %d", newer, wanted)) || !containsAll(errOut, both) {
		t.Fatalf("check on a newer schema: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := runMigrate(t, "--db", db); code != migrateNewer || !containsAll(errOut, both) {
		t.Fatalf("migrate on a newer schema: exit %d, %q", code, errOut)
	}
	for _, onStart := range []string{"true", "false"} {
		cfg, err := configFromArgs([]string{"--db", db, "--migrate-on-start=" + onStart}, env(map[string]string{"ORBIT_SECRET_KEY": strings.Repeat("ab", 32)}), &bytes.Buffer{}, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = server.New(t.Context(), cfg)
		if err == nil || !containsAll(err.Error(), append(both, "refuses to start")) {
			t.Fatalf("start (--migrate-on-start=%s) on a newer schema: %v; want a refusal naming versions %d and %d", onStart, err, newer, wanted)
		}
	}

	for _, args := range [][]string{{"--nope"}, {"--db", db, "extra"}} {
		if code, _, _ := runMigrate(t, args...); code != migrateUsageE {
			t.Fatalf("migrate %v: exit %d, want %d", args, code, migrateUsageE)
		}
	}
}

// An older build (its migration set cut short) started on the database a newer
// one migrated: Open refuses it before applying anything, naming both versions.
func TestOlderBuildRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "orbit.db")
	if code, out, errOut := runMigrate(t, "--db", db); code != migrateOK {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	all, err := migrations.For("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	older := all[:len(all)-1]
	_, err = sqlstore.MigrateSet(t.Context(), raw, sqlstore.Dialect{Name: "sqlite"}, older)
	var newer *sqlstore.NewerSchemaError
	if !errors.As(err, &newer) || newer.Current != all[len(all)-1].Version || newer.Known != older[len(older)-1].Version {
		t.Fatalf("older build on a newer schema: %v", err)
	}
	if !containsAll(err.Error(), []string{fmt.Sprintf("at version %d", newer.Current), fmt.Sprintf("(version %d)", newer.Known)}) {
		t.Fatalf("the refusal does not name both versions: %v", err)
	}
}

// Replicas of a new release starting together on one PostgreSQL database (here
// `migrate` commands, which open the store as a starting server does) apply each
// migration once; every one of them succeeds.
func TestConcurrentMigratePostgres(t *testing.T) {
	t.Parallel()
	cluster := pgtest.Start(t)
	dsn := cluster.NewDatabase(t)
	const replicas = 5
	codes := make([]int, replicas)
	outs := make([]string, replicas)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var out, errOut bytes.Buffer
			codes[i] = migrate(context.Background(), []string{"--db", dsn}, env(nil), &out, &errOut)
			outs[i] = out.String() + errOut.String()
		}()
	}
	close(start)
	wg.Wait()
	for i, code := range codes {
		if code != migrateOK {
			t.Errorf("replica %d: exit %d: %s", i, code, outs[i])
		}
	}
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var rows, versions int
	if err := raw.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	all, err := migrations.For("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(all) || versions != len(all) {
		t.Fatalf("schema_migrations: %d rows, %d versions; want %d each", rows, versions, len(all))
	}
	wanted := wantedVersion(t, "postgres")
	if code, out, errOut := runMigrate(t, "--check", "--db", dsn); code != migrateOK || !strings.Contains(out, fmt.Sprintf("current %d, wanted %d", wanted, wanted)) {
		t.Fatalf("check after the replicas: exit %d, %q %q", code, out, errOut)
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// The orbit-server process itself (this test binary in the server role): the
// exit codes of `orbit-server migrate --check` reach the shell, and a server
// started on a database a newer release migrated exits non-zero with the refusal,
// naming both versions, in its log, and leaves the schema as it found it.
func TestProcessRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	multiProcess(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "orbit.db")
	run := func(args ...string) (int, string) {
		t.Helper()
		// A server that wrongly starts would run until killed: the deadline turns
		// that into a failure (killed, no refusal in its log) rather than a hang.
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.Env = append(os.Environ(), roleEnv+"=server", "ORBIT_SECRET_KEY="+strings.Repeat("cd", 32), "ORBIT_DB=", "ORBIT_BOOTSTRAP_KEY=")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, string(out)
		case errors.As(err, &exit):
			return exit.ExitCode(), string(out)
		}
		t.Fatalf("orbit-server %v: %v", args, err)
		return 0, ""
	}
	wanted := wantedVersion(t, "sqlite")

	if code, out := run("migrate", "--check", "--db", db); code != migrateBehind {
		t.Fatalf("migrate --check on a missing database: exit %d, want %d:\n%s", code, migrateBehind, out)
	}
	if code, out := run("migrate", "--db", db); code != migrateOK {
		t.Fatalf("migrate: exit %d:\n%s", code, out)
	}
	if code, out := run("migrate", "--check", "--db", db); code != migrateOK {
		t.Fatalf("migrate --check on a current schema: exit %d, want %d:\n%s", code, migrateOK, out)
	}

	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	newer := wanted + 1
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 'later')`, newer); err != nil {
		t.Fatal(err)
	}
	if code, out := run("migrate", "--check", "--db", db); code != migrateNewer {
		t.Fatalf("migrate --check on a newer schema: exit %d, want %d:\n%s", code, migrateNewer, out)
	}

	code, out := run("--db", db, "--listen", "127.0.0.1:0", "--shutdown-delay", "0")
	both := []string{"refuses to start", fmt.Sprintf("at version %d", newer), fmt.Sprintf("(version %d)", wanted)}
	if code == 0 || !containsAll(out, both) {
		t.Fatalf("orbit-server on a newer schema: exit %d, want non-zero and a refusal naming versions %d and %d:\n%s", code, newer, wanted, out)
	}
	var versions, top int64
	if err := raw.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&versions, &top); err != nil {
		t.Fatal(err)
	}
	all, err := migrations.For("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if top != newer || versions != int64(len(all)+1) {
		t.Fatalf("after the refusal: %d versions up to %d, want the newer schema untouched", versions, top)
	}
}
