package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/migrations"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlite"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlstore"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/storetest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// openTemp opens a store on a fresh file, closed when the test ends, and returns
// the file's path too (for a raw connection beside the store).
func openTemp(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "orbit.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "orbit.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := s.CreateSpace(t.Context(), store.Space{Name: "kept", Labels: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.GetSpace(t.Context(), store.RootSpaceID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db := rawDB(t, path)
	before := appliedAt(t, db)
	all, err := migrations.For("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(all) {
		t.Fatalf("schema_migrations has %d rows, want %d", len(before), len(all))
	}
	// Migrate on an up-to-date database applies nothing.
	applied, err := sqlstore.Migrate(t.Context(), db, sqlite.Dialect)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate applied %v, %v", applied, err)
	}

	s2, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	got, err := s2.GetSpace(t.Context(), sp.ID)
	if err != nil || got.Name != "kept" || len(got.Labels) != 1 {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	root2, err := s2.GetSpace(t.Context(), store.RootSpaceID)
	if err != nil || !root2.CreatedAt.Equal(root.CreatedAt) {
		t.Fatalf("root recreated on reopen: %v vs %v (%v)", root2.CreatedAt, root.CreatedAt, err)
	}
	after := appliedAt(t, db)
	for v, at := range before {
		if after[v] != at {
			t.Fatalf("migration %d re-applied on reopen: %q then %q", v, at, after[v])
		}
	}
	spaces, err := s2.AllSpaces(t.Context())
	if err != nil || len(spaces) != 2 {
		t.Fatalf("spaces after reopen: %d, %v", len(spaces), err)
	}
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	db := rawDB(t, path)
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	// A reference to a missing space is refused as not found.
	_, err := s.CreateStack(t.Context(), store.Stack{Name: "x", SpaceID: "missing"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stack in missing space: %v", err)
	}
}

func TestDialectClassifiesConstraintErrors(t *testing.T) {
	t.Parallel()
	_, path := openTemp(t) // migrates the schema the raw inserts use
	db := rawDB(t, path)
	if _, err := db.Exec(`PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	const insertStack = `INSERT INTO stacks (id, name, space_id, description, created_at, updated_at) VALUES ($1, 'n', $2, '', 'x', 'x')`
	_, fkErr := db.Exec(insertStack, "s1", "missing")
	if !sqlite.Dialect.IsForeignKeyViolation(fkErr) || sqlite.Dialect.IsUniqueViolation(fkErr) {
		t.Fatalf("foreign key error %v misclassified", fkErr)
	}
	if _, err := db.Exec(insertStack, "s1", store.RootSpaceID); err != nil {
		t.Fatal(err)
	}
	_, pkErr := db.Exec(insertStack, "s1", store.RootSpaceID)
	if !sqlite.Dialect.IsUniqueViolation(pkErr) || sqlite.Dialect.IsForeignKeyViolation(pkErr) {
		t.Fatalf("primary key error %v misclassified", pkErr)
	}
	const insertDefault = `INSERT INTO integrations (id, provider, name, is_default, space_id, created_at, updated_at) VALUES ($1, 'bitbucket_cloud', $2, $3, 'root', 'x', 'x')`
	if _, err := db.Exec(insertDefault, "i1", "one", true); err != nil {
		t.Fatal(err)
	}
	_, defErr := db.Exec(insertDefault, "i2", "two", true)
	if !sqlite.Dialect.IsUniqueViolation(defErr) {
		t.Fatalf("second default %v not a unique violation", defErr)
	}
	// The partial index only binds defaults.
	if _, err := db.Exec(insertDefault, "i3", "three", false); err != nil {
		t.Fatal(err)
	}
	_, nameErr := db.Exec(insertDefault, "i4", "three", false)
	if !sqlite.Dialect.IsUniqueViolation(nameErr) {
		t.Fatalf("duplicate name %v not a unique violation", nameErr)
	}
	if sqlite.Dialect.IsUniqueViolation(errors.New("UNIQUE constraint failed")) {
		t.Fatalf("plain error text must not count as a violation")
	}
}

// Two stores on one file stand for two processes: their writes wait on each
// other through the busy timeout instead of failing with SQLITE_BUSY.
func TestTwoStoresOnOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "orbit.db")
	var stores [2]*sqlite.Store
	for i := range stores {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores[i] = s
	}
	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				if _, err := s.CreateStack(t.Context(), store.Stack{Name: fmt.Sprintf("p%d-%d", i, j), SpaceID: store.RootSpaceID}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, s := range stores {
		items, _, err := s.ListStacks(t.Context(), store.ListFilter{PageSize: 500})
		if err != nil || len(items) != 2*each {
			t.Fatalf("each store sees %d stacks (%v), want %d", len(items), err, 2*each)
		}
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", filepath.Join(t.TempDir(), "a?b.db"), filepath.Join(t.TempDir(), "missing-dir", "x.db")} {
		if s, err := sqlite.Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func appliedAt(t *testing.T, db *sql.DB) map[int64]string {
	t.Helper()
	rows, err := db.Query(`SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var v int64
		var at string
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		out[v] = at
	}
	return out
}

// Every column holding sealed values is known to Reseal (orbit-server rekey): a new
// sealed column that is not listed would keep data under the old key after a rekey.
func TestResealKnowsEverySealedColumn(t *testing.T) {
	t.Parallel()
	_, path := openTemp(t)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND p.name LIKE '%sealed%' ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	known := map[string]bool{}
	for _, c := range sqlstore.SealedColumns() {
		known[c] = true
	}
	found := 0
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		found++
		if !known[table+"."+column] {
			t.Errorf("column %s.%s holds sealed values but sqlstore's sealedColumns does not list it", table, column)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if found != len(known) {
		t.Errorf("schema has %d sealed columns, sqlstore lists %d: %v", found, len(known), sqlstore.SealedColumns())
	}
}

// The database and its WAL files are created readable by the owner only: they hold
// sealed credentials and API key hashes.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	if _, err := s.CreateSpace(t.Context(), store.Space{Name: "x", ParentSpaceID: store.RootSpaceID}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(p), mode)
		}
	}
}

// ProbeWrite (what /readyz runs) fails on a database that cannot write, where a ping
// still succeeds.
func TestProbeWriteFailsOnReadOnlyDatabase(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	if err := s.ProbeWrite(t.Context()); err != nil {
		t.Fatalf("ProbeWrite on a writable database: %v", err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	ro := sqlstore.New(db, db, sqlite.Dialect)
	defer ro.Close()
	if err := ro.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := ro.ProbeWrite(t.Context()); err == nil {
		t.Fatal("ProbeWrite succeeds on a read-only database")
	}
}

// The store's own checkpointer copies the WAL into the database file in the
// background, long before the writer's threshold (1,000 pages) would.
func TestWALIsCheckpointedInTheBackground(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for i := range 60 {
		if _, err := s.CreateSpace(t.Context(), store.Space{Name: fmt.Sprintf("space-%03d-%0200d", i, i), ParentSpaceID: store.RootSpaceID}); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() > 900*4096 {
		t.Fatalf("WAL %v, %v: the writes should stay under the writer's checkpoint threshold", fi.Size(), err)
	}
	if !testwait.Until(20*time.Second, func() bool { return size() >= before+16<<10 }) {
		t.Fatalf("database file still %d bytes (%d before 60 spaces): the WAL was not checkpointed", size(), before)
	}
}

// Under writes that never pause, with readers beside them, the WAL must still be
// reset from time to time: a checkpoint that runs beside the writer never finds
// it fully copied, so the writer's own checkpoint stays as the backstop.
func TestWALStaysBoundedUnderContinuousWrites(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("3,000 synced writes under concurrent reads: skipped under -short (make test runs it)")
	}
	s, path := openTemp(t)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = s.GetSpace(t.Context(), store.RootSpaceID)
		}
	}()
	var writers sync.WaitGroup
	var largest int64
	var mu sync.Mutex
	for w := range 2 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 1500 {
				if _, err := s.CreateSpace(t.Context(), store.Space{Name: fmt.Sprintf("w%d-%04d-%0300d", w, i, i), ParentSpaceID: store.RootSpaceID}); err != nil {
					t.Error(err)
					return
				}
				if fi, err := os.Stat(path + "-wal"); err == nil {
					mu.Lock()
					largest = max(largest, fi.Size())
					mu.Unlock()
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	const limit = 24 << 20
	if largest > limit {
		t.Fatalf("the WAL grew to %d MiB over 3,000 small writes (limit %d MiB): it is never reset", largest>>20, limit>>20)
	}
}
