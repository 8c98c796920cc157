package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/migrations"
)

// Migrate applies, in version order, every migration not yet recorded in
// schema_migrations. Each migration runs in its own transaction together with
// its schema_migrations row, so a failure leaves the database at the previous
// version; running Migrate again on an up-to-date database changes nothing.
// It returns the versions it applied.
//
// A database that has a version this build does not know (a newer orbit-server
// migrated it) is refused with a *NewerSchemaError, before anything is applied.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) ([]int64, error) {
	all, err := migrations.For(d.Name)
	if err != nil {
		return nil, err
	}
	return MigrateSet(ctx, db, d, all)
}

// MigrateSet is Migrate with the migrations given (ordered by version): the
// build's own set, or in tests a shorter one, as an older build would have.
func MigrateSet(ctx context.Context, db *sql.DB, d Dialect, all []migrations.Migration) ([]int64, error) {
	err := inTx(ctx, db, func(tx *sql.Tx) error {
		if err := lockStartup(ctx, tx, d); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    BIGINT PRIMARY KEY,
			applied_at TEXT NOT NULL
		)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	done, err := AppliedVersions(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	if st := statusOf(all, done); st.Newer() {
		return nil, &NewerSchemaError{Current: st.Current, Known: st.Wanted}
	}
	var applied []int64
	for _, m := range all {
		ran := false
		run := inTx
		if strings.HasPrefix(m.SQL, foreignKeysOff) {
			run = inTxForeignKeysOff
		}
		err := run(ctx, db, func(tx *sql.Tx) error {
			if err := lockStartup(ctx, tx, d); err != nil {
				return err
			}
			// Checked inside the transaction: another server may have applied it
			// between our start and our lock.
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = $1`, m.Version).Scan(&one)
			if err == nil {
				return nil
			}
			if err != sql.ErrNoRows {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.Version, formatTime(time.Now())); err != nil {
				return err
			}
			ran = true
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if ran {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

// foreignKeysOff starts a SQLite migration that rebuilds a table another one
// references: SQLite's procedure turns foreign keys off on the connection for the
// rebuild (dropping the old table would otherwise cascade into its references) and
// checks them with foreign_key_check before the commit.
const foreignKeysOff = "-- orbit:foreign-keys-off"

// inTxForeignKeysOff is inTx on one connection whose foreign keys are off for the
// transaction; a violation left behind fails the migration.
func inTxForeignKeysOff(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	defer func() {
		if _, onErr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); onErr != nil && err == nil {
			err = onErr
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	violation := rows.Next()
	if err = errors.Join(rows.Close(), rows.Err()); err != nil {
		return err
	}
	if violation {
		return errors.New("the rebuild leaves a foreign key violation")
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// AppliedVersions lists the versions recorded in schema_migrations, ascending.
func AppliedVersions(ctx context.Context, db *sql.DB) ([]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// lockStartup takes the dialect's StartupLock in tx (nothing on SQLite).
func lockStartup(ctx context.Context, tx *sql.Tx, d Dialect) error {
	if d.StartupLock == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, d.StartupLock)
	return err
}

// SchemaStatus compares a database's schema with the migrations of this build.
type SchemaStatus struct {
	// Current is the highest version applied (0: an empty database).
	Current int64
	// Wanted is the highest version this build knows.
	Wanted int64
	// Pending are the migrations this build would apply.
	Pending []migrations.Migration
	// Unknown are the versions applied that this build does not know: a newer
	// orbit-server migrated the database.
	Unknown []int64
}

// Behind reports whether migrations are pending.
func (s SchemaStatus) Behind() bool { return len(s.Pending) > 0 }

// Newer reports whether the database has versions this build does not know.
func (s SchemaStatus) Newer() bool { return len(s.Unknown) > 0 }

func statusOf(all []migrations.Migration, applied []int64) SchemaStatus {
	var st SchemaStatus
	known := map[int64]bool{}
	for _, m := range all {
		known[m.Version] = true
		st.Wanted = max(st.Wanted, m.Version)
		if !slices.Contains(applied, m.Version) {
			st.Pending = append(st.Pending, m)
		}
	}
	for _, v := range applied {
		st.Current = max(st.Current, v)
		if !known[v] {
			st.Unknown = append(st.Unknown, v)
		}
	}
	return st
}

// ReadSchemaStatus reads where the database's schema stands without changing
// anything (an empty database is at version 0).
func ReadSchemaStatus(ctx context.Context, db *sql.DB, d Dialect) (SchemaStatus, error) {
	all, err := migrations.For(d.Name)
	if err != nil {
		return SchemaStatus{}, err
	}
	var tables int
	if err := db.QueryRowContext(ctx, d.HasTable, "schema_migrations").Scan(&tables); err != nil {
		return SchemaStatus{}, fmt.Errorf("look for schema_migrations: %w", err)
	}
	var applied []int64
	if tables > 0 {
		if applied, err = AppliedVersions(ctx, db); err != nil {
			return SchemaStatus{}, fmt.Errorf("read schema_migrations: %w", err)
		}
	}
	return statusOf(all, applied), nil
}

// EmptySchemaStatus is the status of a database that does not exist yet.
func EmptySchemaStatus(d Dialect) (SchemaStatus, error) {
	all, err := migrations.For(d.Name)
	if err != nil {
		return SchemaStatus{}, err
	}
	return statusOf(all, nil), nil
}

// PrepareSchema makes the schema usable by this build: it migrates (Migrate),
// or with migrate false only checks, refusing a schema that is behind with a
// *BehindSchemaError. A newer schema is a *NewerSchemaError either way.
func PrepareSchema(ctx context.Context, db *sql.DB, d Dialect, migrate bool) error {
	if migrate {
		_, err := Migrate(ctx, db, d)
		return err
	}
	st, err := ReadSchemaStatus(ctx, db, d)
	switch {
	case err != nil:
		return err
	case st.Newer():
		return &NewerSchemaError{Current: st.Current, Known: st.Wanted}
	case st.Behind():
		return &BehindSchemaError{Current: st.Current, Wanted: st.Wanted}
	}
	return nil
}

// NewerSchemaError refuses a database a newer orbit-server has migrated: this
// build would run against tables it does not know.
type NewerSchemaError struct {
	Current int64 // the database's schema version
	Known   int64 // the newest this build knows
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("the database schema is at version %d, newer than this orbit-server knows (version %d): "+
		"run an orbit-server at least as new as the one that migrated it, or restore the backup taken before that upgrade", e.Current, e.Known)
}

// BehindSchemaError refuses, when migrating on start is off, a database whose
// schema is older than this build needs.
type BehindSchemaError struct {
	Current int64
	Wanted  int64
}

func (e *BehindSchemaError) Error() string {
	return fmt.Sprintf("the database schema is at version %d, this orbit-server needs version %d: run `orbit-server migrate` first", e.Current, e.Wanted)
}
