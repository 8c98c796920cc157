// Command authscale measures how orbit-server's request time depends on the number
// of spaces: role checks read only the ancestry of the space concerned and lists
// resolve readable spaces in SQL, so the figures should stay flat from 2 spaces to
// tens of thousands. It prints one row per size (median and p95 per request kind).
//
//	go run ./bench/authscale [-sizes 2,5000,20000,32767] [-requests 200]
//
// Spaces are written straight into the SQLite file (through the API, tens of
// thousands would take minutes): up to 100 teams under root, not inheriting, and the
// rest spread over them, inheriting. Requests go over loopback HTTP to an
// in-process server (started by servertest.Launch).
package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

func main() {
	sizes := flag.String("sizes", "2,5000,20000,32767", "comma-separated numbers of spaces (besides root)")
	requests := flag.Int("requests", 200, "requests per kind and size")
	flag.Parse()
	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			fmt.Fprintf(os.Stderr, "authscale: bad size %q (want integers >= 2)\n", f)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	kinds := []string{"get space (root admin)", "list spaces (root admin)", "list spaces (team admin)", "list stacks (team admin)", "create+delete space"}
	fmt.Printf("%-8s", "spaces")
	for _, k := range kinds {
		fmt.Printf("  %-28s", k+" p50/p95")
	}
	fmt.Println()
	for _, n := range ns {
		row, err := measure(n, *requests)
		if err != nil {
			fmt.Fprintln(os.Stderr, "authscale:", err)
			os.Exit(1)
		}
		fmt.Printf("%-8d", n)
		for _, k := range kinds {
			d := row[k]
			fmt.Printf("  %-28s", fmt.Sprintf("%v / %v", pct(d, 50), pct(d, 95)))
		}
		fmt.Println()
	}
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100].Round(10 * time.Microsecond)
}

func measure(n, requests int) (map[string][]time.Duration, error) {
	dir, err := os.MkdirTemp("", "orbit-authscale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	inst, err := servertest.Launch(dir, servertest.WithMaxSpaces(n+1000))
	if err != nil {
		return nil, err
	}
	defer inst.Close()
	adminKey := inst.AdminKey
	teams := min(100, n/2)
	if err := seed(inst.DBPath, teams, n-teams); err != nil {
		return nil, err
	}

	call := func(key, method, path string, body any, want int) (map[string]any, error) {
		var r io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			r = bytes.NewReader(raw)
		}
		req, _ := http.NewRequest(method, inst.URL+path, r)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			return nil, fmt.Errorf("%s %s: %d: %s", method, path, resp.StatusCode, raw)
		}
		out := map[string]any{}
		_ = json.Unmarshal(raw, &out)
		return out, nil
	}
	created, err := call(adminKey, http.MethodPost, "/api/v1/api-keys",
		map[string]any{"name": "team", "roles": []map[string]string{{"space_id": "team-1", "role": "admin"}}}, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	teamKey, _ := created["key"].(string)

	probes := map[string]func() error{
		"get space (root admin)": func() error {
			_, err := call(adminKey, http.MethodGet, "/api/v1/spaces/bulk-1", nil, http.StatusOK)
			return err
		},
		"list spaces (root admin)": func() error {
			_, err := call(adminKey, http.MethodGet, "/api/v1/spaces?page_size=100", nil, http.StatusOK)
			return err
		},
		"list spaces (team admin)": func() error {
			_, err := call(teamKey, http.MethodGet, "/api/v1/spaces?page_size=100", nil, http.StatusOK)
			return err
		},
		"list stacks (team admin)": func() error {
			_, err := call(teamKey, http.MethodGet, "/api/v1/stacks", nil, http.StatusOK)
			return err
		},
		"create+delete space": func() error {
			sp, err := call(adminKey, http.MethodPost, "/api/v1/spaces", map[string]any{"name": "probe", "parent_space_id": "bulk-1"}, http.StatusCreated)
			if err != nil {
				return err
			}
			id, _ := sp["id"].(string)
			_, err = call(adminKey, http.MethodDelete, "/api/v1/spaces/"+id, nil, http.StatusNoContent)
			return err
		},
	}
	out := map[string][]time.Duration{}
	for kind, probe := range probes {
		if err := probe(); err != nil { // warm-up
			return nil, fmt.Errorf("%d spaces, %s: %w", n, kind, err)
		}
		for range requests {
			start := time.Now()
			if err := probe(); err != nil {
				return nil, fmt.Errorf("%d spaces, %s: %w", n, kind, err)
			}
			out[kind] = append(out[kind], time.Since(start))
		}
	}
	return out, nil
}

// seed writes teams spaces under root and bulk inheriting spaces spread over them,
// each labelled "bulk".
func seed(dbPath string, teams, bulk int) error {
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	const ts = `'2026-01-01T00:00:00.000000Z'`
	for _, stmt := range []string{
		`PRAGMA busy_timeout = 10000`,
		fmt.Sprintf(`WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO spaces (id, name, parent_space_id, inherit_entities, description, created_at, updated_at)
			SELECT 'team-' || i, 'team ' || i, 'root', FALSE, '', %s, %s FROM n`, teams, ts, ts),
		fmt.Sprintf(`WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO spaces (id, name, parent_space_id, inherit_entities, description, created_at, updated_at)
			SELECT 'bulk-' || i, 'bulk ' || i, 'team-' || ((i - 1) %% %d + 1), TRUE, '', %s, %s FROM n`, bulk, teams, ts, ts),
		`INSERT INTO space_labels (space_id, label) SELECT id, 'bulk' FROM spaces WHERE id LIKE 'bulk-%'`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return nil
}
