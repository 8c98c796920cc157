package main

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/e2e"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres/pgtest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// Two real orbit-server processes on one PostgreSQL database, started at the same
// moment on an empty database (the migrations race), both receiving deliveries,
// repeats of a delivery sometimes going to the other replica: every delivery is
// stored once and dispatched exactly once, by one replica or the other.
func TestTwoReplicasOnePostgres(t *testing.T) {
	t.Parallel()
	multiProcess(t)
	cluster := pgtest.Start(t)
	db := e2e.Database{Engine: "postgres", Arg: cluster.NewDatabase(t)}
	sb, err := e2e.StartSandbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	keys, err := e2e.NewKeys()
	if err != nil {
		t.Fatal(err)
	}

	replicas := startTogether(t, func() *e2e.Server { return startServer(t, db, sb, keys, "") })

	api := e2e.API{URL: replicas[0].URL, Key: keys.AdminKey}
	ctx := t.Context()
	in, err := api.CloudIntegration(ctx, "replicated", e2e.SandboxEmail, e2e.SandboxToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"infra-a", "infra-b"} {
		stack, err := api.Stack(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := api.Bind(ctx, stack, in.ID, "acme", "infra", "main"); err != nil {
			t.Fatal(err)
		}
	}

	const deliveries = 200
	path := "/webhooks/bitbucket-cloud/" + in.Name
	load := startLoad(t, in.WebhookSecret, []string{replicas[0].URL + path, replicas[1].URL + path}, deliveries, 8, 0.2, "replicas")
	acks, sum := load.wait(t)
	if sum.Deliveries != deliveries || sum.Failed != 0 {
		t.Fatalf("load: %+v", sum)
	}
	counts := waitDrained(t, db, deliveries)
	if counts.Deliveries != deliveries {
		t.Fatalf("%d deliveries stored for %d distinct sent (%d sends)", counts.Deliveries, deliveries, len(acks))
	}

	// Migrations: each version once although both replicas started together.
	raw, err := db.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var rows, versions int
	if err := raw.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil || rows != versions || rows == 0 {
		t.Fatalf("schema_migrations: %d rows, %d versions, %v", rows, versions, err)
	}
	checkDispatchedOnce(t, raw, replicas[:], deliveries)

	// Each delivery made one run per bound stack, and each run's commit status was
	// posted once: two stacks, so two status POSTs per commit, one status per key.
	var runs, dupRuns int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM runs`).Scan(&runs); err != nil || runs != 2*deliveries {
		t.Fatalf("%d runs (%v), want %d", runs, err, 2*deliveries)
	}
	if err := raw.QueryRow(`SELECT COUNT(*) FROM (SELECT delivery_id, stack_id FROM runs GROUP BY delivery_id, stack_id HAVING COUNT(*) > 1) d`).Scan(&dupRuns); err != nil || dupRuns != 0 {
		t.Fatalf("%d deliveries with a stack's run twice (%v)", dupRuns, err)
	}
	posts := map[string]int{}
	for _, r := range sb.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/statuses/build") {
			posts[r.Path]++
		}
	}
	statuses := map[string]int{}
	for _, st := range sb.Statuses() {
		statuses[st.Commit]++
	}
	for _, a := range acks {
		path := "/2.0/repositories/acme/infra/commit/" + a.Commit + "/statuses/build"
		if posts[path] != 2 || statuses[a.Commit] != 2 {
			t.Errorf("commit %s: %d status POSTs and %d statuses, want 2 and 2", a.Commit, posts[path], statuses[a.Commit])
		}
	}
}

// Two real orbit-server processes started at the same moment on one empty
// PostgreSQL database without ORBIT_BOOTSTRAP_KEY: one admin key is created and
// printed, by one of them, and both accept it.
func TestTwoReplicasGenerateOneBootstrapKey(t *testing.T) {
	t.Parallel()
	multiProcess(t)
	db := e2e.Database{Engine: "postgres", Arg: pgtest.Start(t).NewDatabase(t)}
	keys, err := e2e.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	// ORBIT_BOOTSTRAP_KEY set empty is unset, whatever this process inherited.
	env := []string{"ORBIT_SECRET_KEY=" + keys.SecretKey, "ORBIT_BOOTSTRAP_KEY="}
	replicas := startTogether(t, func() *e2e.Server { return startServerEnv(t, db, nil, env, "") })
	var printed []string
	for _, r := range replicas {
		printed = append(printed, printedKey.FindAllString(r.Output(), -1)...)
	}
	if len(printed) != 1 {
		t.Fatalf("%d admin keys printed by the two replicas, want 1:\n%s\n%s", len(printed), replicas[0].Output(), replicas[1].Output())
	}
	for i, r := range replicas {
		if err := (e2e.API{URL: r.URL, Key: printed[0]}).Do(t.Context(), "GET", "/api-keys", nil, nil); err != nil {
			t.Fatalf("replica %d with the printed key: %v", i, err)
		}
	}
	raw, err := db.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM api_keys`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d API keys stored (%v), want 1", n, err)
	}
}

// checkDispatchedOnce: across the servers' logs, every stored delivery was
// dispatched exactly once, and the database agrees (each processed, runs unique).
func checkDispatchedOnce(t *testing.T, raw *sql.DB, servers []*e2e.Server, deliveries int) {
	t.Helper()
	rows, err := raw.QueryContext(context.Background(), `SELECT id FROM webhook_deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var stored []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The log line of a dispatch is written after its transaction: wait until the
	// logs name every stored delivery.
	var dispatched map[string]int
	testwait.Until(30*time.Second, func() bool {
		dispatched = map[string]int{}
		for _, s := range servers {
			dispatchedLog(s.Output(), dispatched)
		}
		for _, id := range stored {
			if dispatched[id] == 0 {
				return false
			}
		}
		return true
	})
	for _, id := range stored {
		if dispatched[id] != 1 {
			t.Errorf("delivery %s dispatched %d times", id, dispatched[id])
		}
	}
	if len(stored) != deliveries || len(dispatched) != deliveries {
		t.Fatalf("%d deliveries stored, %d dispatched; want %d", len(stored), len(dispatched), deliveries)
	}
}

// startTogether starts two replicas at the same moment (start fails the test on
// its own errors) and fails when either did not start.
func startTogether(t *testing.T, start func() *e2e.Server) [2]*e2e.Server {
	t.Helper()
	var replicas [2]*e2e.Server
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replicas[i] = start()
		}()
	}
	wg.Wait()
	for i, r := range replicas {
		if r == nil {
			t.Fatalf("replica %d did not start", i)
		}
	}
	return replicas
}
