// Package postgres opens orbit-server's store on PostgreSQL through pgx's
// database/sql driver, with the shared migrations applied. The queries live in
// package sqlstore; this package only opens the database and describes the
// dialect. Several orbit-server replicas may share one database: migrations
// and the install of the first API key take an advisory lock, so replicas
// starting together migrate one at a time and only one installs a key.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	// The pgx database/sql driver, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlstore"
)

// Store is the generic SQL store opened on a PostgreSQL database.
type Store = sqlstore.Store

// maxConns bounds the pool; each replica holds at most this many connections.
const maxConns = 16

// startupLockKey identifies orbit-server's startup lock (migrations and the
// first API key) among the database's advisory locks ("orbit" in ASCII).
const startupLockKey = 0x6f72626974

// SQLSTATE codes of the violations the store maps to its own errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// Dialect tells the generic store how PostgreSQL differs from SQLite.
var Dialect = sqlstore.Dialect{
	Name:                  "postgres",
	IsUniqueViolation:     func(err error) bool { return hasCode(err, uniqueViolation) },
	IsForeignKeyViolation: func(err error) bool { return hasCode(err, foreignKeyViolation) },
	// Held until the transaction (a migration, the first API key) ends.
	StartupLock: fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, startupLockKey),
	ByteOrder:   ` COLLATE "C"`,
	// Replicas claiming jobs at once each take rows no other holds.
	SkipLocked: ` FOR UPDATE SKIP LOCKED`,
	HasTable:   `SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = $1 AND schemaname = ANY (current_schemas(false))`,
}

func hasCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// IsDSN reports whether s names a PostgreSQL database (postgres:// or
// postgresql:// URL) rather than a SQLite file.
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at dsn (a postgres:// URL), applies the pending
// migrations and returns the store. Errors never contain the DSN, which may
// hold a password.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWith(ctx, dsn, Options{})
}

// Options change what Open does.
type Options struct {
	// SkipMigrations only checks the schema: a database that is behind is refused
	// (*sqlstore.BehindSchemaError) instead of migrated. A schema newer than this
	// build is refused either way (*sqlstore.NewerSchemaError).
	SkipMigrations bool
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, opts Options) (*Store, error) {
	db, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := sqlstore.PrepareSchema(ctx, db, Dialect, !opts.SkipMigrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: schema: %w", err)
	}
	return sqlstore.New(db, db, Dialect), nil
}

// SchemaStatus reads the schema version of the database without changing it.
func SchemaStatus(ctx context.Context, dsn string) (sqlstore.SchemaStatus, error) {
	db, err := connect(ctx, dsn)
	if err != nil {
		return sqlstore.SchemaStatus{}, err
	}
	defer db.Close()
	return sqlstore.ReadSchemaStatus(ctx, db, Dialect)
}

// connect opens the pool and checks that the server answers.
func connect(ctx context.Context, dsn string) (*sql.DB, error) {
	if !IsDSN(dsn) {
		return nil, errors.New("postgres: the database URL must start with postgres:// or postgresql://")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", redact(err, dsn))
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", redact(err, dsn))
	}
	return db, nil
}

// redact keeps a password in the DSN out of an error message.
func redact(err error, dsn string) error {
	msg := err.Error()
	if !strings.Contains(msg, dsn) {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, dsn, "<database URL>"))
}
