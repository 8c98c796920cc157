// Package sqlstore implements store.Store once, on database/sql, for every SQL
// database orbit-server supports. The SQL is portable between SQLite
// (modernc.org/sqlite) and PostgreSQL (pgx): `$N` placeholders, which both
// drivers bind, and the shared migrations of package migrations. What differs
// between databases (how a driver reports a constraint violation, how
// servers starting together are serialized) is a Dialect; opening the database is the job of a
// thin package per engine (sqlite, and later postgres).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Dialect is what the generic store needs to know about one database engine.
type Dialect struct {
	Name string
	// IsUniqueViolation reports whether err is a unique or primary-key violation.
	IsUniqueViolation func(error) bool
	// IsForeignKeyViolation reports whether err is a foreign-key violation.
	IsForeignKeyViolation func(error) bool
	// StartupLock, when set, is executed first in the transactions that several
	// servers starting together on one database must run one at a time: every
	// migration (see Migrate) and the install of the first API key (see
	// CreateFirstAPIKey). It is held until the transaction ends (PostgreSQL: an
	// advisory transaction lock; under READ COMMITTED each later statement sees
	// what the previous holder committed). SQLite needs none: its write
	// transactions are already exclusive.
	StartupLock string
	// SkipLocked is appended to the SELECT that picks jobs to claim, so that
	// concurrent claimers on a shared database take different rows (PostgreSQL:
	// " FOR UPDATE SKIP LOCKED"). SQLite needs none: one writer at a time.
	SkipLocked string
	// ByteOrder is the clause that makes a text expression compare byte by byte
	// (PostgreSQL: ` COLLATE "C"`), so that names sort and page the same on
	// every database whatever its default collation. Empty for SQLite, whose
	// default BINARY collation already compares bytes.
	ByteOrder string
	// HasTable counts the tables named $1 that the store's queries would see (1
	// or 0): how a read-only schema check tells an empty database.
	HasTable string
}

// bytes returns expr compared in byte order.
func (d Dialect) bytes(expr string) string { return expr + d.ByteOrder }

// orderByName is the ORDER BY list of every listing: name, then id to break
// ties, both in byte order.
func (d Dialect) orderByName(idColumn string) string {
	return d.bytes("name") + ", " + d.bytes(idColumn)
}

// Store is store.Store on database/sql.
type Store struct {
	writer  *sql.DB
	reader  *sql.DB
	dialect Dialect
	now     func() time.Time
	quotas  atomic.Pointer[store.Quotas]
	// onClose runs before the pools close (an engine's background work).
	onClose []func() error
}

var _ store.Store = (*Store)(nil)

// New returns a store on already-migrated databases. Writes go to writer and
// reads to reader; they may be the same pool. SQLite passes a one-connection
// writer pool (writes serialized in-process, so they never meet SQLITE_BUSY
// from each other) and a wider reader pool (WAL readers do not block).
// Close closes both.
func New(writer, reader *sql.DB, d Dialect) *Store {
	if reader == nil {
		reader = writer
	}
	return &Store{writer: writer, reader: reader, dialect: d, now: time.Now}
}

// SetQuotas implements store.Store.
func (s *Store) SetQuotas(q store.Quotas) { s.quotas.Store(&q) }

func (s *Store) currentQuotas() store.Quotas {
	if q := s.quotas.Load(); q != nil {
		return *q
	}
	return store.Quotas{}
}

func (s *Store) Ping(ctx context.Context) error {
	if err := s.writer.PingContext(ctx); err != nil {
		return err
	}
	if s.reader != s.writer {
		return s.reader.PingContext(ctx)
	}
	return nil
}

// OnClose adds fn to what Close runs first, before it closes the pools.
func (s *Store) OnClose(fn func() error) { s.onClose = append(s.onClose, fn) }

func (s *Store) Close() error {
	var err error
	for _, fn := range s.onClose {
		err = errors.Join(err, fn())
	}
	err = errors.Join(err, s.writer.Close())
	if s.reader != s.writer {
		err = errors.Join(err, s.reader.Close())
	}
	return err
}

// queryer is what a query needs; *sql.Tx provides it.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txKey carries the write transaction of Idempotent to the store calls made inside
// it; the *Store in the key keeps two stores from sharing one.
type txKey struct{ s *Store }

// inWriteTx runs fn in a write transaction and commits when fn returns nil;
// any error rolls everything back, so a failed call changes nothing. Inside
// Idempotent, fn joins Idempotent's transaction instead (which commits or rolls
// back as a whole).
func (s *Store) inWriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if tx, ok := ctx.Value(txKey{s}).(*sql.Tx); ok {
		return fn(tx)
	}
	return inTx(ctx, s.writer, fn)
}

// inReadTx gives multi-statement reads one consistent snapshot.
func (s *Store) inReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTx(ctx, s.reader, fn)
}

func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
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
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// timestamp is the stored form of a time: RFC 3339, UTC, fixed microsecond
// precision (what PostgreSQL keeps, and lexically ordered).
const timestampLayout = "2006-01-02T15:04:05.000000Z07:00"

// nowUTC is the store's clock, truncated so a value written equals the value read.
func (s *Store) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func formatTime(t time.Time) string { return t.UTC().Format(timestampLayout) }

// parseTime reads what the store writes, and also the CURRENT_TIMESTAMP forms
// the migrations leave on the root space ("2006-01-02 15:04:05" in SQLite,
// "2006-01-02 15:04:05.999999+00" in PostgreSQL).
func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", v, time.UTC); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("stored timestamp %q is not RFC 3339", v)
}
