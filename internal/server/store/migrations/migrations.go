// Package migrations holds the one set of versioned SQL migrations every store
// implementation applies (SQLite and PostgreSQL alike), so the SQL must stay
// portable: TEXT, BIGINT, BOOLEAN; no BLOB/BYTEA, AUTOINCREMENT or SERIAL.
//
// Files are named NNNN_name.sql; NNNN is the version. A migration is never
// edited once released: change the schema with a new file.
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
}

var fileName = regexp.MustCompile(`^([0-9]{4,})_[a-z0-9_]+\.sql$`)

// All returns the migrations ordered by version. It fails on a misnamed file or
// a duplicated version, which is a build mistake, not a runtime condition.
func All() ([]Migration, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int64]string{}
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrations: file %q is not named NNNN_name.sql", e.Name())
		}
		version, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || version <= 0 {
			return nil, fmt.Errorf("migrations: file %q has a bad version", e.Name())
		}
		if prev, dup := seen[version]; dup {
			return nil, fmt.Errorf("migrations: %q and %q share version %d", prev, e.Name(), version)
		}
		seen[version] = e.Name()
		body, err := fs.ReadFile(files, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: version, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
