// Package benchfmt prints the benchmarks' figures as small text tables and
// writes them to bench/results/<name>.txt, headed by the machine they ran on and
// the command that made them.
package benchfmt

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Table is one result table.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
	Notes  []string
}

// Add appends a row; values are formatted with %v (floats with 1 decimal).
func (t *Table) Add(values ...any) {
	row := make([]string, len(values))
	for i, v := range values {
		switch x := v.(type) {
		case float64:
			row[i] = fmt.Sprintf("%.1f", x)
		default:
			row[i] = fmt.Sprint(x)
		}
	}
	t.Rows = append(t.Rows, row)
}

// String renders the table with aligned columns (numbers right-aligned).
func (t Table) String() string {
	width := make([]int, len(t.Header))
	for i, h := range t.Header {
		width[i] = len(h)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			if i < len(width) && len(c) > width[i] {
				width[i] = len(c)
			}
		}
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title + "\n\n")
	}
	line := func(cells []string) {
		for i, c := range cells {
			if i >= len(width) {
				break
			}
			if i > 0 {
				b.WriteString("  ")
			}
			if i > 0 && numeric(c) {
				fmt.Fprintf(&b, "%*s", width[i], c)
			} else {
				fmt.Fprintf(&b, "%-*s", width[i], c)
			}
		}
		b.WriteString("\n")
	}
	line(t.Header)
	seps := make([]string, len(width))
	for i, w := range width {
		seps[i] = strings.Repeat("-", w)
	}
	line(seps)
	for _, r := range t.Rows {
		line(r)
	}
	for _, n := range t.Notes {
		b.WriteString("\n" + n)
	}
	if len(t.Notes) > 0 {
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), " ")
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789.,-+%x", r) {
			return false
		}
	}
	return true
}

// Machine describes where the figures were taken.
func Machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				if _, v, ok := strings.Cut(l, ":"); ok {
					model = strings.TrimSpace(v)
				}
				break
			}
		}
	}
	load := ""
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			// The bench's own processes are in it: on 2 cores, about 2 means nothing else ran.
			load = fmt.Sprintf("; load average %s, %s, %s (1, 5, 15 min) when written", f[0], f[1], f[2])
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), %s/%s, %s%s",
		model, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), load)
}

// Write prints the tables to out and writes them, with the machine, the date
// and command, to dir/<name>.txt.
func Write(out io.Writer, dir, name, command string, tables ...Table) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", name)
	fmt.Fprintf(&b, "# command: %s\n", command)
	fmt.Fprintf(&b, "# machine: %s\n", Machine())
	fmt.Fprintf(&b, "# date:    %s\n", time.Now().UTC().Format(time.RFC3339))
	for _, t := range tables {
		b.WriteString("\n" + t.String())
	}
	fmt.Fprint(out, b.String())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".txt"), []byte(b.String()), 0o644)
}
