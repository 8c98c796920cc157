package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// SecretEnv carries the webhook secret to the load process (not a flag: flags
// show in the process list).
const SecretEnv = "ORBIT_LOAD_WEBHOOK_SECRET"

// SummaryLine is the last line Main writes.
type SummaryLine struct {
	Summary Summary `json:"summary"`
	Error   string  `json:"error,omitempty"`
}

// Main is the load process: flags in, one JSON line per acknowledged send on
// stdout (flushed as it happens), then a SummaryLine.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	targets := fs.String("targets", "", "comma-separated receiver URLs")
	deliveries := fs.Int("deliveries", 1000, "distinct deliveries to get acknowledged")
	concurrency := fs.Int("concurrency", 32, "concurrent clients")
	repeat := fs.Float64("repeat", 0.1, "share of sends repeating an acknowledged delivery")
	repo := fs.String("repository", "", "workspace/slug the pushes are to")
	branch := fs.String("branch", "main", "branch the pushes are to")
	runID := fs.String("run-id", "", "prefix of request ids and commits (random when empty)")
	giveUp := fs.Duration("give-up", 60*time.Second, "how long to retry one delivery")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret := getenv(SecretEnv)
	if secret == "" {
		return fmt.Errorf("%s is not set", SecretEnv)
	}
	if *targets == "" || *repo == "" {
		return errors.New("-targets and -repository are required")
	}
	cfg := Config{
		Targets: strings.Split(*targets, ","), Secret: []byte(secret),
		Deliveries: *deliveries, Concurrency: *concurrency, RepeatRatio: *repeat,
		Repository: *repo, Branch: *branch, RunID: *runID, GiveUpAfter: *giveUp,
	}
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	var mu sync.Mutex
	sum, err := Run(ctx, cfg, func(a Ack) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(a)
		_ = w.Flush()
	})
	line := SummaryLine{Summary: sum}
	if err != nil {
		line.Error = err.Error()
	}
	_ = enc.Encode(line)
	return errors.Join(err, w.Flush())
}

// MainExit runs Main on the process's arguments and exits.
func MainExit(args []string) {
	if err := Main(context.Background(), args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
