package main

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestReadmeMakeTargets holds README's "Make targets" table to the GNUmakefile: the
// same targets, in the same order, with the text `make help` prints for each.
func TestReadmeMakeTargets(t *testing.T) {
	t.Parallel()
	makefile, err := os.ReadFile("GNUmakefile")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	// The rule `make help` applies (see the help target).
	var fromMake []string
	for _, m := range regexp.MustCompile(`(?m)^([a-z-]+):.*## (.*)$`).FindAllStringSubmatch(string(makefile), -1) {
		fromMake = append(fromMake, m[1]+": "+m[2])
	}
	var fromReadme []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\| (.*) \\|$").FindAllStringSubmatch(string(readme), -1) {
		fromReadme = append(fromReadme, m[1]+": "+m[2])
	}
	if len(fromMake) < 10 {
		t.Fatalf("only %d targets read from GNUmakefile", len(fromMake))
	}
	if !slices.Equal(fromMake, fromReadme) {
		t.Errorf("README's make-target table differs from the GNUmakefile's targets (write one row per `## ` target, as make help lists them)\nGNUmakefile:\n%q\nREADME:\n%q", fromMake, fromReadme)
	}
}
