package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres/pgtest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
)

var updateConfigTable = flag.Bool("update-config-table", false, "rewrite the configuration table in OPERATIONS.md")

// The environment configures the server as the flags would: ORBIT_<FLAG> for
// every flag, a flag on the command line winning over its variable.
func TestConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{
		"ORBIT_DB":                      filepath.Join(dir, "env.db"),
		"ORBIT_LISTEN":                  "127.0.0.1:9911",
		"ORBIT_PUBLIC_URL":              "https://orbit.example.com",
		"ORBIT_LOG_LEVEL":               "debug",
		"ORBIT_QUEUE_LEASE":             "45s",
		"ORBIT_CHECK_CREDENTIALS":       "false",
		"ORBIT_TRUSTED_PROXIES":         "10.0.0.0/24",
		"ORBIT_MAX_LABELS":              "7",
		"ORBIT_BITBUCKET_CLOUD_API_URL": "http://127.0.0.1:1",
		"ORBIT_WEBHOOK_SECRET_GRACE":    "90m",
	}
	cfg, err := configFromArgs(nil, env(vars), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB != vars["ORBIT_DB"] || cfg.SecretKeyFile != vars["ORBIT_DB"]+".key" {
		t.Errorf("DB = %q, key file %q; want ORBIT_DB and the key file next to it", cfg.DB, cfg.SecretKeyFile)
	}
	if cfg.Listen != "127.0.0.1:9911" || cfg.PublicURL != "https://orbit.example.com" {
		t.Errorf("Listen %q, PublicURL %q", cfg.Listen, cfg.PublicURL)
	}
	if cfg.QueueLease != 45*time.Second || cfg.MaxLabels != 7 || cfg.BitbucketCloudAPIURL != "http://127.0.0.1:1" {
		t.Errorf("QueueLease %s, MaxLabels %d, cloud URL %q", cfg.QueueLease, cfg.MaxLabels, cfg.BitbucketCloudAPIURL)
	}
	if cfg.CredentialChecker != nil {
		t.Error("ORBIT_CHECK_CREDENTIALS=false left the credential checker on")
	}
	if cfg.WebhookSecretGrace != 90*time.Minute {
		t.Errorf("ORBIT_WEBHOOK_SECRET_GRACE=90m: WebhookSecretGrace %s", cfg.WebhookSecretGrace)
	}
	// 0 is "no grace", which server.Config spells as a negative value (its 0 is the default).
	if none, err := configFromArgs(nil, env(map[string]string{"ORBIT_DB": vars["ORBIT_DB"], "ORBIT_WEBHOOK_SECRET_GRACE": "0"}), io.Discard, io.Discard); err != nil || none.WebhookSecretGrace >= 0 {
		t.Errorf("ORBIT_WEBHOOK_SECRET_GRACE=0: WebhookSecretGrace %s, %v; want negative (none)", none.WebhookSecretGrace, err)
	}
	if len(cfg.TrustedProxies) != 1 {
		t.Errorf("ORBIT_TRUSTED_PROXIES gave %d proxies, want 1", len(cfg.TrustedProxies))
	}
	if !cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("ORBIT_LOG_LEVEL=debug: debug records are dropped")
	}

	// The command line wins over the variable, flag by flag.
	cfg, err = configFromArgs([]string{"--listen", "127.0.0.1:9922", "--log-level", "error"}, env(vars), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9922" || cfg.DB != vars["ORBIT_DB"] {
		t.Errorf("with --listen: Listen %q (want the flag), DB %q (want ORBIT_DB)", cfg.Listen, cfg.DB)
	}
	if cfg.Logger.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("--log-level error over ORBIT_LOG_LEVEL=debug: warnings are written")
	}
}

// Every flag but --version has its variable: a flag added later gets one too.
func TestEveryFlagReadsItsVariable(t *testing.T) {
	t.Parallel()
	fs := serverFlagSet(t)
	fs.VisitAll(func(f *flag.Flag) {
		if flagsWithoutEnv[f.Name] {
			return
		}
		name := envName(f.Name)
		if !strings.HasPrefix(name, "ORBIT_") || strings.Contains(name, "-") {
			t.Errorf("--%s: variable %q", f.Name, name)
		}
		probe, _ := newFlagSet(io.Discard)
		// The probe set has only the common flags; give it this one.
		if probe.Lookup(f.Name) == nil {
			probe.Var(f.Value, f.Name, f.Usage)
		}
		value := f.DefValue
		if value == "" {
			value = "x"
		}
		if f.Name == "db-file" { // resolved by parseFlags; applyEnv alone sets it
			value = "/nonexistent"
		}
		if err := applyEnv(probe, env(map[string]string{name: value})); err != nil {
			t.Errorf("%s=%q: %v", name, value, err)
			return
		}
		if !setFlags(probe)[f.Name] {
			t.Errorf("%s did not set --%s", name, f.Name)
		}
	})
}

func TestConfigEnvironmentErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "orbit.db")
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"bad number", nil, map[string]string{"ORBIT_MAX_SPACES": "many"}, "ORBIT_MAX_SPACES: not a valid value for --max-spaces"},
		{"bad duration", nil, map[string]string{"ORBIT_QUEUE_LEASE": "soon"}, "ORBIT_QUEUE_LEASE"},
		{"bad bool", nil, map[string]string{"ORBIT_CHECK_CREDENTIALS": "perhaps"}, "ORBIT_CHECK_CREDENTIALS"},
		{"checked after env", nil, map[string]string{"ORBIT_QUEUE_LEASE": "10ms"}, "--queue-lease: 10ms is shorter than a second"},
		{"negative grace", nil, map[string]string{"ORBIT_WEBHOOK_SECRET_GRACE": "-1h"}, "--webhook-secret-grace: -1h0m0s is negative"},
		{"log level", []string{"--db", db}, map[string]string{"ORBIT_LOG_LEVEL": "verbose"}, `--log-level: "verbose" is not one of debug, info, warn, error`},
		{"log format", []string{"--db", db, "--log-format", "xml"}, nil, `--log-format: "xml" is not one of json, text`},
		{"db and db-file", []string{"--db-file", filepath.Join(dir, "db-url")}, map[string]string{"ORBIT_DB": db}, "--db-file and --db (or ORBIT_DB) both name the database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configFromArgs(tc.args, env(tc.vars), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			for _, v := range tc.vars {
				if len(v) > 3 && strings.Contains(err.Error(), v) && !strings.Contains(tc.want, v) {
					t.Fatalf("err %q repeats the variable's value %q", err, v)
				}
			}
		})
	}
}

// --db-file reads the database URL, password and all, from a file: nothing of
// it is in argv or the environment, and an error never shows its content.
func TestDBFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretKey := strings.Repeat("ab", 32)
	url := "postgres://orbit:s3cret-pw@db.internal:5432/orbit?sslmode=require"
	path := filepath.Join(dir, "db-url")
	if err := os.WriteFile(path, []byte(url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"ORBIT_SECRET_KEY": secretKey}
	cfg, err := configFromArgs([]string{"--db-file", path}, env(vars), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB != url {
		t.Fatalf("DB = %q, want the file's line", cfg.DB)
	}
	vars["ORBIT_DB_FILE"] = path
	if cfg, err = configFromArgs(nil, env(vars), io.Discard, io.Discard); err != nil || cfg.DB != url {
		t.Fatalf("ORBIT_DB_FILE: DB %q, err %v", cfg.DB, err)
	}

	twoLines := filepath.Join(dir, "two-lines")
	if err := os.WriteFile(twoLines, []byte(url+"\nsecond line s3cret-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{twoLines, filepath.Join(dir, "missing")} {
		_, err := configFromArgs([]string{"--db-file", p}, env(nil), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--db-file") || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("--db-file %s: err %v, want one naming --db-file and not the content", p, err)
		}
	}
}

// --log-format text writes key=value records; json (the default) one object a line.
func TestLogFormat(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "orbit.db")
	for format, want := range map[string]string{"text": "level=WARN msg=probe n=1", "json": `"level":"WARN","msg":"probe","n":1`} {
		var stderr bytes.Buffer
		cfg, err := configFromArgs([]string{"--db", db}, env(map[string]string{"ORBIT_LOG_FORMAT": format, "ORBIT_LOG_LEVEL": "warn"}), io.Discard, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Logger.Info("dropped")
		cfg.Logger.Warn("probe", "n", 1)
		if got := stderr.String(); !strings.Contains(got, want) || strings.Contains(got, "dropped") {
			t.Errorf("%s at warn wrote %q, want %q and no info record", format, got, want)
		}
	}
}

// --version prints the version set at link time and starts nothing.
func TestVersionFlag(t *testing.T) {
	var stdout bytes.Buffer
	_, err := configFromArgs([]string{"--version", "--db", "/nonexistent/dir/orbit.db"}, env(nil), &stdout, io.Discard)
	if !errors.Is(err, errVersionPrinted) {
		t.Fatalf("err = %v, want errVersionPrinted", err)
	}
	if want := version.String("orbit-server") + "\n"; stdout.String() != want {
		t.Fatalf("printed %q, want %q", stdout.String(), want)
	}
}

// The standard PG* variables fill what a postgres:// URL leaves out (pgx reads
// them), so the URL need not carry host, user or password at all.
func TestPostgresFromPGVariables(t *testing.T) {
	cluster := pgtest.Start(t)
	name, err := cluster.CreateDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGHOST", "127.0.0.1")
	t.Setenv("PGPORT", strconv.Itoa(cluster.Port))
	t.Setenv("PGUSER", "postgres")
	t.Setenv("PGDATABASE", name)
	t.Setenv("PGSSLMODE", "disable")
	vars := map[string]string{"ORBIT_DB": "postgres://", "ORBIT_SECRET_KEY": strings.Repeat("cd", 32), "ORBIT_LISTEN": "127.0.0.1:0"}
	var stdout bytes.Buffer
	cfg, err := configFromArgs(nil, env(vars), &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("ORBIT_DB=postgres:// with PG* variables: %v", err)
	}
	defer srv.Close()
	keys := printedKey.FindAllString(stdout.String(), -1)
	if len(keys) != 1 {
		t.Fatalf("printed %d admin keys on the new database", len(keys))
	}
	if code := status(t, srv, keys[0]); code != http.StatusOK {
		t.Fatalf("bootstrap key answers %d", code)
	}
}

// OPERATIONS.md holds the table configTable makes of the real flag set.
// go test ./cmd/orbit-server -run TestConfigurationTable -update-config-table rewrites it.
func TestConfigurationTable(t *testing.T) {
	t.Parallel()
	const begin, end = "<!-- BEGIN configuration table: generated by cmd/orbit-server (go test -run TestConfigurationTable -update-config-table) -->\n", "<!-- END configuration table -->"
	path := filepath.Join("..", "..", "OPERATIONS.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q markers", path, strings.TrimSpace(begin), end)
	}
	want := configTable(serverFlagSet(t))
	if got := doc[i+len(begin) : j]; got != want {
		if *updateConfigTable {
			if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("the configuration table in %s is not that of the flags; run\n  go test ./cmd/orbit-server -run TestConfigurationTable -update-config-table\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// serverFlagSet is the flag set configFromArgs parses, as -h hands it back.
func serverFlagSet(t *testing.T) *flag.FlagSet {
	t.Helper()
	_, err := configFromArgs([]string{"-h"}, env(nil), io.Discard, io.Discard)
	var help *helpError
	if !errors.As(err, &help) {
		t.Fatalf("-h: %v, want a *helpError", err)
	}
	return help.fs
}
