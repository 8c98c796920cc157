// Package migrations holds the one set of versioned SQL migrations every store
// implementation applies (SQLite and PostgreSQL alike), so the SQL must stay
// portable: TEXT, BIGINT, BOOLEAN; no BLOB/BYTEA, AUTOINCREMENT or SERIAL.
//
// Files are named NNNN_name.sql; NNNN is the version. A migration is never
// edited once released: change the schema with a new file. Where the engines
// cannot share one statement (SQLite cannot drop a constraint without rebuilding
// its table), a version has one file per engine instead, NNNN_name.<dialect>.sql
// (dialect: sqlite or postgres), and each store applies its own.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
)

//go:embed *.sql
var files embed.FS

// Migration is one versioned SQL script.
type Migration struct {
	Version int64
	Name    string // file name
	SQL     string
	// Dialect is the engine the file is for ("sqlite", "postgres"), or "" for all.
	Dialect string
}

// Dialects are the engines a per-engine migration file may name.
var Dialects = []string{"sqlite", "postgres"}

var fileName = regexp.MustCompile(`^([0-9]{4,})_[a-z0-9_]+(?:\.(sqlite|postgres))?\.sql$`)

// For returns the migrations one engine applies, ordered by version.
func For(dialect string) ([]Migration, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, m := range all {
		if m.Dialect == "" || m.Dialect == dialect {
			out = append(out, m)
		}
	}
	return out, nil
}

// All returns the migrations ordered by version. It fails on a misnamed file or
// a duplicated version, which is a build mistake, not a runtime condition.
func All() ([]Migration, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[string]string{}
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrations: file %q is not named NNNN_name.sql", e.Name())
		}
		version, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || version <= 0 {
			return nil, fmt.Errorf("migrations: file %q has a bad version", e.Name())
		}
		dialect := m[2]
		key := fmt.Sprintf("%d/%s", version, dialect)
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("migrations: %q and %q share version %d", prev, e.Name(), version)
		}
		if prev, dup := seen[fmt.Sprintf("%d/", version)]; dup && dialect != "" {
			return nil, fmt.Errorf("migrations: %q and %q share version %d", prev, e.Name(), version)
		}
		for _, d := range Dialects {
			if prev, dup := seen[fmt.Sprintf("%d/%s", version, d)]; dup && dialect == "" {
				return nil, fmt.Errorf("migrations: %q and %q share version %d", prev, e.Name(), version)
			}
		}
		seen[key] = e.Name()
		body, err := fs.ReadFile(files, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: version, Name: e.Name(), SQL: string(body), Dialect: dialect})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
