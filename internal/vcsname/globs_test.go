package vcsname

import (
	"strings"
	"testing"
)

func TestCheckProjectGlob(t *testing.T) {
	t.Parallel()
	for glob, ok := range map[string]bool{
		"modules/**": true, "shared/*.tf": true, "**/*.hcl": true, "envs/{prod,staging}/**": true, "a/[ab]c": true,
		"": false, "/modules/**": false, "modules/../x": false, "./modules": false, "modules//x": false,
		"modules\\x": false, "modules/[": false, "modules/{a,b": false, "a\nb": false, "modules/": false,
	} {
		err := CheckProjectGlob(glob)
		if (err == nil) != ok {
			t.Errorf("CheckProjectGlob(%q) = %v, want ok=%v", glob, err, ok)
		}
	}
	if err := CheckProjectGlobs([]string{"a/**", "a/**"}); err == nil || !strings.Contains(err.Error(), "[1]") {
		t.Errorf("a repeated glob: %v", err)
	}
	if err := CheckProjectGlobs([]string{"a/**", "/b"}); err == nil || !strings.HasPrefix(err.Error(), "[1] must be a glob") {
		t.Errorf("the bad entry is named: %v", err)
	}
	many := make([]string, MaxProjectGlobs+1)
	for i := range many {
		many[i] = "m" + strings.Repeat("x", i) + "/**"
	}
	if err := CheckProjectGlobs(many); err == nil {
		t.Error("too many globs accepted")
	}
}

func TestTouchesProject(t *testing.T) {
	t.Parallel()
	prodGlobs := []string{"modules/**"}
	for _, tc := range []struct {
		root  string
		globs []string
		path  string
		want  bool
	}{
		{"envs/prod", prodGlobs, "envs/prod/main.tf", true},
		{"envs/prod", prodGlobs, "envs/prod", true},
		{"envs/prod", prodGlobs, "envs/production/main.tf", false},
		{"envs/prod", prodGlobs, "modules/vpc/x.tf", true},
		{"envs/prod", prodGlobs, "README.md", false},
		{"envs/staging", nil, "envs/staging/a.tf", true},
		{"envs/staging", nil, "modules/vpc/x.tf", false},
		{"", nil, "README.md", true},
		{"envs/prod", []string{"*.md"}, "README.md", true},
		{"envs/prod", []string{"*.md"}, "docs/README.md", false},
		{"envs/prod", []string{"**/*.md"}, "docs/README.md", true},
	} {
		if got := TouchesProject(tc.root, tc.globs, tc.path); got != tc.want {
			t.Errorf("TouchesProject(%q, %q, %q) = %v, want %v", tc.root, tc.globs, tc.path, got, tc.want)
		}
	}
}
