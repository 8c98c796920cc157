package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/benchfmt"
)

// The bindings mode: N stacks each bound to one of N repositories, written in the
// ways a configuration can say it, applied from empty state. Terraform evaluates a
// reference to one instance of an expanded resource (orbit_stack.stack[count.index])
// by building the value of every instance of it (hashicorp/terraform#26355), so a
// binding per repository that refers to "its" stack that way costs O(N) each and
// the apply O(N²) in Terraform core. A module instance per repository, holding one
// stack and its binding, refers to a single-instance resource instead.

// bindingPatterns are the configurations the bindings mode can measure.
var bindingPatterns = map[string]string{
	// A state per 100 repositories (shardedRun writes the configurations).
	"sharded": "",
	"count": `
resource "orbit_stack" "stack" {
  count    = length(local.repos)
  name     = "stack-${local.repos[count.index]}"
  space_id = "root"
}

resource "orbit_stack_vcs_binding" "binding" {
  count          = length(local.repos)
  stack_id       = orbit_stack.stack[count.index].id
  integration_id = orbit_bitbucket_cloud_integration.bench.id
  namespace      = "scale"
  repository     = local.repos[count.index]
  branch         = "main"
}
`,
	"for_each": `
resource "orbit_stack" "stack" {
  for_each = toset(local.repos)
  name     = "stack-${each.key}"
  space_id = "root"
}

resource "orbit_stack_vcs_binding" "binding" {
  for_each       = toset(local.repos)
  stack_id       = orbit_stack.stack[each.key].id
  integration_id = orbit_bitbucket_cloud_integration.bench.id
  namespace      = "scale"
  repository     = each.key
  branch         = "main"
}
`,
	// The documented pattern (examples/bind-many-repositories): a module instance
	// per repository of the repositories data source.
	"module": `
data "orbit_bitbucket_repositories" "scale" {
  workspace = "scale"
}

module "repository_stack" {
  source   = "./repository-stack"
  for_each = { for r in data.orbit_bitbucket_repositories.scale.repositories : r.slug => r }

  name           = "stack-${each.key}"
  space_id       = "root"
  integration_id = orbit_bitbucket_cloud_integration.bench.id
  namespace      = each.value.namespace
  repository     = each.value.slug
  branch         = each.value.main_branch
}
`,
}

// shardSize is the number of repositories per state of the "sharded" pattern.
const shardSize = 100

// shardConfig is one state of the "sharded" pattern: its own (non-default)
// integration and a module instance per repository of its slice.
func shardConfig(shard, from, to int) string {
	return integrationConfig("bench-"+strconv.Itoa(shard), `space_id             = "root"`) + `
module "repository_stack" {
  source   = "../repository-stack"
  for_each = toset([for i in range(` + strconv.Itoa(from) + `, ` + strconv.Itoa(to) + `) : format("repo-%04d", i)])

  name           = "stack-${each.key}"
  space_id       = "root"
  integration_id = orbit_bitbucket_cloud_integration.bench.id
  namespace      = "scale"
  repository     = each.key
  branch         = "main"
}
`
}

// add sums the usage of one more command run after u.
func (u *usage) add(v usage) {
	u.wall += v.wall
	u.coreCPU += v.coreCPU
	u.providerCPU += v.providerCPU
	u.corePeakKiB = max(u.corePeakKiB, v.corePeakKiB)
	u.providerPeakKiB = max(u.providerPeakKiB, v.providerPeakKiB)
	u.providerProcs += v.providerProcs
	u.sandboxRequests += v.sandboxRequests
	u.orbitRequests += v.orbitRequests
	u.orbitWrites += v.orbitWrites
}

// repositoryStackModule is the module of the "module" pattern, the same as
// examples/bind-many-repositories/repository-stack.
func repositoryStackModule() (string, error) {
	data, err := os.ReadFile("examples/bind-many-repositories/repository-stack/main.tf")
	return string(data), err
}

func bindingsConfig(n int, pattern string) string {
	return integrationConfig("bench", `is_default           = true`) + `
locals {
  repos = [for i in range(` + strconv.Itoa(n) + `) : format("repo-%04d", i)]
}
` + bindingPatterns[pattern]
}

// quadraticPatterns grow with N² in Terraform core; bindingsTable runs them only up
// to its slowMax.
var quadraticPatterns = map[string]bool{"count": true, "for_each": true}

func (b *bench) bindingsTable(sizes, patterns string, slowMax int) (benchfmt.Table, error) {
	table := benchfmt.Table{
		Title: "Bindings at scale: N orbit_stack + N orbit_stack_vcs_binding, apply from empty state",
		Header: []string{"pattern", "N", "apply s", "× N=first", "CPU × N=first", "core CPU s", "core peak MiB",
			"provider CPU s", "provider peak MiB", "plan s", "plan core CPU s", "plan provider CPU s"},
	}
	load := loadAverage()
	notRun := false
	for _, pattern := range strings.Split(patterns, ",") {
		pattern = strings.TrimSpace(pattern)
		if _, ok := bindingPatterns[pattern]; !ok {
			return table, fmt.Errorf("unknown binding pattern %q", pattern)
		}
		var first, firstCPU float64
		for _, s := range strings.Split(sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return table, err
			}
			if quadraticPatterns[pattern] && n > slowMax {
				table.Rows = append(table.Rows, []string{pattern, fmt.Sprint(n), "not run", "", "", "", "", "", "", "", "", ""})
				notRun = true
				continue
			}
			apply, plan, err := b.bindingsRun(n, pattern)
			if err != nil {
				return table, fmt.Errorf("%s N=%d: %w", pattern, n, err)
			}
			cpu := (apply.coreCPU + apply.providerCPU).Seconds()
			if first == 0 {
				first, firstCPU = apply.wall.Seconds(), cpu
			}
			table.Rows = append(table.Rows, []string{pattern, fmt.Sprint(n), secs(apply.wall),
				fmt.Sprintf("%.1f", apply.wall.Seconds()/first), fmt.Sprintf("%.1f", cpu/firstCPU),
				secs(apply.coreCPU), fmt.Sprintf("%.0f", apply.coreMiB()),
				secs(apply.providerCPU), fmt.Sprintf("%.0f", apply.providerMiB()),
				secs(plan.wall), secs(plan.coreCPU), secs(plan.providerCPU)})
		}
	}
	table.Notes = []string{
		"count: orbit_stack and orbit_stack_vcs_binding with count, stack_id = orbit_stack.stack[count.index].id;",
		"for_each: the same keyed by repository; module: a module instance per repository of the",
		"orbit_bitbucket_repositories data source (examples/bind-many-repositories), one stack and its binding each;",
		"sharded: the module pattern in states of 100 repositories each, applied one after the other (figures summed).",
		"core: the terraform process (its rusage less its providers'); provider: its processes' user+sys",
		"CPU and largest peak resident set. plan: the no-change plan after the apply. CPU × N=first: the",
		"apply's core + provider CPU against the pattern's first N (a busy machine disturbs it less than wall time).",
		"Load average (1/5/15 min) before: " + load + "; after: " + loadAverage() + " (2 cores, shared).",
	}
	if notRun {
		table.Notes = append(table.Notes, fmt.Sprintf("not run: count and for_each above N = %d (-bindings-slow-max; they grow with N² and took tens of minutes).", slowMax))
	}
	return table, nil
}

func (b *bench) bindingsRun(n int, pattern string) (apply, plan usage, err error) {
	fmt.Fprintf(os.Stderr, "provider bindings: %s N=%d (load %s)...\n", pattern, n, loadAverage())
	e, err := b.newEnv(n)
	if err != nil {
		return apply, plan, err
	}
	defer e.close()
	if err := os.WriteFile(filepath.Join(e.dir, "main.tf"), []byte(bindingsConfig(n, pattern)), 0o644); err != nil {
		return apply, plan, err
	}
	if pattern == "module" || pattern == "sharded" {
		module, err := repositoryStackModule()
		if err != nil {
			return apply, plan, err
		}
		dir := filepath.Join(e.dir, "repository-stack")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return apply, plan, err
		}
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(module), 0o644); err != nil {
			return apply, plan, err
		}
	}
	if pattern == "sharded" {
		return b.shardedRun(e, n)
	}
	if pattern == "module" {
		if _, out, code, err := b.terraform(e, "get", "-no-color"); err != nil || code != 0 {
			return apply, plan, fmt.Errorf("terraform get (exit %d): %v\n%s", code, err, tail(out))
		}
	}
	return b.applyThenPlan(e)
}

// shardedRun applies the repositories in states of shardSize each (a directory, so a
// state, per shard), one after the other, and sums their usage.
func (b *bench) shardedRun(e *env, n int) (apply, plan usage, err error) {
	for shard := 0; shard*shardSize < n; shard++ {
		dir := filepath.Join(e.dir, fmt.Sprintf("shard-%d", shard))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return apply, plan, err
		}
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(shardConfig(shard, shard*shardSize, min(n, (shard+1)*shardSize))), 0o644); err != nil {
			return apply, plan, err
		}
		se := *e
		se.dir = dir
		if _, out, code, err := b.terraform(&se, "get", "-no-color"); err != nil || code != 0 {
			return apply, plan, fmt.Errorf("terraform get (exit %d): %v\n%s", code, err, tail(out))
		}
		a, p, err := b.applyThenPlan(&se)
		if err != nil {
			return apply, plan, fmt.Errorf("shard %d: %w", shard, err)
		}
		apply.add(a)
		plan.add(p)
	}
	return apply, plan, nil
}
