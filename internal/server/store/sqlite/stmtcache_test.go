package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// openCached opens a one-connection pool through the caching connector, so that
// every call below meets the same connection and its cache.
func openCached(t *testing.T) (*sql.DB, func() *cachingConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache.db")
	connector, err := newCachingConnector(path + "?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	conn := func() *cachingConn {
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var cc *cachingConn
		if err := c.Raw(func(dc any) error { cc = dc.(*cachingConn); return nil }); err != nil {
			t.Fatal(err)
		}
		return cc
	}
	return db, conn
}

// rowsInTx inserts rows 0..n-1 into t and begins a transaction, rolled back
// when the test ends.
func rowsInTx(t *testing.T, db *sql.DB, n int) *sql.Tx {
	t.Helper()
	for i := range n {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES ($1, $2)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return tx
}

func TestStatementCacheReusesPreparedStatements(t *testing.T) {
	db, conn := openCached(t)
	before := conn().prepares
	for i := range 50 {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES ($1, $2)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.QueryRow(`SELECT v FROM t WHERE id = $1`, i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("row %d: %q, %v", i, v, err)
		}
	}
	if got := conn().prepares - before; got != 2 {
		t.Fatalf("100 calls of 2 statements prepared %d statements, want 2", got)
	}
	// A failing run (unique violation) leaves the statement usable.
	if _, err := db.Exec(`INSERT INTO t (id, v) VALUES ($1, $2)`, 100, "v1"); err == nil {
		t.Fatal("duplicate v inserted")
	}
	if _, err := db.Exec(`INSERT INTO t (id, v) VALUES ($1, $2)`, 100, "v100"); err != nil {
		t.Fatalf("statement after a failed run: %v", err)
	}
}

// The same text queried again while its rows are open (a nested loop in one
// transaction) must not reset the outer rows: it gets a statement of its own.
func TestStatementCacheNestedSameQuery(t *testing.T) {
	db, _ := openCached(t)
	tx := rowsInTx(t, db, 5)
	const q = `SELECT id FROM t WHERE id >= $1 ORDER BY id`
	outer, err := tx.Query(q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen, innerRows int
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if id != seen {
			t.Fatalf("outer row %d is id %d", seen, id)
		}
		seen++
		inner, err := tx.Query(q, id)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			innerRows++
		}
		inner.Close()
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if seen != 5 || innerRows != 5+4+3+2+1 {
		t.Fatalf("outer saw %d rows and the inner queries %d, want 5 and 15", seen, innerRows)
	}
}

func TestStatementCacheIsBounded(t *testing.T) {
	db, conn := openCached(t)
	tx := rowsInTx(t, db, 3)
	// The rows of the first statement stay open while it is pushed out of the
	// cache: it must keep working until they are closed.
	open, err := tx.Query(`SELECT id FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if !open.Next() {
		t.Fatal("no first row")
	}
	for i := 1; i <= stmtCacheSize+10; i++ {
		var n int
		if err := tx.QueryRow(fmt.Sprintf(`SELECT %d AS n%d`, i, i)).Scan(&n); err != nil || n != i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	rest := 0
	for open.Next() {
		rest++
	}
	if err := open.Err(); err != nil || rest != 2 {
		t.Fatalf("evicted statement's rows: %d more rows, %v; want 2", rest, err)
	}
	open.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c := conn()
	if c.lru.Len() != stmtCacheSize || len(c.bySQL) != stmtCacheSize {
		t.Fatalf("cache holds %d statements (%d by text), want %d", c.lru.Len(), len(c.bySQL), stmtCacheSize)
	}
	if _, ok := c.bySQL[`SELECT id FROM t ORDER BY id`]; ok {
		t.Fatal("the least recently used statement is still cached")
	}
}
