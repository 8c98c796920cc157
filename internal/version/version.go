// Package version holds the version of this build of the provider, orbit-server
// and the other commands, in one place.
//
// Release builds set it at link time:
//
//	go build -ldflags "-X github.com/orbit-iac/terraform-provider-orbit/internal/version.Version=1.2.3 \
//	  -X github.com/orbit-iac/terraform-provider-orbit/internal/version.Commit=0123abc"
//
// goreleaser does so for every binary it builds (.goreleaser.yml). A binary built
// with `go install module@v1.2.3` reports the module version instead; any other
// build reports "dev".
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is the semantic version (without a leading "v"), or "dev". Set with -ldflags -X.
var Version = "dev"

// Commit is the git commit the binary was built from, when the build said so. Set
// with -ldflags -X.
var Commit = ""

// Get returns Version, or the main module's version when the linker did not set
// one and the binary was built from a tagged module (go install ...@v1.2.3).
func Get() string {
	if Version != "dev" && Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			if v[0] == 'v' {
				v = v[1:]
			}
			return v
		}
	}
	return "dev"
}

// String is the line --version prints: the command's name, the version, and the
// commit and Go release it was built with.
func String(command string) string {
	s := command + " " + Get()
	if Commit != "" {
		s += " (commit " + Commit + ")"
	}
	return s + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
