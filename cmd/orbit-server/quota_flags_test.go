package main

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
)

func TestQuotaFlags(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "orbit.db")
	cfg, err := configFromArgs([]string{"--db", db}, env(nil), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxSpaces != server.DefaultMaxSpaces || cfg.MaxSpaceDepth != server.DefaultMaxSpaceDepth || cfg.MaxLabels != server.DefaultMaxLabels {
		t.Fatalf("defaults: spaces %d depth %d labels %d", cfg.MaxSpaces, cfg.MaxSpaceDepth, cfg.MaxLabels)
	}
	if server.DefaultMaxSpaces != 10000 || server.DefaultMaxSpaceDepth != 16 || server.DefaultMaxLabels != 50 {
		t.Fatal("documented defaults changed; update API.md and the flag help")
	}
	cfg, err = configFromArgs([]string{"--db", db, "--max-spaces", "20", "--max-space-depth", "3", "--max-labels", "5"}, env(nil), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxSpaces != 20 || cfg.MaxSpaceDepth != 3 || cfg.MaxLabels != 5 {
		t.Fatalf("flags: spaces %d depth %d labels %d", cfg.MaxSpaces, cfg.MaxSpaceDepth, cfg.MaxLabels)
	}
	for _, bad := range []string{"--max-spaces=0", "--max-space-depth=-1", "--max-labels=0"} {
		if _, err := configFromArgs([]string{"--db", db, bad}, env(nil), io.Discard, io.Discard); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
