// Command retention shows orbit-server's database reaching a plateau under a
// steady stream of signed deliveries with retention on: a real orbit-server
// process, deliveries at a fixed rate to a bound stack (each one a run and its
// commit status), every run finished through the API soon after, and bodies,
// delivery rows and finished runs pruned after short windows. Every sample prints
// the rows kept and the size of the database; once the longest window has passed,
// the size stops growing while the stream goes on.
//
//	go run ./bench/retention -server bin/orbit-server   (make bench builds and runs it)
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/benchfmt"
	"github.com/orbit-iac/terraform-provider-orbit/internal/e2e"
	"github.com/orbit-iac/terraform-provider-orbit/internal/loadgen"
)

type options struct {
	serverBin              string
	rate                   int
	duration, sample       time.Duration
	bodyWindow, rowsWindow time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.serverBin, "server", "bin/orbit-server", "orbit-server binary")
	flag.IntVar(&o.rate, "rate", 40, "deliveries per second")
	flag.DurationVar(&o.duration, "duration", 3*time.Minute, "how long the stream runs")
	flag.DurationVar(&o.sample, "sample", 15*time.Second, "time between two samples")
	flag.DurationVar(&o.bodyWindow, "body-retention", 15*time.Second, "--delivery-body-retention of the server")
	flag.DurationVar(&o.rowsWindow, "retention", time.Minute, "--delivery-retention and --run-retention of the server")
	engines := flag.String("db", "sqlite,postgres", "databases to measure")
	results := flag.String("results", "bench/results", "directory of the result files")
	flag.Parse()

	var tables []benchfmt.Table
	for _, engine := range strings.Split(*engines, ",") {
		table, err := measure(engine, o)
		e2e.MustEnv(err)
		tables = append(tables, table)
	}
	cmd := "make bench: " + strings.Join(os.Args, " ")
	e2e.MustEnv(benchfmt.Write(os.Stdout, *results, "retention", cmd, tables...))
}

func measure(engine string, o options) (benchfmt.Table, error) {
	ctx := context.Background()
	table := benchfmt.Table{
		Title: fmt.Sprintf("Retention on %s: %d deliveries/s for %s; bodies kept %s, deliveries and finished runs %s",
			engine, o.rate, o.duration, o.bodyWindow, o.rowsWindow),
		Header: []string{"t s", "sent", "deliveries", "with body", "runs", "database MB", "WAL MB"},
	}
	var db e2e.Database
	switch engine {
	case "sqlite":
		dir, err := os.MkdirTemp("", "orbit-bench-retention-")
		if err != nil {
			return table, err
		}
		defer os.RemoveAll(dir)
		db = e2e.NewSQLite(dir)
	case "postgres":
		var err error
		if db, err = e2e.NewPostgres(true); err != nil {
			return table, err
		}
		defer db.Close()
	default:
		return table, fmt.Errorf("unknown database %q", engine)
	}
	sb, err := e2e.StartSandbox()
	if err != nil {
		return table, err
	}
	defer sb.Close()
	keys, err := e2e.NewKeys()
	if err != nil {
		return table, err
	}
	args := append(e2e.ServerArgs(db, sb),
		"--delivery-body-retention", o.bodyWindow.String(), "--delivery-retention", o.rowsWindow.String(),
		"--run-retention", o.rowsWindow.String(), "--retention-interval", "5s")
	srv, err := e2e.StartServer(ctx, o.serverBin, args, keys.Env(), "")
	if err != nil {
		return table, err
	}
	defer func() { _ = srv.Stop(30 * time.Second) }()
	api := e2e.API{URL: srv.URL, Key: keys.AdminKey}
	in, err := api.CloudIntegration(ctx, "bench", e2e.SandboxEmail, e2e.SandboxToken)
	if err != nil {
		return table, err
	}
	stack, err := api.Stack(ctx, "bench-infra")
	if err != nil {
		return table, err
	}
	if err := api.Bind(ctx, stack, in.ID, "acme", "infra", "main"); err != nil {
		return table, err
	}
	raw, err := db.Open()
	if err != nil {
		return table, err
	}
	defer raw.Close()

	fmt.Fprintf(os.Stderr, "retention: %s: %d deliveries/s for %s...\n", engine, o.rate, o.duration)
	streamCtx, stop := context.WithTimeout(ctx, o.duration)
	defer stop()
	var (
		mu   sync.Mutex
		sent int
		errs []error
	)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the stream: rate deliveries every second
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for second := 0; ; second++ {
			sum, err := loadgen.Run(streamCtx, loadgen.Config{
				Targets: []string{srv.URL + "/webhooks/bitbucket-cloud/" + in.Name}, Secret: []byte(in.WebhookSecret),
				Deliveries: o.rate, Concurrency: 4, Repository: "acme/infra", Branch: "main",
				RunID: fmt.Sprintf("%s-%d", engine, second),
			}, func(loadgen.Ack) {})
			mu.Lock()
			sent += sum.Deliveries
			if err != nil && streamCtx.Err() == nil {
				errs = append(errs, err)
			}
			mu.Unlock()
			select {
			case <-streamCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	go func() { // the runs: reported finished soon after they start, as a CI would
		defer wg.Done()
		for streamCtx.Err() == nil {
			if err := finishRuns(streamCtx, raw, api); err != nil && streamCtx.Err() == nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			select {
			case <-streamCtx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}()
	start := time.Now()
	var sizes []float64
	for {
		wait := time.Until(start.Add(time.Duration(len(table.Rows)+1) * o.sample))
		if wait > 0 {
			time.Sleep(wait)
		}
		mu.Lock()
		n := sent
		mu.Unlock()
		row, size, err := sample(ctx, engine, db, raw)
		if err != nil {
			return table, err
		}
		sizes = append(sizes, size)
		table.Rows = append(table.Rows, append([]string{fmt.Sprintf("%.0f", time.Since(start).Seconds()), fmt.Sprint(n)}, row...))
		if time.Since(start) >= o.duration {
			break
		}
	}
	stop()
	wg.Wait()
	if len(errs) > 0 {
		return table, fmt.Errorf("%d errors in the stream, the first: %w", len(errs), errs[0])
	}
	// Growth over the samples after the longest window (and a pruning round) has passed.
	settled := int((o.rowsWindow+10*time.Second+o.sample-1)/o.sample) - 1
	if settled < len(sizes)-1 {
		table.Notes = append(table.Notes, fmt.Sprintf("database size from t=%ss on: %.1f MB to %.1f MB, while %d more deliveries came",
			table.Rows[settled][0], sizes[settled], sizes[len(sizes)-1], atoi(table.Rows[len(table.Rows)-1][1])-atoi(table.Rows[settled][1])))
	}
	table.Notes = append(table.Notes,
		"deliveries: rows in webhook_deliveries; with body: those still holding their body; runs: rows in runs.",
		"database MB: the SQLite file (its free pages are reused, so it stops growing, it does not shrink) or",
		"pg_database_size; WAL MB: the SQLite -wal file. Bodies are the load generator's Cloud pushes (about",
		"1.5 KB; real pushes are larger, which makes dropping bodies matter more).")
	return table, nil
}

// finishRuns reports a result for the runs not finished yet.
func finishRuns(ctx context.Context, raw *sql.DB, api e2e.API) error {
	rows, err := raw.QueryContext(ctx, `SELECT id FROM runs WHERE state <> 'finished' ORDER BY created_at LIMIT 1000`)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		err := api.Do(ctx, http.MethodPost, "/runs/"+id+"/result", map[string]any{"result": "succeeded"}, nil)
		if err != nil && !strings.Contains(err.Error(), "409") {
			return err
		}
	}
	return rows.Err()
}

// sample reads the rows kept and the database size.
func sample(ctx context.Context, engine string, db e2e.Database, raw *sql.DB) ([]string, float64, error) {
	var deliveries, bodies, runs int
	err := raw.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM webhook_deliveries),
		(SELECT COUNT(*) FROM webhook_deliveries WHERE body <> ''), (SELECT COUNT(*) FROM runs)`).Scan(&deliveries, &bodies, &runs)
	if err != nil {
		return nil, 0, err
	}
	var size, wal float64
	if engine == "postgres" {
		var b int64
		if err := raw.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&b); err != nil {
			return nil, 0, err
		}
		size = float64(b) / (1 << 20)
	} else {
		size = fileMB(db.Arg)
		wal = fileMB(db.Arg + "-wal")
	}
	return []string{fmt.Sprint(deliveries), fmt.Sprint(bodies), fmt.Sprint(runs), fmt.Sprintf("%.1f", size), fmt.Sprintf("%.1f", wal)}, size, nil
}

func fileMB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}
