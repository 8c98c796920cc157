//go:build benchprofile

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// A provider built with -tags benchprofile writes a CPU profile of each process to
// the directory ORBIT_BENCH_CPUPROFILE names (cpu-<pid>.pprof), for bench/provider's
// -profile: Terraform starts the provider itself, so no flag can reach it. Release
// builds carry none of this.
func init() {
	startProfile = func() func() {
		dir := os.Getenv("ORBIT_BENCH_CPUPROFILE")
		if dir == "" {
			return func() {}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", os.Getpid())))
		if err != nil {
			return func() {}
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return func() {}
		}
		return func() {
			pprof.StopCPUProfile()
			f.Close()
		}
	}
}
