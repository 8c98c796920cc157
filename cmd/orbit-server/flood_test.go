package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/e2e"
	"github.com/orbit-iac/terraform-provider-orbit/internal/loadgen"
)

// peakRSS is a process's VmHWM (its peak resident set) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

// TestWebhookFloodKeepsMemoryBounded (issue 19): 256 concurrent 1 MiB deliveries
// with a wrong signature, each from an address of its own (through a trusted
// proxy, so that the per-address limit does not stop them: the read slots must),
// keep the orbit-server process under 150 MB of peak RSS; /readyz and an API GET
// answer during the flood; a correctly signed delivery after it is accepted.
func TestWebhookFloodKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood of 256 MiB of requests: not with -short")
	}
	t.Parallel()
	db := e2e.NewSQLite(t.TempDir())
	sb, err := e2e.StartSandbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	keys, err := e2e.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, db, sb, keys, "", "--trusted-proxies", "127.0.0.1")
	api := e2e.API{URL: srv.URL, Key: keys.AdminKey}
	in, err := api.CloudIntegration(t.Context(), "flooded", e2e.SandboxEmail, e2e.SandboxToken)
	if err != nil {
		t.Fatal(err)
	}
	target := srv.URL + "/webhooks/bitbucket-cloud/" + in.Name
	before := peakRSS(t, srv.Pid())

	const concurrency, size = 256, 1 << 20
	body := bytes.Repeat([]byte("x"), size)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: 0}, Timeout: 2 * time.Minute}
	var (
		sent    atomic.Int64
		address atomic.Int64
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		mu      sync.Mutex
		codes   = map[int]int{}
		errs    []error
	)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := address.Add(1)
				req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
				if err != nil {
					panic(err)
				}
				req.Header.Set("X-Event-Key", "repo:push")
				req.Header.Set("X-Request-UUID", fmt.Sprintf("flood-%d", n))
				req.Header.Set("X-Hub-Signature", "sha256="+strings.Repeat("0", 64))
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
				resp, err := client.Do(req)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					codes[resp.StatusCode]++
				}
				mu.Unlock()
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				sent.Add(1)
			}
		}()
	}
	// During the flood (a full round of it sent, and more on the way): the
	// readiness probe and the management API answer.
	for sent.Load() < concurrency {
		time.Sleep(10 * time.Millisecond)
	}
	for _, path := range []string{"/readyz", "/api/v1/integrations"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+keys.AdminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s during the flood: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s during the flood: %d", path, resp.StatusCode)
		}
	}
	for sent.Load() < 4*concurrency {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	peak := peakRSS(t, srv.Pid())
	t.Logf("flood: %d requests of 1 MiB, answers %v, %d transport errors; peak RSS %.1f MB before, %.1f MB after",
		sent.Load(), codes, len(errs), float64(before)/1e6, float64(peak)/1e6)
	if peak >= 150e6 {
		t.Errorf("peak RSS %.1f MB under the flood, want < 150 MB", float64(peak)/1e6)
	}
	for code := range codes {
		if code != http.StatusUnauthorized && code != http.StatusServiceUnavailable {
			t.Errorf("flood answered %d (%d times): want only 401 and 503", code, codes[code])
		}
	}
	if codes[http.StatusUnauthorized] == 0 {
		t.Error("no flood request was read and refused: the test did not exercise the read slots")
	}

	// After the flood, Bitbucket's signed delivery is accepted.
	push := loadgen.CloudPush("acme/infra", "main", strings.Repeat("ab", 20))
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(push))
	req.Header.Set("X-Event-Key", "repo:push")
	req.Header.Set("X-Request-UUID", "after-the-flood")
	req.Header.Set("X-Hub-Signature", loadgen.Sign([]byte(in.WebhookSecret), push))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed delivery after the flood: %d %s", resp.StatusCode, answer)
	}
}
