// Package sqlite opens orbit-server's embedded store: SQLite through the pure-Go
// modernc.org/sqlite driver, in WAL mode, with the shared migrations applied.
// The queries live in package sqlstore; this package only opens and tunes the
// database.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlstore"
)

// Store is the generic SQL store opened on a SQLite file.
type Store = sqlstore.Store

// busyTimeoutMillis bounds how long a connection waits for a lock held by
// another process on the same file before SQLITE_BUSY.
const busyTimeoutMillis = 10000

// walSizeLimit is the size the WAL file is cut back to after it starts over.
const walSizeLimit = 16 << 20

// readerConns is the size of the read pool; WAL lets readers run alongside the writer.
const readerConns = 4

// Dialect tells the generic store how SQLite reports constraint violations.
var Dialect = sqlstore.Dialect{
	Name: "sqlite",
	IsUniqueViolation: func(err error) bool {
		return hasCode(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	IsForeignKeyViolation: func(err error) bool { return hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) },
	HasTable:              `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`,
}

func hasCode(err error, codes ...int) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.Code() == c {
			return true
		}
	}
	return false
}

// Open opens (creating when missing) the SQLite database at path, applies the
// pending migrations and returns the store. Writes go through a single
// connection whose transactions begin IMMEDIATE, so concurrent writers in this
// process queue in Go instead of failing with SQLITE_BUSY, and a second
// process on the same file waits up to the busy timeout. Reads use a small
// pool of query-only connections.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// Options change what Open does.
type Options struct {
	// SkipMigrations only checks the schema: a database that is behind is refused
	// (*sqlstore.BehindSchemaError) instead of migrated. A schema newer than this
	// build is refused either way (*sqlstore.NewerSchemaError).
	SkipMigrations bool
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?' or '#'", path)
	}
	if err := createOwnerOnly(path); err != nil {
		return nil, err
	}
	// The background checkpointer copies the WAL into the database file beside
	// the writer, so that the writer's own checkpoint (SQLite's default, run by
	// the commit that takes the WAL past 1,000 pages, holding it up) finds
	// little left to copy. That one stays: only a checkpoint between two write
	// transactions lets the next one start the WAL over. journal_size_limit
	// then cuts the file back.
	writer, err := openPool(ctx, path, 1, "_txlock=immediate", "_pragma=journal_mode(WAL)",
		fmt.Sprintf("_pragma=journal_size_limit(%d)", walSizeLimit))
	if err != nil {
		return nil, err
	}
	if err := sqlstore.PrepareSchema(ctx, writer, Dialect, !opts.SkipMigrations); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: schema of %s: %w", path, err)
	}
	reader, err := openPool(ctx, path, readerConns, "_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, err
	}
	cp, err := startCheckpointer(ctx, path)
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, err
	}
	st := sqlstore.New(writer, reader, Dialect)
	st.OnClose(cp.close)
	return st, nil
}

// createOwnerOnly creates a missing database file with mode 0600 before SQLite
// opens it: the file holds sealed credentials and API key hashes, and SQLite gives
// its -wal and -shm files the mode of the database file.
func createOwnerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	return f.Close()
}

func openPool(ctx context.Context, path string, conns int, extra ...string) (*sql.DB, error) {
	params := append([]string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeoutMillis),
		"_pragma=foreign_keys(1)",
	}, extra...)
	connector, err := newCachingConnector(path + "?" + strings.Join(params, "&"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// SchemaStatus reads the schema version of the database at path without changing
// it; a missing file is an empty database (version 0), and is not created.
func SchemaStatus(ctx context.Context, path string) (sqlstore.SchemaStatus, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return sqlstore.EmptySchemaStatus(Dialect)
	}
	db, err := openPool(ctx, path, 1, "_pragma=query_only(1)")
	if err != nil {
		return sqlstore.SchemaStatus{}, err
	}
	defer db.Close()
	return sqlstore.ReadSchemaStatus(ctx, db, Dialect)
}
