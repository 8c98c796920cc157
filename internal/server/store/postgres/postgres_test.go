package postgres_test

import (
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/migrations"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres/pgtest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/sqlstore"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/storetest"
)

// cluster is shared by the tests of this package: one initdb, a database each.
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Every test skips (needCluster) and says why.
		os.Exit(m.Run())
	}
	c, err := pgtest.StartCluster(pgtest.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the PostgreSQL store tests need a throwaway cluster:", err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	os.Exit(code)
}

// needCluster skips under -short, where no cluster is started: a PostgreSQL
// cluster is a tree of processes (make test and make test-postgres run these).
func needCluster(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("PostgreSQL store test: needs a throwaway cluster, skipped under -short (make test runs it)")
	}
}

func openFresh(t *testing.T) (*postgres.Store, string) {
	t.Helper()
	needCluster(t)
	dsn := cluster.NewDatabase(t)
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dsn
}

func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	t.Parallel()
	needCluster(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openFresh(t)
		return s
	})
}

// Replicas starting at the same moment on an empty database: every Open
// succeeds and each migration is applied exactly once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	needCluster(t)
	dsn := cluster.NewDatabase(t)
	const replicas = 6
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	start := make(chan struct{})
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s, err := postgres.Open(t.Context(), dsn)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	all, err := migrations.For("postgres")
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dsn)
	var rows, distinct int
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != len(all) || distinct != len(all) {
		t.Fatalf("schema_migrations: %d rows, %d versions; want %d each", rows, distinct, len(all))
	}
	var roots int
	if err := db.QueryRow(`SELECT count(*) FROM spaces WHERE id = 'root'`).Scan(&roots); err != nil || roots != 1 {
		t.Fatalf("root spaces: %d, %v", roots, err)
	}
}

func TestReopenSkipsMigrations(t *testing.T) {
	t.Parallel()
	needCluster(t)
	s, dsn := openFresh(t)
	sp, err := s.CreateSpace(t.Context(), store.Space{Name: "kept", Labels: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.GetSpace(t.Context(), store.RootSpaceID)
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dsn)
	applied, err := sqlstore.Migrate(t.Context(), db, postgres.Dialect)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate applied %v, %v", applied, err)
	}
	s2, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	got, err := s2.GetSpace(t.Context(), sp.ID)
	if err != nil || got.Name != "kept" || len(got.Labels) != 1 {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	root2, err := s2.GetSpace(t.Context(), store.RootSpaceID)
	if err != nil || !root2.CreatedAt.Equal(root.CreatedAt) || root.CreatedAt.IsZero() {
		t.Fatalf("root created_at %v then %v (%v)", root.CreatedAt, root2.CreatedAt, err)
	}
}

func TestDialectClassifiesConstraintErrors(t *testing.T) {
	t.Parallel()
	needCluster(t)
	_, dsn := openFresh(t)
	db := rawDB(t, dsn)
	const insertStack = `INSERT INTO stacks (id, name, space_id, description, created_at, updated_at) VALUES ($1, 'n', $2, '', 'x', 'x')`
	_, fkErr := db.Exec(insertStack, "s1", "missing")
	if !postgres.Dialect.IsForeignKeyViolation(fkErr) || postgres.Dialect.IsUniqueViolation(fkErr) {
		t.Fatalf("foreign key error %v misclassified", fkErr)
	}
	if _, err := db.Exec(insertStack, "s1", store.RootSpaceID); err != nil {
		t.Fatal(err)
	}
	_, pkErr := db.Exec(insertStack, "s1", store.RootSpaceID)
	if !postgres.Dialect.IsUniqueViolation(pkErr) || postgres.Dialect.IsForeignKeyViolation(pkErr) {
		t.Fatalf("primary key error %v misclassified", pkErr)
	}
	const insertDefault = `INSERT INTO integrations (id, provider, name, is_default, space_id, created_at, updated_at) VALUES ($1, 'bitbucket_cloud', $2, $3, 'root', 'x', 'x')`
	if _, err := db.Exec(insertDefault, "i1", "one", true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(insertDefault, "i2", "two", true); !postgres.Dialect.IsUniqueViolation(err) {
		t.Fatalf("second default %v not a unique violation", err)
	}
	if postgres.Dialect.IsUniqueViolation(errors.New("duplicate key value violates unique constraint")) {
		t.Fatalf("plain error text must not count as a violation")
	}
}

// The database's own collation does not decide the order: on a database whose
// default collation is ICU's root locale (a < A < b < B), names still list and
// page in byte order.
func TestByteOrderOnICUDatabase(t *testing.T) {
	t.Parallel()
	needCluster(t)
	admin := rawDB(t, cluster.URL("postgres"))
	if _, err := admin.Exec(`CREATE DATABASE orbit_icu TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und'`); err != nil {
		t.Fatalf("create an ICU database (PostgreSQL 15 built with ICU, as Debian's is): %v", err)
	}
	dsn := cluster.URL("orbit_icu")
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	names := []string{"b", "B", "a", "A", "_z", "\u00c4", "a b"}
	for _, n := range names {
		if _, err := s.CreateStack(t.Context(), store.Stack{Name: n, SpaceID: store.RootSpaceID}); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Sorted(slices.Values(names)) // Go compares strings byte by byte
	var natural []string
	rows, err := rawDB(t, dsn).Query(`SELECT name FROM stacks ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		natural = append(natural, n)
	}
	rows.Close()
	if slices.Equal(natural, want) {
		t.Fatalf("the database's own order %q is byte order: the test proves nothing", natural)
	}
	for _, size := range []int{100, 2} {
		var got []string
		token := ""
		for {
			items, next, err := s.ListStacks(t.Context(), store.ListFilter{PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				got = append(got, it.Name)
			}
			if next == "" {
				break
			}
			token = next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("page size %d: order %q, want byte order %q", size, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	needCluster(t)
	if _, err := postgres.Open(t.Context(), "orbit.db"); err == nil {
		t.Fatal("a file path opened as PostgreSQL")
	}
	// Nothing listens on port 1; the password must not reach the error.
	_, err := postgres.Open(t.Context(), "postgres://orbit:hunter2-secret@127.0.0.1:1/orbit?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("opened a database on a closed port")
	}
	if strings.Contains(err.Error(), "hunter2-secret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}
