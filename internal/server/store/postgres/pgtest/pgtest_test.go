package pgtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeBinDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindBinDir(t *testing.T) {
	t.Parallel()
	full := fakeBinDir(t, "initdb", "pg_ctl", "postgres")
	partial := fakeBinDir(t, "initdb", "pg_ctl")
	empty := t.TempDir()

	// Missing everywhere: a failure that names the package, never a skip.
	_, err := findBinDir("", partial, filepath.Join(empty, "*", "bin"))
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql-15") {
		t.Fatalf("missing binaries: %v, want the package named", err)
	}
	if got, err := findBinDir("", partial+string(os.PathListSeparator)+full, ""); err != nil || got != full {
		t.Fatalf("PATH lookup = %q, %v; want %q", got, err, full)
	}
	if _, err := findBinDir(partial, full, ""); err == nil || !strings.Contains(err.Error(), BinDirEnv) {
		t.Fatalf("a wrong %s must fail, not fall back: %v", BinDirEnv, err)
	}

	// Debian layout: the newest major version wins.
	root := t.TempDir()
	for _, v := range []string{"9", "15", "13"} {
		dir := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"initdb", "pg_ctl", "postgres"} {
			if err := os.WriteFile(filepath.Join(dir, n), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, err := findBinDir("", empty, filepath.Join(root, "*", "bin")); err != nil || got != filepath.Join(root, "15", "bin") {
		t.Fatalf("glob lookup = %q, %v; want version 15", got, err)
	}
}
