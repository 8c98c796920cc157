package sqlite

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"sync"

	"modernc.org/sqlite"
)

// stmtCacheSize bounds the prepared statements kept per connection. The store's
// constant queries number well under a hundred; queries built with a variable
// IN list come and go through the least recently used end.
const stmtCacheSize = 256

// The driver does not keep prepared statements between calls: every
// db.ExecContext / tx.QueryContext parses and plans its SQL again, which was a
// quarter of orbit-server's CPU under webhook load. cachingConnector wraps the
// modernc driver so that each connection keeps its statements by query text and
// runs them again with new arguments. It only changes how a statement is
// obtained: results, errors and transactions are the driver's own.
// It follows the interposition pattern the driver documents for NewConnector.
type cachingConnector struct{ driver.Connector }

func newCachingConnector(dsn string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{base}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	inner, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(inner)
}

// innerConn is what the modernc connection provides and the wrapper forwards.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachingConn struct {
	inner innerConn

	mu    sync.Mutex
	lru   *list.List // of *cachedStmt, most recently used first
	bySQL map[string]*list.Element
	// prepares counts statements prepared for the cache (tests read it).
	prepares int
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	// busy is set while the statement runs or its rows are open; a second use of
	// the same text meanwhile (a nested query) gets a statement of its own.
	busy bool
	// evicted statements are closed when their last use ends.
	evicted bool
}

func newCachingConn(c driver.Conn) (*cachingConn, error) {
	inner, ok := c.(innerConn)
	if !ok {
		_ = c.Close()
		return nil, errors.New("sqlite: the driver's connection lacks the context interfaces the statement cache needs")
	}
	return &cachingConn{inner: inner, lru: list.New(), bySQL: map[string]*list.Element{}}, nil
}

// acquire returns the cached statement for query, preparing it when missing, or
// nil when it is in use (the caller then runs query uncached).
func (c *cachingConn) acquire(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.bySQL[query]; ok {
		cs := el.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(el)
		cs.busy = true
		return cs, nil
	}
	st, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.prepares++
	cs := &cachedStmt{query: query, stmt: st, busy: true}
	c.bySQL[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		oldest := c.lru.Back()
		old := oldest.Value.(*cachedStmt)
		c.lru.Remove(oldest)
		delete(c.bySQL, old.query)
		if old.busy {
			old.evicted = true
		} else {
			_ = old.stmt.Close()
		}
	}
	return cs, nil
}

func (c *cachingConn) release(cs *cachedStmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.busy = false
	if cs.evicted {
		_ = cs.stmt.Close()
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.inner.ExecContext(ctx, query, args)
	}
	defer c.release(cs)
	return cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.inner.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.release(cs)
		return nil, err
	}
	return &cachedRows{Rows: rows, release: func() { c.release(cs) }}, nil
}

// cachedRows hands the statement back when the rows are closed.
type cachedRows struct {
	driver.Rows
	release func()
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return err
}

func (c *cachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for el := c.lru.Front(); el != nil; el = el.Next() {
		errs = append(errs, el.Value.(*cachedStmt).stmt.Close())
	}
	c.lru.Init()
	clear(c.bySQL)
	c.mu.Unlock()
	errs = append(errs, c.inner.Close())
	return errors.Join(errs...)
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.PrepareContext(ctx, query)
}
func (c *cachingConn) Begin() (driver.Tx, error) { //nolint:staticcheck // driver.Conn requires it
	return c.inner.Begin() //nolint:staticcheck // forwarded as is
}
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.inner.Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.inner.IsValid() }
