package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/benchfmt"
)

// scaleTable is the scale mode: for each N, apply from empty state and the
// no-change plan after it, with Terraform core and the provider measured apart.
func (b *bench) scaleTable(sizes string, stacks bool) (benchfmt.Table, error) {
	table := benchfmt.Table{
		Title: "Provider at scale: N repository webhooks" + map[bool]string{true: " + N stacks with VCS bindings", false: ""}[stacks],
		Header: []string{"N", "resources", "phase", "wall s", "core CPU s", "core peak MiB",
			"provider CPU s", "provider CPU ms/resource", "provider peak MiB",
			"Bitbucket req/hook", "orbit req/resource", "orbit writes/resource"},
	}
	load := loadAverage()
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return table, err
		}
		apply, plan, err := b.scaleRun(n, stacks)
		if err != nil {
			return table, err
		}
		resources := 1 + n
		if stacks {
			resources += 2 * n
		}
		for _, p := range []struct {
			name string
			u    usage
		}{{"apply", apply}, {"plan", plan}} {
			table.Rows = append(table.Rows, []string{fmt.Sprint(n), fmt.Sprint(resources), p.name,
				secs(p.u.wall), secs(p.u.coreCPU), fmt.Sprintf("%.0f", p.u.coreMiB()),
				secs(p.u.providerCPU), fmt.Sprintf("%.2f", ms(p.u.providerCPU)/float64(resources)), fmt.Sprintf("%.0f", p.u.providerMiB()),
				fmt.Sprintf("%.2f", float64(p.u.sandboxRequests)/float64(n)),
				fmt.Sprintf("%.2f", p.u.orbitRequests/float64(resources)),
				fmt.Sprintf("%.2f", float64(p.u.orbitWrites)/float64(resources))})
		}
	}
	table.Notes = []string{
		"apply: terraform apply from empty state; plan: terraform plan right after (no changes,",
		"refresh included). core: the terraform process (its rusage less its providers'); provider:",
		"every provider process the command started (user+sys CPU from their rusage, largest peak",
		"resident set). Requests are counted by the sandbox and by orbit-server's /metrics during",
		"the command. Terraform's default -parallelism=10. Load average (1/5/15 min) before: " + load +
			"; after: " + loadAverage() + ".",
	}
	return table, nil
}

func (b *bench) scaleRun(n int, stacks bool) (apply, plan usage, err error) {
	fmt.Fprintf(os.Stderr, "provider scale: N=%d...\n", n)
	e, err := b.newEnv(n)
	if err != nil {
		return apply, plan, err
	}
	defer e.close()
	if err := os.WriteFile(filepath.Join(e.dir, "main.tf"), []byte(config(n, stacks)), 0o644); err != nil {
		return apply, plan, err
	}
	return b.applyThenPlan(e)
}

// applyThenPlan applies the env's configuration from empty state, then plans it
// again and requires no change.
func (b *bench) applyThenPlan(e *env) (apply, plan usage, err error) {
	apply, err = b.measure(e, "apply", "-auto-approve", "-input=false", "-no-color")
	if err != nil || apply.exitCode != 0 {
		return apply, plan, fmt.Errorf("apply (exit %d): %v\n%s", apply.exitCode, err, tail(apply.output))
	}
	plan, err = b.measure(e, "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err != nil || plan.exitCode != 0 {
		return apply, plan, fmt.Errorf("plan after apply (exit %d, 2 = changes): %v\n%s", plan.exitCode, err, tail(plan.output))
	}
	return apply, plan, nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
