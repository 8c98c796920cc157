// Command provider measures the Terraform provider against orbit-server and the
// Bitbucket sandbox on loopback, with the real terraform binary:
//
//   - scale: N repository webhooks (and N stacks with VCS bindings): apply and the
//     no-change plan after it, each with wall time, CPU and peak memory of
//     Terraform core and of the provider apart (usage.go), and the requests per
//     resource to the sandbox and to orbit-server (scale.go);
//
//   - compare: the provider of a base commit (built in a temporary git worktree)
//     and the one under test, paired runs of apply + no-change plan of N hooks
//     (compare.go);
//
//   - bindings: N stacks + N bindings written with count, for_each or a module
//     instance per repository, N = 100..1,000 (bindings.go);
//
//   - faults: apply of 300 webhooks while 30% of the sandbox's API answers are
//     429 (half with Retry-After, half without) or 503, against a fault-free run.
//
//     go run ./bench/provider -mode scale|compare|bindings|faults   (make bench builds and runs it)
//
// Profiles: a provider built with -tags benchprofile (main_profile.go) writes a CPU
// profile per process to the directory ORBIT_BENCH_CPUPROFILE names, which this
// program passes through Terraform to it:
//
//	go build -tags benchprofile -o /tmp/provider-prof .
//	ORBIT_BENCH_CPUPROFILE=/tmp/prof go run ./bench/provider -mode scale -n 500 -stacks=false -provider /tmp/provider-prof
//	go tool pprof -top /tmp/provider-prof /tmp/prof/cpu-*.pprof
//
// Terraform itself has no profile switch; `perf record -g` on the terraform process
// (TF_ACC_TERRAFORM_PATH pointing at a script that runs it under perf) works, its
// stripped addresses symbolized with `go tool addr2line` (Go keeps the line table).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/benchfmt"
	"github.com/orbit-iac/terraform-provider-orbit/internal/e2e"
	"github.com/orbit-iac/terraform-provider-orbit/internal/sandbox"
)

// rssFileEnv names the file the provider wrapper appends each provider
// process's peak resident memory (KiB) to.
const rssFileEnv = "ORBIT_BENCH_RSS_FILE"

func main() {
	if len(os.Args) > 2 && os.Args[1] == "rss-wrap" {
		os.Exit(rssWrap(os.Args[2], os.Args[3:]))
	}
	mode := flag.String("mode", "scale", "scale, compare, bindings or faults")
	serverBin := flag.String("server", "bin/orbit-server", "orbit-server binary")
	providerBin := flag.String("provider", "bin/terraform-provider-orbit", "provider binary")
	sizes := flag.String("n", "100,500", "scale: numbers of repositories")
	faultN := flag.Int("faults-n", 300, "faults: number of webhooks")
	stacks := flag.Bool("stacks", true, "scale: also N stacks with VCS bindings")
	results := flag.String("results", "bench/results", "directory of the result files")
	base := flag.String("base", "6c722c6", "compare: commit whose provider is the base (built in a temporary git worktree)")
	baseProvider := flag.String("base-provider", "", "compare: base provider binary (instead of building -base)")
	compareN := flag.Int("compare-n", 500, "compare: number of webhooks")
	reps := flag.Int("reps", 5, "compare: paired repetitions")
	bindingSizes := flag.String("bindings-n", "100,250,500,1000", "bindings: numbers of stacks (and bindings)")
	patterns := flag.String("patterns", "count,module", "bindings: configurations to measure (count, for_each, module)")
	slowMax := flag.Int("bindings-slow-max", 1000, "bindings: largest N for the quadratic patterns (count, for_each)")
	flag.Parse()

	tf, err := findTerraform()
	e2e.MustEnv(err)
	b := &bench{serverBin: abs(*serverBin), providerBin: abs(*providerBin), terraformBin: tf}
	cmd := "make bench: " + strings.Join(os.Args, " ")
	switch *mode {
	case "scale":
		table, err := b.scaleTable(*sizes, *stacks)
		e2e.MustEnv(err)
		e2e.MustEnv(benchfmt.Write(os.Stdout, *results, "provider-scale", cmd, table))
	case "compare":
		baseBin, label := *baseProvider, *baseProvider
		if baseBin == "" {
			bin, cleanup, err := buildProviderAt(*base)
			e2e.MustEnv(err)
			defer cleanup()
			baseBin, label = bin, gitDescribe(*base)
		}
		tables, err := b.compareTables(abs(baseBin), label, *compareN, *reps)
		e2e.MustEnv(err)
		e2e.MustEnv(benchfmt.Write(os.Stdout, *results, "provider-compare", cmd, tables...))
	case "bindings":
		table, err := b.bindingsTable(*bindingSizes, *patterns, *slowMax)
		e2e.MustEnv(err)
		e2e.MustEnv(benchfmt.Write(os.Stdout, *results, "provider-bindings", cmd, table))
	case "faults":
		table := benchfmt.Table{
			Title: fmt.Sprintf("Faults: apply of %d repository webhooks", *faultN),
			Header: []string{"sandbox answers", "apply s", "errors", "faults served", "API requests", "hooks created",
				"× fault-free", "floor s", "floor ×"},
		}
		free, err := b.faults(*faultN, false)
		e2e.MustEnv(err)
		faulty, err := b.faults(*faultN, true)
		e2e.MustEnv(err)
		floor := faultFloor(free, *faultN)
		table.Rows = [][]string{
			append(free.row, "1.00", "", ""),
			append(faulty.row, fmt.Sprintf("%.2f", faulty.took.Seconds()/free.took.Seconds()),
				fmt.Sprintf("%.1f", floor.Seconds()), fmt.Sprintf("%.2f", floor.Seconds()/free.took.Seconds())),
		}
		table.Notes = []string{
			fmt.Sprintf("faulty: of the sandbox's Bitbucket API answers, %.0f%% are 429 with Retry-After: %d, %.0f%% 429",
				100*faultRetryAfterShare, faultRetryAfterSeconds, 100*faultBareShare),
			fmt.Sprintf("without Retry-After (as Bitbucket Cloud often sends), %.0f%% 503, spread evenly.", 100*faultUnavailableShare),
			"errors: terraform apply's error diagnostics (the target is 0).",
			"floor: the fault-free time plus the Retry-After waits no client may skip, spread over",
			fmt.Sprintf("Terraform's %d parallel resources (faultFloor in bench/provider says how).", faultParallelism),
		}
		e2e.MustEnv(benchfmt.Write(os.Stdout, *results, "provider-faults", cmd, table))
	default:
		e2e.MustEnv(fmt.Errorf("unknown -mode %q", *mode))
	}
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	e2e.MustEnv(err)
	return a
}

func findTerraform() (string, error) {
	out, err := exec.Command("scripts/find-terraform.sh").Output()
	if err != nil {
		return "", fmt.Errorf("find terraform (run from the repository root): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

type bench struct {
	serverBin, providerBin, terraformBin string
}

// env is one fresh orbit-server + sandbox + Terraform working directory.
type env struct {
	dir     string
	sb      *e2e.Sandbox
	srv     *e2e.Server
	keys    e2e.Keys
	rssFile string
	vars    []string
}

func (b *bench) newEnv(repos int) (*env, error) {
	dir, err := os.MkdirTemp("", "orbit-bench-provider-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	if e.sb, err = e2e.StartSandbox(); err != nil {
		return nil, err
	}
	seed := sandbox.Seed{Cloud: sandbox.CloudSeed{Workspaces: []sandbox.CloudWorkspace{{Slug: "scale", Name: "Scale"}}}}
	for i := range repos {
		seed.Cloud.Repositories = append(seed.Cloud.Repositories, sandbox.CloudRepository{
			Workspace: "scale", Slug: repoSlug(i), MainBranch: "main"})
	}
	if err := e.sb.Seed(seed); err != nil {
		return nil, err
	}
	if e.keys, err = e2e.NewKeys(); err != nil {
		return nil, err
	}
	db := e2e.NewSQLite(dir)
	if e.srv, err = e2e.StartServer(context.Background(), b.serverBin, e2e.ServerArgs(db, e.sb), e.keys.Env(), ""); err != nil {
		return nil, err
	}
	// The provider runs through a wrapper that records its peak memory.
	wrapDir := filepath.Join(dir, "provider")
	if err := os.MkdirAll(wrapDir, 0o755); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	script := fmt.Sprintf("#!/bin/sh\nexec %q rss-wrap %q \"$@\"\n", self, b.providerBin)
	if err := os.WriteFile(filepath.Join(wrapDir, "terraform-provider-orbit"), []byte(script), 0o755); err != nil {
		return nil, err
	}
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/orbit-iac/orbit\" = %q\n  }\n  direct {}\n}\n", wrapDir)
	if err := os.WriteFile(filepath.Join(dir, "terraformrc"), []byte(rc), 0o644); err != nil {
		return nil, err
	}
	e.rssFile = filepath.Join(dir, "rss.txt")
	e.vars = []string{
		"TF_CLI_CONFIG_FILE=" + filepath.Join(dir, "terraformrc"),
		"TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
		"ORBIT_ENDPOINT=" + e.srv.URL, "ORBIT_API_KEY=" + e.keys.AdminKey,
		"BITBUCKET_CLOUD_API_URL=" + e.sb.URL,
		"BITBUCKET_CLOUD_EMAIL=" + e2e.SandboxEmail, "BITBUCKET_CLOUD_API_TOKEN=" + e2e.SandboxToken,
		"TF_VAR_cloud_api_token=" + e2e.SandboxToken,
		rssFileEnv + "=" + e.rssFile,
	}
	return e, nil
}

func (e *env) close() {
	if e.srv != nil {
		_ = e.srv.Stop(30 * time.Second)
	}
	if e.sb != nil {
		e.sb.Close()
	}
	os.RemoveAll(e.dir)
}

func repoSlug(i int) string { return fmt.Sprintf("repo-%04d", i) }

// integrationConfig is the start of every bench configuration: the provider, the
// token variable and one Cloud integration named name, placed by placement.
func integrationConfig(name, placement string) string {
	return `terraform {
  required_providers {
    orbit = { source = "orbit-iac/orbit" }
  }
}

provider "orbit" {}

variable "cloud_api_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "orbit_bitbucket_cloud_integration" "bench" {
  name                 = "` + name + `"
  ` + placement + `
  email                = "` + e2e.SandboxEmail + `"
  api_token_wo         = var.cloud_api_token
  api_token_wo_version = 1
}
`
}

// config is the Terraform configuration: one Cloud integration, n webhooks and,
// with stacks, n stacks each bound to its repository.
func config(n int, stacks bool) string {
	var b strings.Builder
	b.WriteString(integrationConfig("bench", `is_default           = true`) + `
locals {
  repos = [for i in range(` + strconv.Itoa(n) + `) : format("repo-%04d", i)]
}

resource "orbit_bitbucket_repository_webhook" "hook" {
  count          = length(local.repos)
  integration_id = orbit_bitbucket_cloud_integration.bench.id
  namespace      = "scale"
  repository     = local.repos[count.index]
}
`)
	if stacks {
		b.WriteString(bindingPatterns["count"])
	}
	return b.String()
}

// terraform runs one command in the env's directory and returns its wall time,
// combined output and exit code.
func (b *bench) terraform(e *env, args ...string) (time.Duration, string, int, error) {
	_ = os.Remove(e.rssFile)
	cmd := exec.Command(b.terraformBin, args...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), e.vars...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code, err = exit.ExitCode(), nil
	}
	return took, string(out), code, err
}

// The faulty run's shares of the sandbox's Bitbucket API answers, and the
// parallelism its apply runs at (terraform's default: the bench passes none).
const (
	faultRetryAfterShare   = 0.10 // 429 with Retry-After: faultRetryAfterSeconds
	faultRetryAfterSeconds = 1
	faultBareShare         = 0.10 // 429 without Retry-After
	faultUnavailableShare  = 0.10 // 503
	faultParallelism       = 10
)

// faultFloor is the time the faulty apply needs when Terraform's parallel slots are
// what limits it: the fault-free run's time plus the Retry-After waits that no retry
// policy may cut short, shared out over the slots. Each attempt of a request fails
// with p = the sum of the shares, so a request takes 1/(1-p) attempts on average, of
// which faultRetryAfterShare/(1-p) end in a Retry-After wait. The fault-free run made
// R sandbox requests per hook, so n hooks wait n·R·share/(1-p)·Retry-After seconds in
// all, over faultParallelism resources applied at once. It leaves out what a good
// client still pays (the short waits of the bare 429s and the 503s, the extra
// attempts, the list that follows a 503 on a create), and an apply that is CPU-bound
// without faults may beat it (a resource that sleeps leaves the CPU to the others).
func faultFloor(free faultRun, n int) time.Duration {
	p := faultRetryAfterShare + faultBareShare + faultUnavailableShare
	perHook := float64(free.requests) / float64(n)
	waits := float64(n) * perHook * faultRetryAfterShare / (1 - p)
	return free.took + time.Duration(waits*faultRetryAfterSeconds/faultParallelism*float64(time.Second))
}

// faultRun is one apply of the faults mode: its table row and what the floor needs.
type faultRun struct {
	row      []string
	took     time.Duration
	requests int
}

func (b *bench) faults(n int, faulty bool) (faultRun, error) {
	fmt.Fprintf(os.Stderr, "provider faults: %d webhooks, faults %v...\n", n, faulty)
	e, err := b.newEnv(n)
	if err != nil {
		return faultRun{}, err
	}
	defer e.close()
	if err := os.WriteFile(filepath.Join(e.dir, "main.tf"), []byte(config(n, false)), 0o644); err != nil {
		return faultRun{}, err
	}
	// Initialise the integration first: the faults are about the webhooks.
	if _, out, code, err := b.terraform(e, "apply", "-auto-approve", "-input=false", "-no-color",
		"-target=orbit_bitbucket_cloud_integration.bench"); err != nil || code != 0 {
		return faultRun{}, fmt.Errorf("apply of the integration (exit %d): %v\n%s", code, err, tail(out))
	}
	label := "fault-free"
	if faulty {
		label = fmt.Sprintf("%.0f%% 429/503", 100*(faultRetryAfterShare+faultBareShare+faultUnavailableShare))
		retryAfter := faultRetryAfterSeconds
		// Faults are tried in order; each ratio is of the requests the earlier ones let through.
		e.sb.AddFault(sandbox.Fault{Status: http.StatusTooManyRequests, RetryAfter: &retryAfter, Ratio: faultRetryAfterShare, PathPrefix: "/2.0/"})
		e.sb.AddFault(sandbox.Fault{Status: http.StatusTooManyRequests, Ratio: faultBareShare / (1 - faultRetryAfterShare), PathPrefix: "/2.0/"})
		e.sb.AddFault(sandbox.Fault{Status: http.StatusServiceUnavailable, Ratio: faultUnavailableShare / (1 - faultRetryAfterShare - faultBareShare), PathPrefix: "/2.0/"})
	}
	before := countSandbox(e.sb)
	took, out, code, err := b.terraform(e, "apply", "-auto-approve", "-input=false", "-no-color")
	if err != nil {
		return faultRun{}, err
	}
	errorsSeen := strings.Count(out, "Error: ")
	if code != 0 && errorsSeen == 0 {
		errorsSeen = 1
	}
	served := 0
	for _, f := range e.sb.Faults() {
		served += f.Served
	}
	after := countSandbox(e.sb)
	e.sb.ClearFaults()
	hooks := 0
	for _, h := range e.sb.Hooks() {
		if strings.HasSuffix(h.URL, "/webhooks/bitbucket-cloud/bench") {
			hooks++
		}
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "apply with faults ended with exit %d:\n%s\n", code, tail(out))
	}
	row := []string{label, fmt.Sprintf("%.1f", took.Seconds()), fmt.Sprint(errorsSeen), fmt.Sprint(served),
		fmt.Sprint(after.all - before.all), fmt.Sprint(hooks)}
	return faultRun{row: row, took: took, requests: after.all - before.all}, nil
}

type sandboxCount struct{ all, gets int }

func countSandbox(sb *e2e.Sandbox) sandboxCount {
	var c sandboxCount
	for _, r := range sb.Requests() {
		c.all++
		if r.Method == http.MethodGet {
			c.gets++
		}
	}
	return c
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// rssWrap runs the real provider with this process's stdio (go-plugin's
// handshake passes through), forwards signals, and records its peak memory.
func rssWrap(bin string, args []string) int {
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "rss-wrap:", err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		recordUsage(ru)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return 0
}
