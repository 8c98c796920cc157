package httpguard

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Gate bounds how many requests may be reading (or holding) a body at once. It never
// queues: TryAcquire either takes a slot or refuses at once, so the memory of the
// bodies read is bounded by the slots times the body limit, whatever arrives.
type Gate struct {
	slots   chan struct{}
	refused atomic.Uint64
}

// DefaultGateSlots is a default size for a gate on body reads: 4 per CPU, at least 8
// (8 on a 2-core machine: with a 4 MiB body limit, at most 32 MiB of bodies).
func DefaultGateSlots() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// NewGate makes a gate of n slots (at least 1).
func NewGate(n int) *Gate {
	return &Gate{slots: make(chan struct{}, max(1, n))}
}

// TryAcquire takes a slot if one is free. The release function gives it back; it may
// be called more than once. When no slot is free it returns ok false and counts the
// refusal: answer 503 (or 429) with SetRetryAfter, without reading the body.
func (g *Gate) TryAcquire() (release func(), ok bool) {
	select {
	case g.slots <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-g.slots }) }, true
	default:
		g.refused.Add(1)
		return func() {}, false
	}
}

// InUse is how many slots are taken now (a gauge).
func (g *Gate) InUse() int { return len(g.slots) }

// Size is the number of slots.
func (g *Gate) Size() int { return cap(g.slots) }

// Refused counts the TryAcquire calls refused so far (a counter).
func (g *Gate) Refused() uint64 { return g.refused.Load() }
