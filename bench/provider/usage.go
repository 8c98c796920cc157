package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// usage is what one terraform command cost, split between Terraform core and the
// provider processes it started.
//
// The provider runs under rss-wrap, which appends one line per provider process to
// the env's usage file: the provider's peak resident set (KiB), its user and system
// CPU, and the wrapper's own user and system CPU (µs). Terraform's rusage, as wait4
// gives it, includes every descendant it waited for (the wrappers and providers),
// so core CPU is Terraform's minus those lines. Its peak resident set is the
// largest in the tree: when that is above every provider's it is Terraform's own;
// otherwise VmHWM of the terraform process, read every 20 ms while it runs.
type usage struct {
	wall                         time.Duration
	coreCPU, providerCPU         time.Duration
	corePeakKiB, providerPeakKiB int64
	providerProcs                int
	sandboxRequests, orbitWrites int
	orbitRequests                float64
	output                       string
	exitCode                     int
}

func (u usage) coreMiB() float64     { return float64(u.corePeakKiB) / 1024 }
func (u usage) providerMiB() float64 { return float64(u.providerPeakKiB) / 1024 }

// recordUsage appends the provider's and the wrapper's usage to the usage file.
func recordUsage(provider *syscall.Rusage) {
	var self syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	f, err := os.OpenFile(os.Getenv(rssFileEnv), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, provider.Maxrss, // KiB on Linux
		tvMicros(provider.Utime), tvMicros(provider.Stime), tvMicros(self.Utime), tvMicros(self.Stime))
}

func tvMicros(tv syscall.Timeval) int64 { return tv.Sec*1_000_000 + tv.Usec }

// providerLines reads the usage file: one []int64 per provider process.
func (e *env) providerLines() [][]int64 {
	data, err := os.ReadFile(e.rssFile)
	if err != nil {
		return nil
	}
	var out [][]int64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var vals []int64
		for _, f := range strings.Fields(line) {
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				break
			}
			vals = append(vals, v)
		}
		if len(vals) == 5 {
			out = append(out, vals)
		}
	}
	return out
}

// measure runs one terraform command and returns its usage (requests included).
func (b *bench) measure(e *env, args ...string) (usage, error) {
	_ = os.Remove(e.rssFile)
	sbBefore := countSandbox(e.sb)
	orbitBefore, orbitWritesBefore, err := orbitAllRequests(e.srv.URL)
	if err != nil {
		return usage{}, err
	}
	cmd := exec.Command(b.terraformBin, args...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), e.vars...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return usage{}, err
	}
	var hwm int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := vmHWM(cmd.Process.Pid); v > hwm {
				hwm = v
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	err = cmd.Wait()
	u := usage{wall: time.Since(start), output: out.String()}
	close(done)
	wg.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		u.exitCode, err = exit.ExitCode(), nil
	}
	if err != nil {
		return u, err
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return u, errors.New("no rusage for terraform")
	}
	var wrappers int64
	for _, l := range e.providerLines() {
		u.providerProcs++
		u.providerPeakKiB = max(u.providerPeakKiB, l[0])
		u.providerCPU += time.Duration(l[1]+l[2]) * time.Microsecond
		wrappers += l[3] + l[4]
	}
	total := time.Duration(tvMicros(ru.Utime)+tvMicros(ru.Stime)) * time.Microsecond
	u.coreCPU = total - u.providerCPU - time.Duration(wrappers)*time.Microsecond
	if u.coreCPU < 0 {
		return u, fmt.Errorf("terraform's rusage (%v) does not include its providers' (%v): cannot split core from provider", total, u.providerCPU)
	}
	u.corePeakKiB = hwm
	if ru.Maxrss > u.providerPeakKiB {
		u.corePeakKiB = max(hwm, ru.Maxrss)
	}
	sbAfter := countSandbox(e.sb)
	orbitAfter, orbitWritesAfter, err := orbitAllRequests(e.srv.URL)
	u.sandboxRequests = sbAfter.all - sbBefore.all
	u.orbitRequests = orbitAfter - orbitBefore
	u.orbitWrites = int(orbitWritesAfter - orbitWritesBefore)
	return u, err
}

// vmHWM is a process's peak resident set (KiB) so far, 0 when unreadable.
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
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

// orbitAllRequests sums orbit_http_requests_total over the API routes from
// /metrics: every request, and the writes among them (any method but GET).
func orbitAllRequests(base string) (all, writes float64, err error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "orbit_http_requests_total{") || !strings.Contains(line, ` /api/`) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			continue
		}
		all += v
		if !strings.Contains(line, `route="GET `) {
			writes += v
		}
	}
	return all, writes, sc.Err()
}
