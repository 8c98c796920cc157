package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/retention"
)

// The retention flags: documented defaults, 0 for ever, and the delivery record
// (the replay window) never shorter than its body nor than retention.MinDeliveries.
func TestRetentionFlags(t *testing.T) {
	t.Parallel()
	parse := func(args ...string) (time.Duration, time.Duration, time.Duration, error) {
		cfg, err := configFromArgs(append([]string{"--db", t.TempDir() + "/o.db"}, args...), env(nil), &bytes.Buffer{}, &bytes.Buffer{})
		return cfg.DeliveryBodyRetention, cfg.DeliveryRetention, cfg.RunRetention, err
	}
	bodies, rows, runs, err := parse()
	if err != nil || bodies != retention.DefaultBodies || rows != retention.DefaultDeliveries || runs != retention.DefaultRuns {
		t.Fatalf("defaults: %s %s %s %v", bodies, rows, runs, err)
	}
	bodies, rows, runs, err = parse("--delivery-body-retention", "0", "--delivery-retention", "0", "--run-retention", "0")
	if err != nil || bodies >= 0 || rows >= 0 || runs >= 0 {
		t.Fatalf("0 must keep for ever (a negative Config value): %s %s %s %v", bodies, rows, runs, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--delivery-body-retention", "48h", "--delivery-retention", "24h"}, "must not be longer than the delivery retention"},
		{[]string{"--delivery-body-retention", "10s", "--delivery-retention", "30s"}, "replay window"},
		{[]string{"--run-retention", "-1h"}, "must not be negative"},
		{[]string{"--retention-interval", "0"}, "--retention-interval"},
	} {
		if _, _, _, err := parse(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
}
