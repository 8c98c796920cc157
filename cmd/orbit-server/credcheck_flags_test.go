package main

import (
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
)

func TestCredentialCheckFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        []string
		wantChecker bool
		wantCloud   string
		wantErr     bool
	}{
		{"default checks against Bitbucket Cloud", nil, true, "https://api.bitbucket.org", false},
		{"sandbox URL", []string{"--bitbucket-cloud-api-url", "http://127.0.0.1:8790"}, true, "http://127.0.0.1:8790", false},
		{"checks off", []string{"--check-credentials=false"}, false, "", false},
		{"bad URL", []string{"--bitbucket-cloud-api-url", "api.bitbucket.org"}, false, "", true},
		{"allowed hosts", []string{"--bitbucket-allowed-hosts", "bitbucket.example.com, 10.0.0.0/8"}, true, "https://api.bitbucket.org", false},
		{"bad allowed host", []string{"--bitbucket-allowed-hosts", "10.0.0.0/99"}, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--db", filepath.Join(t.TempDir(), "orbit.db")}, tt.args...)
			cfg, err := configFromArgs(args, env(nil), io.Discard, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			checker, ok := cfg.CredentialChecker.(*server.BitbucketChecker)
			if ok != tt.wantChecker {
				t.Fatalf("checker = %#v", cfg.CredentialChecker)
			}
			if ok && checker.CloudBaseURL != tt.wantCloud {
				t.Fatalf("CloudBaseURL = %q, want %q", checker.CloudBaseURL, tt.wantCloud)
			}
			if ok && (checker.Egress == nil || checker.Egress.Restricted() != slices.Contains(tt.args, "--bitbucket-allowed-hosts")) {
				t.Fatalf("egress policy %+v for %v", checker.Egress, tt.args)
			}
		})
	}
}
