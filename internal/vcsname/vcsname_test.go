package vcsname

import (
	"strings"
	"testing"
)

func TestNamespace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		provider, value string
		ok              bool
	}{
		{"bitbucket_cloud", "acme", true},
		{"bitbucket_cloud", "acme-corp_2.eu", true},
		{"bitbucket_cloud", "Acme", false},
		{"bitbucket_cloud", "-acme", false},
		{"bitbucket_cloud", "", false},
		{"bitbucket_cloud", "ac me", false},
		{"bitbucket_cloud", strings.Repeat("a", 63), false},
		{"bitbucket_datacenter", "PLAT", true},
		{"bitbucket_datacenter", "PLAT_2", true},
		{"bitbucket_datacenter", "~jane.doe", true},
		{"bitbucket_datacenter", "plat", false},
		{"bitbucket_datacenter", "2PLAT", false},
		{"bitbucket_datacenter", "PL-AT", false},
		{"bitbucket_datacenter", "", false},
		{"github", "acme", false},
	} {
		if err := CheckNamespace(tc.provider, tc.value); (err == nil) != tc.ok {
			t.Errorf("CheckNamespace(%q, %q) = %v, want ok=%v", tc.provider, tc.value, err, tc.ok)
		}
	}
}

func TestRepository(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{
		"infra": true, "my-app_2.go": true, ".github": true,
		"": false, ".": false, "..": false, "Infra": false, "a/b": false, "a b": false, strings.Repeat("a", 129): false,
	} {
		if err := CheckRepository(value); (err == nil) != ok {
			t.Errorf("CheckRepository(%q) = %v, want ok=%v", value, err, ok)
		}
	}
}

func TestBranch(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{
		"main": true, "release/1.x": true, "feature/JIRA-12_fix": true, "v1.2": true,
		"": false, "-x": false, "/x": false, "x/": false, "a..b": false, "a b": false, "x.lock": false,
		"a~1": false, "a^": false, "a:b": false, "a?": false, "a*": false, "a[b": false, `a\b`: false, "a//b": false,
		"@": false, "a@{1}": false, "x.": false, "a\tb": false, strings.Repeat("b", 256): false,
	} {
		if err := CheckBranch(value); (err == nil) != ok {
			t.Errorf("CheckBranch(%q) = %v, want ok=%v", value, err, ok)
		}
	}
}

func TestProjectRoot(t *testing.T) {
	t.Parallel()
	for value, ok := range map[string]bool{
		"": true, "envs/prod": true, "infra": true, ".config/tf": true, "a..b": true,
		"/abs": false, "..": false, "../up": false, "a/../b": false, "a/..": false, ".": false, "./a": false,
		"a/": false, "a//b": false, `a\b`: false, "a\nb": false,
	} {
		if err := CheckProjectRoot(value); (err == nil) != ok {
			t.Errorf("CheckProjectRoot(%q) = %v, want ok=%v", value, err, ok)
		}
	}
}
