// Package vcsname holds the rules for the Bitbucket names a stack binding (and a
// repository webhook) carries: Cloud workspace slugs, Data Center project keys,
// repository slugs, branch names and project roots. orbit-server enforces them and the
// provider checks them at plan time; both call this package, so the rules cannot drift.
package vcsname

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"
)

var (
	// CloudWorkspacePattern: a Bitbucket Cloud workspace slug (workspace ID).
	CloudWorkspacePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,61}$`)
	// DataCenterProjectKeyPattern: a Data Center project key as Bitbucket stores it
	// (upper case), or ~USER for a personal project.
	DataCenterProjectKeyPattern = regexp.MustCompile(`^([A-Z][A-Z0-9_]{0,127}|~[A-Za-z0-9_.@-]{1,128})$`)
	// RepositorySlugPattern: a repository slug, lower case in both products.
	RepositorySlugPattern = regexp.MustCompile(`^[a-z0-9_.-]{1,128}$`)
)

// Messages name what a value must look like; callers prefix the field.
const (
	CloudWorkspaceRule       = "must be a Bitbucket Cloud workspace slug: 1-62 lower-case letters, digits, _ . and -, starting with a letter or digit"
	DataCenterProjectKeyRule = "must be a Bitbucket Data Center project key in upper case, such as PLAT (letters, digits and _, starting with a letter), or ~USER for a personal project"
	RepositorySlugRule       = "must be a repository slug: 1-128 lower-case letters, digits, _ . and - (not . or ..)"
	BranchRule               = "must be a branch name such as main or release/1.x (no spaces, no .., not starting with - or /, not ending with / or .lock, none of ~ ^ : ? * [ \\)"
	ProjectRootRule          = "must be a relative path inside the repository such as envs/prod, or empty for the repository root (no leading /, no .. or . segments, no trailing /)"
)

// CheckNamespace checks a binding's namespace for the product: "bitbucket_cloud" (a
// workspace slug) or "bitbucket_datacenter" (a project key).
func CheckNamespace(provider, namespace string) error {
	switch provider {
	case "bitbucket_cloud":
		if !CloudWorkspacePattern.MatchString(namespace) {
			return fmt.Errorf("%s", CloudWorkspaceRule)
		}
	case "bitbucket_datacenter":
		if !DataCenterProjectKeyPattern.MatchString(namespace) {
			return fmt.Errorf("%s", DataCenterProjectKeyRule)
		}
	default:
		return fmt.Errorf("unknown provider %q", provider)
	}
	return nil
}

// CheckRepository checks a repository slug.
func CheckRepository(slug string) error {
	if !RepositorySlugPattern.MatchString(slug) || slug == "." || slug == ".." {
		return fmt.Errorf("%s", RepositorySlugRule)
	}
	return nil
}

// CheckBranch applies the rules of git check-ref-format that matter for a branch a
// person types.
func CheckBranch(branch string) error {
	bad := branch == "" || len(branch) > 255 ||
		strings.HasPrefix(branch, "-") || strings.HasPrefix(branch, "/") ||
		strings.HasSuffix(branch, "/") || strings.HasSuffix(branch, ".") || strings.HasSuffix(branch, ".lock") ||
		strings.Contains(branch, "..") || strings.Contains(branch, "//") || strings.Contains(branch, "@{") ||
		branch == "@" || strings.ContainsAny(branch, "~^:?*[\\") ||
		strings.ContainsFunc(branch, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
	if bad {
		return fmt.Errorf("%s", BranchRule)
	}
	return nil
}

// CheckProjectRoot accepts "" (the repository root) or a clean relative path.
func CheckProjectRoot(root string) error {
	if root == "" {
		return nil
	}
	bad := len(root) > 1024 || path.IsAbs(root) || path.Clean(root) != root || root == "." ||
		strings.Contains(root, "\\") ||
		strings.ContainsFunc(root, unicode.IsControl)
	for _, seg := range strings.Split(root, "/") {
		if seg == ".." {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%s", ProjectRootRule)
	}
	return nil
}
