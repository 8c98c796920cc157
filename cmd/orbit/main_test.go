package main

import (
	"context"
	"github.com/orbit-iac/terraform-provider-orbit/internal/version"
	"strings"
	"testing"
)

func runCLI(args []string, environment map[string]string) (string, string, int) {
	var out, errOut strings.Builder
	code := run(context.Background(), args, env{getenv: func(k string) string { return environment[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errOut})
	return out.String(), errOut.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := runCLI([]string{"version"}, nil)
	if code != 0 || out != version.String("orbit")+"\n" {
		t.Errorf("orbit version = %q, %d", out, code)
	}
}

func TestAdoptUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"adopt", "--workspace", "acme", "--out", "x"}, "--space is required"},
		{[]string{"adopt", "--space", "s", "--out", "x"}, "--workspace"},
		{[]string{"adopt", "--space", "s", "--workspace", "acme"}, "--out is required"},
		{[]string{"adopt", "--space", "s", "--workspace", "acme", "--out", "x", "--format", "yaml"}, "--format must be md or json"},
		{[]string{"adopt", "--space", "s", "--workspace", "acme", "--out", "x", "--yes"}, "--yes only confirms --dedupe"},
		{[]string{"adopt", "--space", "s", "--workspace", "acme", "--out", "x", "--concurrency", "0"}, "--concurrency"},
		{[]string{"adopt", "--bogus"}, "flag provided but not defined"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		_, stderr, code := runCLI(tc.args, nil)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("orbit %v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestAdoptNeedsConfiguration(t *testing.T) {
	args := []string{"adopt", "--space", "s", "--workspace", "acme", "--dry-run"}
	_, stderr, code := runCLI(args, nil)
	if code != exitError || !strings.Contains(stderr, "ORBIT_ENDPOINT") {
		t.Errorf("without ORBIT_ENDPOINT: exit %d, %q", code, stderr)
	}
	_, stderr, code = runCLI(args, map[string]string{"ORBIT_ENDPOINT": "http://127.0.0.1:1", "ORBIT_API_KEY": "k"})
	if code != exitError || !strings.Contains(stderr, "BITBUCKET_CLOUD_API_TOKEN") {
		t.Errorf("without Bitbucket Cloud credentials: exit %d, %q", code, stderr)
	}
}
