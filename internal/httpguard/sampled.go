package httpguard

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Sample configures a SampledHandler: at most PerInterval records pass in each
// Interval (fixed windows); Now is the clock (time.Now when nil).
type Sample struct {
	PerInterval int
	Interval    time.Duration
	Now         func() time.Time
}

// DroppedKey is the attribute the first record passed after some were dropped
// carries: how many were dropped since the last record passed.
const DroppedKey = "dropped_lines"

// SampledHandler is a slog.Handler that passes at most Sample.PerInterval records
// per interval to the handler it wraps and counts the others (Dropped, for a
// Prometheus counter). Use it for the lines an unauthenticated client can make us
// write (rejected deliveries), so that a flood cannot fill the disk. Handlers made
// by WithAttrs and WithGroup share its allowance and count.
type SampledHandler struct {
	next  slog.Handler
	state *sampleState
}

type sampleState struct {
	mu          sync.Mutex
	perInterval int
	interval    time.Duration
	now         func() time.Time
	windowStart time.Time
	passed      int
	pending     uint64 // dropped since the last record passed
	dropped     atomic.Uint64
}

// NewSampledHandler wraps next; PerInterval and Interval must be positive.
func NewSampledHandler(next slog.Handler, cfg Sample) *SampledHandler {
	if cfg.PerInterval <= 0 || cfg.Interval <= 0 {
		panic("httpguard: Sample needs a positive PerInterval and Interval")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &SampledHandler{next: next, state: &sampleState{perInterval: cfg.PerInterval, interval: cfg.Interval, now: cfg.Now}}
}

// Enabled is the wrapped handler's.
func (h *SampledHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle passes r on while the interval's allowance lasts, else drops and counts it.
func (h *SampledHandler) Handle(ctx context.Context, r slog.Record) error {
	pass, dropped := h.state.take()
	if !pass {
		return nil
	}
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Uint64(DroppedKey, dropped))
	}
	return h.next.Handle(ctx, r)
}

// take decides one record: pass or not, and when passing, how many were dropped
// before it.
func (s *sampleState) take() (pass bool, droppedBefore uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.windowStart) >= s.interval || now.Before(s.windowStart) {
		s.windowStart, s.passed = now, 0
	}
	if s.passed >= s.perInterval {
		s.pending++
		s.dropped.Add(1)
		return false, 0
	}
	s.passed++
	droppedBefore, s.pending = s.pending, 0
	return true, droppedBefore
}

// WithAttrs wraps the wrapped handler's, sharing this one's allowance.
func (h *SampledHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &SampledHandler{next: h.next.WithAttrs(attrs), state: h.state}
}

// WithGroup wraps the wrapped handler's, sharing this one's allowance.
func (h *SampledHandler) WithGroup(name string) slog.Handler {
	return &SampledHandler{next: h.next.WithGroup(name), state: h.state}
}

// Dropped counts the records dropped so far (a counter).
func (h *SampledHandler) Dropped() uint64 { return h.state.dropped.Load() }
