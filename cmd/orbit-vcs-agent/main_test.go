package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVCSAgentCommandFlags: the token comes from the environment or a file, never
// from the command line; --version prints the build; missing URLs are named.
func TestVCSAgentCommandFlags(t *testing.T) {
	t.Parallel()
	const token = "orbitpool_pt_abc_secretsecretsecretsecretsecretsecretsecre"
	noEnv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"--version"}, noEnv, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "orbit-vcs-agent ") {
		t.Fatalf("--version: %v %q", err, out.String())
	}
	err := run(t.Context(), []string{"--orbit-url", "https://orbit.example", "--bitbucket-url", "https://bb.example", token}, noEnv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "never on the command line") || strings.Contains(err.Error(), token) {
		t.Fatalf("a token as an argument: %v", err)
	}
	err = run(t.Context(), []string{"--orbit-url", "https://orbit.example", "--bitbucket-url", "https://bb.example"}, noEnv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), TokenEnv) {
		t.Fatalf("no token: %v", err)
	}
	if err := run(t.Context(), nil, func(k string) string { return map[string]string{TokenEnv: token}[k] }, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--orbit-url") {
		t.Fatalf("no URLs: %v", err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readToken(file, noEnv)
	if err != nil || got != token {
		t.Fatalf("token file: %q %v", got, err)
	}
	if got, err := readToken("", func(string) string { return " " + token + " " }); err != nil || got != token {
		t.Fatalf("token env: %q %v", got, err)
	}
	if strings.Contains(errOut.String(), token) {
		t.Fatal("the token reached stderr")
	}
}
