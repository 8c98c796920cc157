package provider

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	restorePercent, restoreLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(restorePercent)
		debug.SetMemoryLimit(restoreLimit)
	})
	for _, tc := range []struct {
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{map[string]string{}, providerGCPercent, providerMemoryLimit},
		{map[string]string{"GOGC": "100"}, 100, math.MaxInt64},
		{map[string]string{"GOMEMLIMIT": "2GiB"}, 100, math.MaxInt64},
	} {
		for _, name := range []string{"GOGC", "GOMEMLIMIT"} {
			t.Setenv(name, "")
			if err := os.Unsetenv(name); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
		TuneGC()
		if got := debug.SetGCPercent(100); got != tc.wantPercent {
			t.Errorf("env %v: GC percent %d, want %d", tc.env, got, tc.wantPercent)
		}
		if got := debug.SetMemoryLimit(math.MaxInt64); got != tc.wantLimit {
			t.Errorf("env %v: memory limit %d, want %d", tc.env, got, tc.wantLimit)
		}
	}
}
