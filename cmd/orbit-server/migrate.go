package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlstore"
)

const migrateUsage = `usage: orbit-server migrate [--check] [--db orbit.db|postgres://...]

Brings the database schema to the version this orbit-server needs, and prints the
schema version before and after. With --check, changes nothing: prints the current
and the wanted version and exits 3 when migrations are pending.

orbit-server migrates on start by default (--migrate-on-start=true), which suits one
server on SQLite. With several replicas on PostgreSQL, run ` + "`orbit-server migrate`" + ` once
from the new release before rolling it out, and start the replicas with
--migrate-on-start=false (replicas that do migrate on start together apply each
migration once, under an advisory lock). Any orbit-server refuses a schema newer than
it knows.

The database comes from --db, else ORBIT_DB, else orbit.db.

Exit status: 0 the schema is current (after migrating), 1 an error, 2 a usage error,
3 (--check) migrations are pending, 4 the schema is newer than this orbit-server.
`

// Exit codes of `orbit-server migrate`.
const (
	migrateOK     = 0
	migrateFailed = 1
	migrateUsageE = 2
	migrateBehind = 3
	migrateNewer  = 4
)

// migrate runs the migrate subcommand and returns the process exit code.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("orbit-server migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, migrateUsage) }
	dbDefault := getenv("ORBIT_DB")
	if dbDefault == "" {
		dbDefault = "orbit.db"
	}
	db := fs.String("db", dbDefault, "SQLite database file, or a postgres:// URL")
	check := fs.Bool("check", false, "change nothing: print the current and wanted schema versions, exit 3 when behind")
	if err := fs.Parse(args); err != nil {
		return migrateUsageE
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "orbit-server migrate: unexpected arguments: %v\n", fs.Args())
		return migrateUsageE
	}
	if *check {
		st, err := server.ReadSchemaStatus(ctx, *db)
		if err != nil {
			fmt.Fprintln(stderr, "orbit-server migrate:", err)
			return migrateFailed
		}
		fmt.Fprintf(stdout, "schema version: current %d, wanted %d\n", st.Current, st.Wanted)
		switch {
		case st.Newer():
			fmt.Fprintf(stderr, "orbit-server migrate: %v\n", &sqlstore.NewerSchemaError{Current: st.Current, Known: st.Wanted})
			return migrateNewer
		case st.Behind():
			for _, m := range st.Pending {
				fmt.Fprintf(stdout, "pending: %s\n", m.Name)
			}
			return migrateBehind
		}
		return migrateOK
	}
	before, after, err := server.Migrate(ctx, *db)
	if err != nil {
		fmt.Fprintln(stderr, "orbit-server migrate:", err)
		if errors.As(err, new(*sqlstore.NewerSchemaError)) {
			return migrateNewer
		}
		return migrateFailed
	}
	if before.Current == after.Current {
		fmt.Fprintf(stdout, "schema version %d: current, nothing to do\n", after.Current)
	} else {
		fmt.Fprintf(stdout, "schema version %d -> %d\n", before.Current, after.Current)
	}
	return migrateOK
}
