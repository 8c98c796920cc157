package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/benchfmt"
)

// The compare mode builds the provider at a base commit and runs it paired with
// the provider under test (-provider) on the same machine: each repetition runs
// both, in alternating order, each with a fresh orbit-server and sandbox (the same
// orbit-server binary for both): apply of N hooks from empty state, then the
// no-change plan. CPU is the provider processes' user+sys from their rusage, the
// figure a busy shared machine disturbs least; wall time is printed beside it.

// buildProviderAt builds the provider of commit in a temporary git worktree.
func buildProviderAt(commit string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "orbit-bench-base-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	src := filepath.Join(dir, "src")
	run := func(cwd string, name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir = cwd
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run(".", "git", "worktree", "add", "--detach", src, commit); err != nil {
		cleanup()
		return "", nil, err
	}
	bin = filepath.Join(dir, "terraform-provider-orbit")
	buildErr := run(src, "go", "build", "-o", bin, ".")
	if err := run(".", "git", "worktree", "remove", "--force", src); err != nil && buildErr == nil {
		buildErr = err
	}
	if buildErr != nil {
		cleanup()
		return "", nil, buildErr
	}
	return bin, cleanup, nil
}

// worktreeRevision is the commit checked out here, the one make bench builds the
// provider under test from ("+ uncommitted changes" when the tree differs).
func worktreeRevision() string {
	rev := gitDescribe("HEAD")
	if out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
		rev += " + uncommitted changes"
	}
	return rev
}

func gitDescribe(rev string) string {
	out, err := exec.Command("git", "log", "-1", "--format=%h %s", rev).Output()
	if err != nil {
		return rev
	}
	s := strings.TrimSpace(string(out))
	if len(s) > 70 {
		s = s[:70] + "..."
	}
	return s
}

type pairRun struct{ apply, plan usage }

func (b *bench) compareTables(baseBin, baseLabel string, n, reps int) ([]benchfmt.Table, error) {
	head := b
	headLabel := b.providerBin + " (built from the worktree at " + worktreeRevision() + ")"
	base := &bench{serverBin: b.serverBin, providerBin: baseBin, terraformBin: b.terraformBin}
	loadBefore := loadAverage()
	var baseRuns, headRuns []pairRun
	for rep := range reps {
		order := []*bench{base, head}
		if rep%2 == 1 {
			order = []*bench{head, base}
		}
		for _, which := range order {
			label := "head"
			if which == base {
				label = "base"
			}
			fmt.Fprintf(os.Stderr, "provider compare: rep %d/%d, %s, N=%d (load %s)...\n", rep+1, reps, label, n, loadAverage())
			e, err := which.newEnv(n)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(e.dir, "main.tf"), []byte(config(n, false)), 0o644); err != nil {
				e.close()
				return nil, err
			}
			apply, plan, err := which.applyThenPlan(e)
			e.close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", label, err)
			}
			if which == base {
				baseRuns = append(baseRuns, pairRun{apply, plan})
			} else {
				headRuns = append(headRuns, pairRun{apply, plan})
			}
		}
	}
	resources := float64(n + 1)
	metrics := []struct {
		name string
		get  func(pairRun) float64
	}{
		{"plan: provider CPU ms/hook", func(r pairRun) float64 { return ms(r.plan.providerCPU) / resources }},
		{"plan: wall s", func(r pairRun) float64 { return r.plan.wall.Seconds() }},
		{"plan: core CPU s", func(r pairRun) float64 { return r.plan.coreCPU.Seconds() }},
		{"plan: provider peak MiB", func(r pairRun) float64 { return r.plan.providerMiB() }},
		{"apply: provider CPU ms/hook", func(r pairRun) float64 { return ms(r.apply.providerCPU) / resources }},
		{"apply: provider CPU s", func(r pairRun) float64 { return r.apply.providerCPU.Seconds() }},
		{"apply: wall s", func(r pairRun) float64 { return r.apply.wall.Seconds() }},
		{"apply: core CPU s", func(r pairRun) float64 { return r.apply.coreCPU.Seconds() }},
		{"apply: provider peak MiB", func(r pairRun) float64 { return r.apply.providerMiB() }},
		{"apply: Bitbucket req/hook", func(r pairRun) float64 { return float64(r.apply.sandboxRequests) / float64(n) }},
		{"plan: Bitbucket req/hook", func(r pairRun) float64 { return float64(r.plan.sandboxRequests) / float64(n) }},
		{"plan: orbit req/resource", func(r pairRun) float64 { return r.plan.orbitRequests / resources }},
	}
	summary := benchfmt.Table{
		Title:  fmt.Sprintf("Provider before/after: %d repository webhooks, %d paired runs", n, reps),
		Header: []string{"figure", "base median", "head median", "head/base (median of pairs)", "pairs (head/base)"},
	}
	for _, m := range metrics {
		var bv, hv, ratios []float64
		var pairs []string
		for i := range baseRuns {
			x, y := m.get(baseRuns[i]), m.get(headRuns[i])
			bv, hv = append(bv, x), append(hv, y)
			if x > 0 {
				ratios = append(ratios, y/x)
				pairs = append(pairs, fmt.Sprintf("%.2f", y/x))
			}
		}
		summary.Rows = append(summary.Rows, []string{m.name, fmt.Sprintf("%.2f", median(bv)), fmt.Sprintf("%.2f", median(hv)),
			fmt.Sprintf("%.2f", median(ratios)), strings.Join(pairs, " ")})
	}
	summary.Notes = []string{
		"base: " + baseLabel + "; head: " + headLabel + ".",
		"Each pair: the two providers one after the other (order alternating), each against a fresh",
		"orbit-server (the same binary) and sandbox: terraform apply from empty state, then the",
		"no-change terraform plan (refresh included). CPU: user+sys of the provider processes",
		"(rusage); core: the terraform process less its providers. Below 1.00 is better.",
		"Load average (1/5/15 min) before: " + loadBefore + "; after: " + loadAverage() + " (2 cores, shared).",
	}
	return []benchfmt.Table{summary}, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
