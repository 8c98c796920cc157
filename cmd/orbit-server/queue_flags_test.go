package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
)

func TestQueueLeaseFlag(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "o.db")
	cfg, err := configFromArgs([]string{"--db", db}, env(nil), io.Discard, io.Discard)
	if err != nil || cfg.QueueLease != server.DefaultQueueLease {
		t.Fatalf("default lease %v, %v; want %v", cfg.QueueLease, err, server.DefaultQueueLease)
	}
	cfg, err = configFromArgs([]string{"--db", db, "--queue-lease", "5s"}, env(nil), io.Discard, io.Discard)
	if err != nil || cfg.QueueLease != 5*time.Second {
		t.Fatalf("--queue-lease 5s: %v, %v", cfg.QueueLease, err)
	}
	for _, bad := range []string{"500ms", "0s", "-1m"} {
		_, err := configFromArgs([]string{"--db", db, "--queue-lease", bad}, env(nil), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--queue-lease") {
			t.Errorf("--queue-lease %s: %v, want an error naming the flag", bad, err)
		}
	}
}
