package vcsname

import (
	"fmt"
	"path"
	"strings"
	"unicode"

	"github.com/bmatcuk/doublestar/v4"
)

// Limits of additional_project_globs.
const (
	MaxProjectGlobs   = 50   // globs per binding
	MaxProjectGlobLen = 1024 // characters per glob
)

// ProjectGlobRule says what one entry of additional_project_globs must look like.
const ProjectGlobRule = "must be a glob relative to the repository root such as modules/** or shared/*.tf " +
	"(* within a segment, ** across segments, ? [abc] {a,b}; no leading /, no . or .. segments, no backslash)"

// CheckProjectGlob checks one entry of additional_project_globs.
func CheckProjectGlob(glob string) error {
	bad := glob == "" || len(glob) > MaxProjectGlobLen || strings.HasPrefix(glob, "/") ||
		strings.Contains(glob, "\\") || strings.ContainsFunc(glob, unicode.IsControl) ||
		!doublestar.ValidatePattern(glob)
	for _, seg := range strings.Split(glob, "/") {
		if seg == ".." || seg == "." || seg == "" {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%s", ProjectGlobRule)
	}
	return nil
}

// CheckProjectGlobs checks additional_project_globs; the error names the entry.
func CheckProjectGlobs(globs []string) error {
	if len(globs) > MaxProjectGlobs {
		return fmt.Errorf("must have at most %d entries", MaxProjectGlobs)
	}
	seen := map[string]bool{}
	for i, g := range globs {
		if err := CheckProjectGlob(g); err != nil {
			return fmt.Errorf("[%d] %w", i, err)
		}
		if seen[g] {
			return fmt.Errorf("[%d] repeats %q", i, g)
		}
		seen[g] = true
	}
	return nil
}

// TouchesProject reports whether a change of the repository path p concerns a stack
// whose project root is root (a checked ProjectRoot, "" = the whole repository) and
// whose additional globs are globs (checked by CheckProjectGlobs): p lies under root,
// or matches a glob.
func TouchesProject(root string, globs []string, p string) bool {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if root == "" || p == root || strings.HasPrefix(p, root+"/") {
		return true
	}
	for _, g := range globs {
		if ok, _ := doublestar.Match(g, p); ok {
			return true
		}
	}
	return false
}
