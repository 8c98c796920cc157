package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/migrations"
)

// Migrate applies, in version order, every migration not yet recorded in
// schema_migrations. Each migration runs in its own transaction together with
// its schema_migrations row, so a failure leaves the database at the previous
// version; running Migrate again on an up-to-date database changes nothing.
// It returns the versions it applied.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) ([]int64, error) {
	all, err := migrations.All()
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
		err := inTx(ctx, db, func(tx *sql.Tx) error {
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
