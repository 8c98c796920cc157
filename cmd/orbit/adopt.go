package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/orbit-iac/terraform-provider-orbit/internal/adopt"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitenv"
)

const adoptUsage = `Usage: orbit adopt --space ID (--workspace WS | --project KEY)... --out DIR [flags]

Reads the space's integrations, stacks and bindings from orbit-server and the hooks
of every repository of the workspaces (Bitbucket Cloud) and projects (Bitbucket Data
Center) from Bitbucket, and writes Terraform that imports them, with a report of what
is wrong and what terraform apply of the output does about it. It never changes
orbit-server, and changes Bitbucket only with --dedupe.

Flags:
`

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

type adoptFlags struct {
	space       string
	workspaces  stringList
	projects    stringList
	out         string
	dryRun      bool
	format      string
	dedupe      bool
	yes         bool
	force       bool
	concurrency int
}

func parseAdoptFlags(args []string, stdout io.Writer) (*adoptFlags, error) {
	var f adoptFlags
	fs := flag.NewFlagSet("orbit adopt", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.space, "space", "", "id of the Orbit space to adopt (required)")
	fs.Var(&f.workspaces, "workspace", "Bitbucket Cloud workspace whose repositories to scan (repeatable)")
	fs.Var(&f.projects, "project", "Bitbucket Data Center project key whose repositories to scan (repeatable)")
	fs.StringVar(&f.out, "out", "", "directory to write the Terraform and the report into (required unless --dry-run)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "write nothing: print the report on stdout (with --dedupe, list what would be deleted)")
	fs.StringVar(&f.format, "format", "md", "report format: md (adopt-report.md) or json (adopt-report.json)")
	fs.BoolVar(&f.dedupe, "dedupe", false, "delete the extra hooks to the same integration on a repository (keeps the one the output imports)")
	fs.BoolVar(&f.yes, "yes", false, "with --dedupe: delete without asking")
	fs.BoolVar(&f.force, "force", false, "overwrite files of an earlier run in --out")
	fs.IntVar(&f.concurrency, "concurrency", 8, "Bitbucket requests in flight at most (1-32)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, adoptUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil, nil
		}
		return nil, usagef("%s (orbit adopt -h lists the flags)", err)
	}
	switch {
	case fs.NArg() > 0:
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	case f.space == "":
		return nil, usagef("--space is required: the id of the Orbit space to adopt")
	case len(f.workspaces) == 0 && len(f.projects) == 0:
		return nil, usagef("name at least one --workspace (Bitbucket Cloud) or --project (Bitbucket Data Center) to scan")
	case f.out == "" && !f.dryRun:
		return nil, usagef("--out is required (or --dry-run to write nothing)")
	case f.format != "md" && f.format != "json":
		return nil, usagef("--format must be md or json, not %q", f.format)
	case f.yes && !f.dedupe:
		return nil, usagef("--yes only confirms --dedupe")
	case f.concurrency < 1 || f.concurrency > 32:
		return nil, usagef("--concurrency must be between 1 and 32")
	}
	return &f, nil
}

func adoptCommand(ctx context.Context, args []string, e env) error {
	f, err := parseAdoptFlags(args, e.stdout)
	if err != nil || f == nil {
		return err
	}
	progress := newPrinter(e.stderr, e.terminal)
	defer progress.Done()

	reportName := adopt.FileReportMarkdown
	if f.format == "json" {
		reportName = adopt.FileReportJSON
	}
	// Refuse before reading anything (and before --dedupe deletes anything).
	if !f.dryRun {
		if err := adopt.CheckWritable(f.out, append(adopt.OutputFiles(), reportName), f.force); err != nil {
			return err
		}
	}

	cfg := orbitenv.LoadFrom(e.getenv)
	api, err := orbitClient(cfg)
	if err != nil {
		return err
	}
	sources := map[string]adopt.Source{}
	var scans []adopt.Scan
	if len(f.workspaces) > 0 {
		client, err := cloudClient(cfg)
		if err != nil {
			return err
		}
		src := adopt.CloudSource{Client: client}
		sources[src.Provider()] = src
		for _, ws := range f.workspaces {
			scans = append(scans, adopt.Scan{Source: src, Namespace: ws})
		}
	}
	if len(f.projects) > 0 {
		client, err := dataCenterClient(ctx, cfg, api)
		if err != nil {
			return err
		}
		src := adopt.DataCenterSource{Client: client}
		sources[src.Provider()] = src
		for _, p := range f.projects {
			scans = append(scans, adopt.Scan{Source: src, Namespace: strings.ToUpper(p)})
		}
	}

	inv, err := adopt.Collect(ctx, api, f.space, scans, adopt.CollectOptions{Concurrency: f.concurrency, Progress: progress})
	if err != nil {
		return err
	}
	result := adopt.Build(inv)

	if f.dedupe {
		if err := dedupe(ctx, f, e, result, sources, progress); err != nil {
			return err
		}
	}

	report := result.Markdown()
	if f.format == "json" {
		report = result.JSON()
	}
	if f.dryRun {
		progress.Done()
		if _, err := e.stdout.Write(report); err != nil {
			return err
		}
	} else {
		files := adopt.Render(result)
		files[reportName] = report
		if err := adopt.WriteFiles(f.out, files, f.force); err != nil {
			return err
		}
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		sort.Strings(names)
		progress.Step("wrote " + strings.Join(names, ", ") + " to " + f.out)
	}
	progress.Done()
	printSummary(e.stderr, result, f)
	return nil
}

func dedupe(ctx context.Context, f *adoptFlags, e env, r *adopt.Result, sources map[string]adopt.Source, progress *printer) error {
	progress.Done()
	if len(r.Duplicates) == 0 {
		fmt.Fprintln(e.stderr, "dedupe: no repository has several hooks to one integration")
		return nil
	}
	fmt.Fprintf(e.stderr, "dedupe: %d duplicate hook(s); the hook the output imports stays:\n", len(r.Duplicates))
	for _, d := range r.Duplicates {
		fmt.Fprintf(e.stderr, "  %s: delete hook %s (%s) to integration %s, keep %s\n", d.Repository, d.HookID, d.URL, d.Integration, d.KeptHookID)
	}
	if f.dryRun {
		fmt.Fprintln(e.stderr, "dedupe: --dry-run: nothing deleted")
		return nil
	}
	if !f.yes {
		if !e.stdinTerminal {
			return errors.New("dedupe: refusing to delete without confirmation: run in a terminal to be asked, or add --yes")
		}
		fmt.Fprintf(e.stderr, "Delete these %d hook(s) in Bitbucket? [y/N] ", len(r.Duplicates))
		answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("dedupe: not confirmed; nothing deleted and nothing written")
		}
	}
	err := adopt.Dedupe(ctx, r, sources, f.concurrency, progress)
	progress.Done()
	deleted := 0
	for _, d := range r.Duplicates {
		if d.Deleted {
			deleted++
		}
	}
	fmt.Fprintf(e.stderr, "dedupe: deleted %d of %d duplicate hook(s)\n", deleted, len(r.Duplicates))
	if err != nil {
		return fmt.Errorf("dedupe: %w", err)
	}
	return nil
}

func printSummary(w io.Writer, r *adopt.Result, f *adoptFlags) {
	s := r.Summary
	fmt.Fprintf(w, "\nSpace %s: %d repositories scanned, %d hooks seen, %d matched to an integration.\n", r.SpaceID, s.Repositories, s.Hooks, s.HooksMatched)
	fmt.Fprintf(w, "The output imports %d integration(s), %d stack(s), %d binding(s) and %d hook(s); apply creates %d hook(s).\n",
		s.Integrations, s.Stacks, s.Bindings, s.HooksImported, s.HooksToCreate)
	fmt.Fprintf(w, "Duplicates: %d. Unknown Orbit URLs: %d. Hooks of other services: %d. Changes apply makes: %d.\n",
		s.Duplicates, s.HooksUnknownOrbit, s.HooksForeign, len(r.Changes()))
	if !f.dryRun {
		fmt.Fprintf(w, "Next: cd %s && terraform init && terraform plan (set the TF_VAR_ token variables of variables.tf first).\n", f.out)
	}
}

// printer shows progress on stderr: one line rewritten in place on a terminal, plain
// lines (at every tenth of the way) otherwise.
type printer struct {
	mu   sync.Mutex
	w    io.Writer
	live bool
	open bool // a live line is showing
	last map[string]int
}

func newPrinter(w io.Writer, live bool) *printer {
	return &printer{w: w, live: live, last: map[string]int{}}
}

func (p *printer) Step(message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintln(p.w, message)
}

func (p *printer) Count(what string, done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprintf(p.w, "\r\033[K%s: %d/%d", what, done, total)
		p.open = true
		return
	}
	tenth := done * 10 / max(total, 1)
	if tenth == p.last[what] && done != total {
		return
	}
	p.last[what] = tenth
	if done != total {
		fmt.Fprintf(p.w, "%s: %d/%d\n", what, done, total)
	}
}

// Done ends a live line.
func (p *printer) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func (p *printer) clear() {
	if p.open {
		fmt.Fprint(p.w, "\r\033[K")
		p.open = false
	}
}

var _ adopt.Progress = (*printer)(nil)
