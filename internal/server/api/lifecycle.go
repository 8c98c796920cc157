package api

import (
	"context"
	"sync"
	"time"
)

// readyProbeInterval is the least time between two write probes of /readyz.
const readyProbeInterval = 2 * time.Second

// writeProbe caches the result of the store's write probe for readyProbeInterval, so
// /readyz costs at most one small write every few seconds however often it is asked.
type writeProbe struct {
	mu       sync.Mutex
	at       time.Time
	err      error
	interval time.Duration
	now      func() time.Time
}

func (p *writeProbe) check(ctx context.Context, probe func(context.Context) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !p.at.IsZero() && now.Sub(p.at) < p.interval {
		return p.err
	}
	p.err = probe(ctx)
	p.at = now
	return p.err
}
