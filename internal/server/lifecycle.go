package server

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Defaults of the shutdown sequence (Config.ShutdownDelay, Config.DrainTimeout).
const (
	DefaultShutdownDelay = 5 * time.Second
	DefaultDrainTimeout  = 15 * time.Second
	// readyProbeInterval is the least time between two write probes of /readyz.
	readyProbeInterval = 2 * time.Second
)

// inflight tracks the requests being served, so that a drain that times out can say
// what it dropped.
type inflight struct {
	mu       sync.Mutex
	requests map[string]string // request id -> "METHOD route"
}

func (f *inflight) add(id, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requests == nil {
		f.requests = map[string]string{}
	}
	f.requests[id] = what
}

func (f *inflight) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.requests, id)
}

// snapshot lists the requests in flight as "request_id METHOD route", sorted.
func (f *inflight) snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.requests))
	for id, what := range f.requests {
		out = append(out, id+" "+what)
	}
	sort.Strings(out)
	return out
}

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
