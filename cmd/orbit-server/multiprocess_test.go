package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/e2e"
	"github.com/orbit-iac/terraform-provider-orbit/internal/loadgen"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// roleEnv makes this test binary act as orbit-server or as the load process, so
// the multi-process tests run real separate processes without building binaries.
const roleEnv = "ORBIT_TEST_PROCESS_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "server":
		main()
		os.Exit(0)
	case "load":
		loadgen.MainExit(os.Args[1:])
	}
	os.Exit(m.Run())
}

// multiProcess skips a test that runs orbit-server as separate processes (and
// kills them) under -short; make test runs it.
func multiProcess(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process test (orbit-server as separate processes): skipped under -short (make test runs it)")
	}
}

// startServer runs this binary as orbit-server (addr "" = a free port).
func startServer(t *testing.T, db e2e.Database, sb *e2e.Sandbox, keys e2e.Keys, addr string, extra ...string) *e2e.Server {
	t.Helper()
	return startServerEnv(t, db, sb, keys.Env(), addr, extra...)
}

// startServerEnv is startServer with the environment given variable by variable.
func startServerEnv(t *testing.T, db e2e.Database, sb *e2e.Sandbox, env []string, addr string, extra ...string) *e2e.Server {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := e2e.StartServer(t.Context(), self, append(e2e.ServerArgs(db, sb), extra...), append(env, roleEnv+"=server"), addr)
	if err != nil {
		t.Fatalf("start orbit-server: %v", err)
	}
	t.Cleanup(func() {
		if !srv.Exited() {
			srv.Kill()
		}
	})
	return srv
}

// loadProcess is the load generator running as a separate process.
type loadProcess struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	acks    []loadgen.Ack
	summary *loadgen.SummaryLine
	done    chan struct{}
	ackCh   chan struct{}
}

func startLoad(t *testing.T, secret string, targets []string, deliveries, concurrency int, repeat float64, runID string) *loadProcess {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-targets", strings.Join(targets, ","), "-deliveries", fmt.Sprint(deliveries),
		"-concurrency", fmt.Sprint(concurrency), "-repeat", fmt.Sprint(repeat),
		"-repository", "acme/infra", "-branch", "main", "-run-id", runID, "-give-up", "90s")
	cmd.Env = append(os.Environ(), roleEnv+"=load", loadgen.SecretEnv+"="+secret)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	lp := &loadProcess{cmd: cmd, done: make(chan struct{}), ackCh: make(chan struct{}, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-lp.done })
	go func() {
		defer close(lp.done)
		lp.read(out)
		_ = cmd.Wait()
	}()
	return lp
}

func (lp *loadProcess) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Bytes()
		lp.mu.Lock()
		if strings.HasPrefix(string(line), `{"summary"`) {
			var s loadgen.SummaryLine
			if json.Unmarshal(line, &s) == nil {
				lp.summary = &s
			}
		} else {
			var a loadgen.Ack
			if json.Unmarshal(line, &a) == nil {
				lp.acks = append(lp.acks, a)
			}
		}
		lp.mu.Unlock()
		select {
		case lp.ackCh <- struct{}{}:
		default:
		}
	}
}

// waitAcks waits until n sends were acknowledged.
func (lp *loadProcess) waitAcks(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		lp.mu.Lock()
		got := len(lp.acks)
		lp.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-lp.ackCh:
		case <-lp.done:
			t.Fatalf("load process ended after %d acks, before %d", got, n)
		case <-deadline:
			t.Fatalf("only %d acks in 2 minutes", got)
		}
	}
}

// wait waits for the load process to finish and returns what it acknowledged.
func (lp *loadProcess) wait(t *testing.T) ([]loadgen.Ack, loadgen.Summary) {
	t.Helper()
	select {
	case <-lp.done:
	case <-time.After(5 * time.Minute):
		t.Fatal("load process did not finish in 5 minutes")
	}
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.summary == nil {
		t.Fatalf("load process wrote no summary (exit %v)", lp.cmd.ProcessState)
	}
	if lp.summary.Error != "" {
		t.Fatalf("load process: %s", lp.summary.Error)
	}
	return lp.acks, lp.summary.Summary
}

// waitDrained waits until every stored delivery was dispatched and no job is left.
func waitDrained(t *testing.T, db e2e.Database, wantDeliveries int) e2e.QueueCounts {
	t.Helper()
	raw, err := db.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var c e2e.QueueCounts
	if !testwait.Until(3*time.Minute, func() bool {
		var err error
		if c, err = e2e.CountQueue(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
		return c.Deliveries >= wantDeliveries && c.Processed == c.Deliveries && c.Jobs == 0
	}) {
		t.Fatalf("queue not drained in 3 minutes: %+v (want %d deliveries)", c, wantDeliveries)
	}
	return c
}

// dispatchedLog counts, per delivery id, the "delivery dispatched" lines in a
// server's JSON log.
func dispatchedLog(output string, into map[string]int) {
	for _, line := range strings.Split(output, "\n") {
		var rec struct {
			Msg        string `json:"msg"`
			DeliveryID string `json:"delivery_id"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "delivery dispatched" {
			into[rec.DeliveryID]++
		}
	}
}
