package adopt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Report files.
const (
	FileReportMarkdown = "adopt-report.md"
	FileReportJSON     = "adopt-report.json"
)

// Change is one change terraform apply of the output makes, as the report
// announces it: the plan of the output shows exactly these besides the imports.
type Change struct {
	Address string   `json:"address"`
	Action  string   `json:"action"` // create or update
	Why     []string `json:"why"`    // the finding kinds behind it
}

// Changes are the announced changes, one per address, sorted by address.
func (r *Result) Changes() []Change {
	byAddress := map[string]*Change{}
	for _, f := range r.Findings {
		if f.Action == ActionNone || f.Address == "" {
			continue
		}
		c := byAddress[f.Address]
		if c == nil {
			c = &Change{Address: f.Address, Action: f.Action}
			byAddress[f.Address] = c
		}
		if f.Action == ActionCreate {
			c.Action = ActionCreate
		}
		c.Why = append(c.Why, f.Kind)
	}
	out := make([]Change, 0, len(byAddress))
	for _, c := range byAddress {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// Imports are the addresses the output imports with the id of each, sorted.
func (r *Result) Imports() map[string]string {
	out := map[string]string{}
	for _, a := range r.Integrations {
		out[a.Address()] = a.ID
	}
	for _, s := range r.Stacks {
		out[r.stackAddress(s)] = s.Stack.ID
		if s.Binding != nil {
			out[r.bindingAddress(s)] = s.Stack.ID
		}
	}
	for _, h := range r.Hooks {
		if h.Hook != nil {
			out[h.Address()] = h.Integration.ID + "/" + h.Namespace + "/" + h.Slug + "/" + h.Hook.ID
		}
	}
	return out
}

type jsonReport struct {
	Space      string            `json:"space_id"`
	Scanned    []string          `json:"scanned"`
	Summary    Summary           `json:"summary"`
	Imports    map[string]string `json:"imports"`
	Changes    []Change          `json:"changes"`
	Findings   []Finding         `json:"findings"`
	Duplicates []Duplicate       `json:"duplicates"`
}

// JSON is the report as JSON.
func (r *Result) JSON() []byte {
	rep := jsonReport{Space: r.SpaceID, Scanned: r.Scanned, Summary: r.Summary, Imports: r.Imports(),
		Changes: r.Changes(), Findings: r.Findings, Duplicates: r.Duplicates}
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	if rep.Duplicates == nil {
		rep.Duplicates = []Duplicate{}
	}
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		panic(err) // plain structs of strings, numbers and booleans always encode
	}
	return append(out, '\n')
}

// kindTitles are the report's section titles, in the order the sections appear.
var kindTitles = []struct{ kind, title string }{
	{KindBoundWithoutHook, "Repositories bound to stacks without a hook"},
	{KindOldURL, "Hooks pointing at an old Orbit URL"},
	{KindURLSpelling, "Hooks with the Orbit URL written differently"},
	{KindUnknownOrbitURL, "Hooks pointing at an unknown Orbit URL"},
	{KindDuplicate, "Several hooks to the same integration on one repository"},
	{KindMissingEvents, "Hooks missing default events"},
	{KindDisabled, "Disabled hooks"},
	{KindNoSecret, "Hooks without a secret"},
	{KindSecretDiffers, "Hooks with another secret"},
	{KindHookWithoutBinding, "Hooks without a binding"},
	{KindOtherSpace, "Hooks to integrations of other spaces"},
	{KindBindingDetached, "Detached bindings"},
	{KindBindingNotScanned, "Bindings to repositories not scanned"},
	{KindBoundRepoMissing, "Bindings to repositories Bitbucket does not list"},
	{KindForeignURL, "Hooks of other services"},
	{KindTokenVariable, "Integration credentials"},
	{KindAppPassword, "Integrations using app passwords"},
}

// Markdown is the report as Markdown.
func (r *Result) Markdown() []byte {
	var b bytes.Buffer
	s := r.Summary
	fmt.Fprintf(&b, "# orbit adopt: space %s (%s)\n\n", r.SpaceName, r.SpaceID)
	fmt.Fprintf(&b, "Scanned: %s.\n\n", strings.Join(r.Scanned, ", "))
	b.WriteString("## Summary\n\n")
	b.WriteString("| | |\n|---|---:|\n")
	rows := []struct {
		label string
		n     int
	}{
		{"Repositories scanned", s.Repositories},
		{"Repositories without hooks", s.RepositoriesNoHooks},
		{"Hooks seen", s.Hooks},
		{"Hooks matched to an integration", s.HooksMatched},
		{"Hooks imported", s.HooksImported},
		{"Hooks apply creates", s.HooksToCreate},
		{"Duplicate hooks", s.Duplicates},
		{"Hooks to unknown Orbit URLs", s.HooksUnknownOrbit},
		{"Hooks of other services", s.HooksForeign},
		{"Hooks to integrations of other spaces", s.HooksOtherSpace},
		{"Integrations imported", s.Integrations},
		{"Stacks imported", s.Stacks},
		{"Bindings imported", s.Bindings},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %d |\n", row.label, row.n)
	}
	changes := r.Changes()
	b.WriteString("\n## What `terraform apply` changes\n\n")
	if len(changes) == 0 {
		b.WriteString("Nothing: the plan shows imports only.\n")
	} else {
		fmt.Fprintf(&b, "Besides importing %d existing objects, the plan shows %d change(s):\n\n", len(r.Imports()), len(changes))
		b.WriteString("| Address | Action | Why |\n|---|---|---|\n")
		for _, c := range changes {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Address, c.Action, strings.Join(c.Why, ", "))
		}
	}
	byKind := map[string][]Finding{}
	for _, f := range r.Findings {
		byKind[f.Kind] = append(byKind[f.Kind], f)
	}
	for _, kt := range kindTitles {
		fs := byKind[kt.kind]
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s (%d)\n\n", kt.title, len(fs))
		b.WriteString("| Where | What | `terraform apply` |\n|---|---|---|\n")
		for _, f := range fs {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(where(f)), cell(f.Detail), cell(f.Apply))
		}
	}
	if len(r.Duplicates) > 0 {
		deleted := 0
		for _, d := range r.Duplicates {
			if d.Deleted {
				deleted++
			}
		}
		if deleted > 0 {
			fmt.Fprintf(&b, "\n`orbit adopt --dedupe` deleted %d of the %d duplicate hooks.\n", deleted, len(r.Duplicates))
		}
	}
	return b.Bytes()
}

func where(f Finding) string {
	parts := []string{}
	if f.Repository != "" {
		parts = append(parts, f.Repository)
	}
	if f.HookID != "" {
		parts = append(parts, "hook "+f.HookID)
	}
	if f.Stack != "" {
		parts = append(parts, "stack "+f.Stack)
	}
	if f.Integration != "" && f.Repository == "" {
		parts = append(parts, "integration "+f.Integration)
	}
	if f.Address != "" {
		parts = append(parts, "`"+f.Address+"`")
	}
	return strings.Join(parts, ", ")
}

// cell keeps a value inside one Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
