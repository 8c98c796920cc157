package version

import (
	"runtime"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	oldVersion, oldCommit := Version, Commit
	t.Cleanup(func() { Version, Commit = oldVersion, oldCommit })

	Version, Commit = "1.4.0", "0123abc"
	got := String("orbit-server")
	want := "orbit-server 1.4.0 (commit 0123abc) " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}

	// A test binary has no module version: unset means "dev", never "".
	Version, Commit = "dev", ""
	if got := Get(); got != "dev" {
		t.Fatalf("Get without -X = %q, want dev", got)
	}
	if got := String("terraform-provider-orbit"); !strings.HasPrefix(got, "terraform-provider-orbit dev go") {
		t.Fatalf("String without commit = %q", got)
	}
}
