package provider

import (
	"os"
	"runtime/debug"
)

// The provider is a short-lived process whose live heap stays small whatever the
// number of resources (each RPC's values are garbage once answered), so with Go's
// default GOGC=100 it collects very often: a fifth of its CPU on a no-change plan of
// 500 hooks went to the garbage collector. Unless the user sets GOGC or GOMEMLIMIT,
// it collects when the heap has grown fourfold instead, with a soft limit that makes
// it collect harder well before memory becomes a concern.
const (
	providerGCPercent   = 400
	providerMemoryLimit = 1 << 30 // bytes
)

// TuneGC applies providerGCPercent and providerMemoryLimit unless GOGC or GOMEMLIMIT
// is set. Call it once, from main.
func TuneGC() {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	if gogc || limit {
		return
	}
	debug.SetGCPercent(providerGCPercent)
	debug.SetMemoryLimit(providerMemoryLimit)
}
