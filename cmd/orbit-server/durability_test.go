package main

import (
	"context"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/e2e"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store/postgres/pgtest"
)

// Under a steady load of signed deliveries from a separate process, orbit-server
// is killed with SIGKILL and started again on the same address; the load process
// retries what got no answer, as Bitbucket does. Afterwards every acknowledged
// delivery is stored once and dispatched, and none has its runs twice. Counts are
// bounded; traffic stays on loopback.
func TestKill9UnderLoad(t *testing.T) {
	t.Parallel()
	multiProcess(t)
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			var db e2e.Database
			if engine == "sqlite" {
				db = e2e.NewSQLite(t.TempDir())
			} else {
				db = e2e.Database{Engine: "postgres", Arg: pgtest.Start(t).NewDatabase(t)}
			}
			testKill9(t, db)
		})
	}
}

func testKill9(t *testing.T, db e2e.Database) {
	sb, err := e2e.StartSandbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	keys, err := e2e.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	// A short lease: jobs the killed process held are taken again soon after the restart.
	lease := []string{"--queue-lease", "2s"}
	srv := startServer(t, db, sb, keys, "", lease...)
	ctx := t.Context()
	api := e2e.API{URL: srv.URL, Key: keys.AdminKey}
	in, err := api.CloudIntegration(ctx, "durable", e2e.SandboxEmail, e2e.SandboxToken)
	if err != nil {
		t.Fatal(err)
	}
	stack, err := api.Stack(ctx, "infra")
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Bind(ctx, stack, in.ID, "acme", "infra", "main"); err != nil {
		t.Fatal(err)
	}

	const deliveries = 300
	load := startLoad(t, in.WebhookSecret, []string{srv.URL + "/webhooks/bitbucket-cloud/" + in.Name}, deliveries, 8, 0.1, "kill9-"+db.Engine)
	load.waitAcks(t, deliveries/3)
	srv.Kill()
	load.mu.Lock()
	ackedAtKill := len(load.acks)
	load.mu.Unlock()
	_ = startServer(t, db, sb, keys, srv.Addr, lease...) // the restarted server takes the rest of the load
	acks, sum := load.wait(t)
	if sum.Deliveries != deliveries || sum.Failed != 0 {
		t.Fatalf("load: %+v", sum)
	}
	if ackedAtKill >= len(acks) {
		t.Fatalf("nothing was acknowledged after the restart (%d at the kill, %d in all)", ackedAtKill, len(acks))
	}
	counts := waitDrained(t, db, deliveries)
	t.Logf("%d sends acknowledged (%d before the kill, %d retries), %+v", len(acks), ackedAtKill, sum.Retries, counts)

	raw, err := db.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	stored := map[string]string{} // request id -> delivery id
	rows, err := raw.QueryContext(context.Background(), `SELECT request_id, id FROM webhook_deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var req, id string
		if err := rows.Scan(&req, &id); err != nil {
			t.Fatal(err)
		}
		stored[req] = id
	}
	rows.Close()
	acked := map[string]bool{}
	for _, a := range acks {
		acked[a.RequestID] = true
		if stored[a.RequestID] == "" {
			t.Errorf("delivery %s (commit %s) got a %d but is not stored", a.RequestID, a.Commit, a.Status)
		}
	}
	if len(acked) != deliveries || len(stored) != deliveries {
		t.Fatalf("%d distinct deliveries acknowledged, %d stored; want %d", len(acked), len(stored), deliveries)
	}
	// Runs: each delivery produced one run of the bound stack, never two.
	runsOf := map[string]int{}
	rows, err = raw.QueryContext(context.Background(), `SELECT delivery_id FROM runs WHERE stack_id = $1`, stack)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		runsOf[id]++
	}
	rows.Close()
	for req, id := range stored {
		if runsOf[id] != 1 {
			t.Errorf("delivery %s has %d runs, want 1", req, runsOf[id])
		}
	}
	// Statuses: every acknowledged push has the commit status of its stack's run
	// in Bitbucket (the sandbox keeps one per commit and key, so none twice).
	statusOf := map[string]int{}
	for _, st := range sb.Statuses() {
		if st.Namespace == "acme" && st.Repository == "infra" {
			statusOf[st.Commit]++
		}
	}
	for _, a := range acks {
		if statusOf[a.Commit] != 1 {
			t.Errorf("commit %s of delivery %s has %d statuses, want 1", a.Commit, a.RequestID, statusOf[a.Commit])
		}
	}
}
