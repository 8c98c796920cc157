package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/migrations"
)

// Migrate applies, in version order, every migration not yet recorded in
// schema_migrations. Each migration runs in its own transaction together with
// its schema_migrations row, so a failure leaves the database at the previous
// version; running Migrate again on an up-to-date database changes nothing.
// It returns the versions it applied.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) ([]int64, error) {
	all, err := migrations.For(d.Name)
	if err != nil {
		return nil, err
	}
	err = inTx(ctx, db, func(tx *sql.Tx) error {
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
