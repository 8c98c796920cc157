// Command ingest measures orbit-server's webhook receiver: signed Bitbucket Cloud
// push deliveries per second with p50/p99 latency of the 2xx, on SQLite and on
// PostgreSQL, the load coming from a separate process (this program re-executed
// as `ingest load`) with about 10% repeated deliveries; and how fast the queue
// then turns the deliveries into runs and commit statuses.
//
//	go run ./bench/ingest -server bin/orbit-server   (make bench builds and runs it)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/benchfmt"
	"github.com/orbit-iac/terraform-provider-orbit/internal/e2e"
	"github.com/orbit-iac/terraform-provider-orbit/internal/loadgen"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "load" {
		loadgen.MainExit(os.Args[2:])
	}
	serverBin := flag.String("server", "bin/orbit-server", "orbit-server binary")
	deliveries := flag.Int("deliveries", 10000, "distinct deliveries per database")
	concurrency := flag.Int("concurrency", 32, "concurrent load clients")
	repeat := flag.Float64("repeat", 0.1, "share of repeated deliveries")
	engines := flag.String("db", "sqlite,postgres", "databases to measure")
	results := flag.String("results", "bench/results", "directory of the result files")
	flag.Parse()

	table := benchfmt.Table{
		Title: fmt.Sprintf("Ingest: signed deliveries from a separate process, %d clients, %.0f%% repeats", *concurrency, *repeat*100),
		Header: []string{"database", "deliveries", "repeats", "2xx/s", "p50 ms", "p99 ms", "max ms", "failed",
			"queue drained/s", "runs", "statuses", "server CPU ms/delivery (sends)", "(until drained)"},
	}
	load := loadAverage()
	for _, engine := range strings.Split(*engines, ",") {
		row, err := measure(engine, *serverBin, *deliveries, *concurrency, *repeat)
		e2e.MustEnv(err)
		table.Rows = append(table.Rows, row)
	}
	table.Notes = []string{
		"2xx/s counts every acknowledged send (repeats included); a 202 is sent only after the",
		"delivery and its job are committed. queue drained/s: distinct deliveries divided by the",
		"time from the first send until every delivery was dispatched into runs and every commit",
		"status was posted to the sandbox. PostgreSQL runs with fsync on. server CPU: orbit-server's",
		"user+sys CPU per distinct delivery, while the load ran (sends) and until the queue drained",
		"(the figure a busy machine disturbs least; the load generator and sandbox are other processes).",
		"Load average (1/5/15 min) before: " + load + "; after: " + loadAverage() + " (2 cores, shared).",
	}
	cmd := "make bench: " + strings.Join(os.Args, " ")
	e2e.MustEnv(benchfmt.Write(os.Stdout, *results, "ingest", cmd, table))
}

func measure(engine, serverBin string, deliveries, concurrency int, repeat float64) ([]string, error) {
	ctx := context.Background()
	var db e2e.Database
	switch engine {
	case "sqlite":
		dir, err := os.MkdirTemp("", "orbit-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		db = e2e.NewSQLite(dir)
	case "postgres":
		var err error
		if db, err = e2e.NewPostgres(true); err != nil {
			return nil, err
		}
		defer db.Close()
	default:
		return nil, fmt.Errorf("unknown database %q", engine)
	}
	sb, err := e2e.StartSandbox()
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	keys, err := e2e.NewKeys()
	if err != nil {
		return nil, err
	}
	srv, err := e2e.StartServer(ctx, serverBin, e2e.ServerArgs(db, sb), keys.Env(), "")
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Stop(30 * time.Second) }()
	api := e2e.API{URL: srv.URL, Key: keys.AdminKey}
	in, err := api.CloudIntegration(ctx, "bench", e2e.SandboxEmail, e2e.SandboxToken)
	if err != nil {
		return nil, err
	}
	stack, err := api.Stack(ctx, "bench-infra")
	if err != nil {
		return nil, err
	}
	if err := api.Bind(ctx, stack, in.ID, "acme", "infra", "main"); err != nil {
		return nil, err
	}
	raw, err := db.Open()
	if err != nil {
		return nil, err
	}
	defer raw.Close()

	fmt.Fprintf(os.Stderr, "ingest: %s: %d deliveries...\n", engine, deliveries)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	load := exec.Command(self, "load", "-targets", srv.URL+"/webhooks/bitbucket-cloud/"+in.Name,
		"-deliveries", fmt.Sprint(deliveries), "-concurrency", fmt.Sprint(concurrency),
		"-repeat", fmt.Sprint(repeat), "-repository", "acme/infra", "-branch", "main", "-run-id", engine)
	load.Env = append(os.Environ(), loadgen.SecretEnv+"="+in.WebhookSecret)
	load.Stderr = os.Stderr
	out, err := load.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := load.Start(); err != nil {
		return nil, err
	}
	var sum loadgen.SummaryLine
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), `{"summary"`) {
			if err := json.Unmarshal(sc.Bytes(), &sum); err != nil {
				return nil, err
			}
		}
	}
	if err := load.Wait(); err != nil {
		return nil, fmt.Errorf("load process: %w", err)
	}
	sendCPU := processCPU(srv.Pid())
	// Drained: every delivery dispatched and no job left (statuses posted).
	var counts e2e.QueueCounts
	for {
		if counts, err = e2e.CountQueue(ctx, raw); err != nil {
			return nil, err
		}
		if counts.Processed >= sum.Summary.Deliveries && counts.Jobs == 0 {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return nil, fmt.Errorf("queue not drained after 10 minutes: %+v", counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	drained := time.Since(start).Seconds()
	drainCPU := processCPU(srv.Pid())
	statuses := len(sb.Statuses())
	s := sum.Summary
	return []string{engine, fmt.Sprint(s.Deliveries), fmt.Sprint(s.Repeats), fmt.Sprintf("%.0f", s.PerSecond),
		fmt.Sprintf("%.1f", s.P50MS), fmt.Sprintf("%.1f", s.P99MS), fmt.Sprintf("%.1f", s.MaxMS), fmt.Sprint(s.Failed),
		fmt.Sprintf("%.0f", float64(counts.Processed)/drained), fmt.Sprint(counts.Runs), fmt.Sprint(statuses),
		fmt.Sprintf("%.3f", sendCPU.Seconds()*1000/float64(s.Deliveries)),
		fmt.Sprintf("%.3f", drainCPU.Seconds()*1000/float64(s.Deliveries))}, nil
}

// processCPU is a process's user+sys CPU so far (/proc/<pid>/stat, in clock ticks
// of 1/100 s on Linux), 0 when unreadable.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces) start at ") ".
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// loadAverage is /proc/loadavg's first three figures.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
