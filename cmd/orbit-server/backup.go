package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", as the store uses

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres"
)

const backupUsage = `usage: orbit-server backup --to FILE [--db orbit.db]   (or ORBIT_DB)

Writes a consistent copy of a SQLite database to FILE while orbit-server keeps
running (VACUUM INTO: one read transaction, writers are not blocked), and copies
the secret key file next to the database (<db>.key) to FILE.key, mode 0600.
Without the key, every credential in the copy is lost: keep the two together, or
keep ORBIT_SECRET_KEY wherever you keep secrets when the key comes from there.

Restore: stop orbit-server, put FILE in place of the database and FILE.key in
place of <db>.key (or set the same ORBIT_SECRET_KEY), start it. PostgreSQL is
backed up with pg_dump (see OPERATIONS.md).
`

// backup runs the backup subcommand and returns the process exit code.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("orbit-server backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage) }
	db := fs.String("db", "orbit.db", "SQLite database file")
	to := fs.String("to", "", "file to write the copy to (must not exist)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := applyEnv(fs, getenv); err != nil {
		fmt.Fprintln(stderr, "orbit-server backup:", err)
		return 2
	}
	if fs.NArg() > 0 || *to == "" {
		fs.Usage()
		return 2
	}
	if err := runBackup(ctx, *db, *to, getenv(secretbox.EnvVar) != "", stdout); err != nil {
		fmt.Fprintln(stderr, "orbit-server backup:", err)
		return 1
	}
	return 0
}

func runBackup(ctx context.Context, db, to string, keyFromEnv bool, stdout io.Writer) error {
	if postgres.IsDSN(db) {
		return errors.New("the database is PostgreSQL: back it up with pg_dump (OPERATIONS.md), and keep ORBIT_SECRET_KEY")
	}
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	if _, err := os.Stat(to); err == nil {
		return fmt.Errorf("--to: %s exists", to)
	}
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", to); err != nil {
		return fmt.Errorf("copy %s: %w", db, err)
	}
	if err := os.Chmod(to, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database copied to %s\n", to)

	keyFile := keyFilePath(db)
	key, err := os.ReadFile(keyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist) && keyFromEnv:
		fmt.Fprintf(stdout, "the secret key comes from %s: keep it with the backup, the copy is useless without it\n", secretbox.EnvVar)
		return nil
	case err != nil:
		return fmt.Errorf("the database is copied, but not its key file: %w; the copy is useless without the key", err)
	}
	if err := os.WriteFile(keyFilePath(to), key, 0o600); err != nil {
		return fmt.Errorf("copy the key file: %w", err)
	}
	fmt.Fprintf(stdout, "secret key file copied to %s (keep it as safe as the key itself)\n", filepath.Clean(keyFilePath(to)))
	return nil
}
