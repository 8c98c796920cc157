package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDatabaseFilesAreIgnored: `go run ./cmd/orbit-server` with the default --db
// writes orbit.db, its WAL files and orbit.db.key into the work tree; none of them may
// be committable (the key decrypts every stored credential).
func TestDatabaseFilesAreIgnored(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	if out, err := exec.Command(git, "rev-parse", "--is-inside-work-tree").Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Skip("not in a git work tree")
	}
	for _, name := range []string{"orbit.db", "orbit.db-wal", "orbit.db-shm", "orbit.db.key", "cmd/orbit-server/orbit.db.key"} {
		// --no-index: the answer depends on .gitignore alone, not on what is tracked.
		if err := exec.Command(git, "check-ignore", "-q", "--no-index", name).Run(); err != nil {
			t.Errorf("%s is not ignored by .gitignore", name)
		}
	}
}
