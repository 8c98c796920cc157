package httpguard_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/httpguard"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func TestGateRefusesBeyondItsSlots(t *testing.T) {
	t.Parallel()
	g := httpguard.NewGate(2)
	r1, ok1 := g.TryAcquire()
	r2, ok2 := g.TryAcquire()
	if !ok1 || !ok2 || g.InUse() != 2 {
		t.Fatalf("first two: %v %v, in use %d", ok1, ok2, g.InUse())
	}
	if _, ok := g.TryAcquire(); ok {
		t.Fatal("third acquired a slot of two")
	}
	if g.Refused() != 1 {
		t.Fatalf("refused %d, want 1", g.Refused())
	}
	r1()
	r1() // twice gives back one slot, not two
	if g.InUse() != 1 {
		t.Fatalf("in use %d after one release, want 1", g.InUse())
	}
	r3, ok := g.TryAcquire()
	if !ok {
		t.Fatal("a released slot was not reusable")
	}
	if _, ok := g.TryAcquire(); ok {
		t.Fatal("a double release made a third slot")
	}
	r2()
	r3()
	if g.InUse() != 0 || g.Size() != 2 || g.Refused() != 2 {
		t.Fatalf("in use %d size %d refused %d", g.InUse(), g.Size(), g.Refused())
	}
	if httpguard.DefaultGateSlots() < 8 {
		t.Errorf("default slots %d", httpguard.DefaultGateSlots())
	}
}

func TestSetRetryAfter(t *testing.T) {
	t.Parallel()
	for wait, want := range map[time.Duration]string{0: "1", 10 * time.Millisecond: "1", time.Second: "1",
		1500 * time.Millisecond: "2", 30 * time.Second: "30"} {
		w := httptest.NewRecorder()
		httpguard.SetRetryAfter(w, wait)
		if got := w.Header().Get("Retry-After"); got != want {
			t.Errorf("%v: Retry-After %q, want %q", wait, got, want)
		}
	}
}

// trickle returns at most 7 bytes a read, as a slow client would.
type trickle struct{ r io.Reader }

func (t trickle) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), 7)]) }

func TestReadBody(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name          string
		contentLength int64
		limit         int64
		wantErr       bool
	}{
		{"declared, within", 1000, 1000, false},
		{"undeclared, within", -1, 1000, false},
		{"undeclared, over", -1, 999, true},
		{"declared over the limit", 1000, 999, true},
		{"declared short, really longer", 10, 999, true},
		{"declared short, within the limit", 10, 5000, false},
	} {
		got, err := httpguard.ReadBody(trickle{strings.NewReader(body)}, tc.contentLength, tc.limit)
		if tc.wantErr {
			if !errors.Is(err, httpguard.ErrBodyTooLarge) {
				t.Errorf("%s: err %v", tc.name, err)
			}
		} else if err != nil || string(got) != body {
			t.Errorf("%s: %d bytes, err %v", tc.name, len(got), err)
		}
		if int64(cap(got)) > tc.limit+1 {
			t.Errorf("%s: buffer of %d bytes for a limit of %d", tc.name, cap(got), tc.limit)
		}
	}
	// An endless body costs limit+1 bytes, then stops.
	got, err := httpguard.ReadBody(endless{}, -1, 4096)
	if !errors.Is(err, httpguard.ErrBodyTooLarge) || cap(got) > 4097 {
		t.Errorf("endless: err %v, buffer %d", err, cap(got))
	}
	failing := io.MultiReader(strings.NewReader("abc"), errReader{})
	if _, err := httpguard.ReadBody(failing, -1, 100); err == nil || errors.Is(err, httpguard.ErrBodyTooLarge) {
		t.Errorf("read error: %v", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestFailureLimiter(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := httpguard.NewFailureLimiter(httpguard.FailureLimit{Burst: 3, Interval: 10 * time.Second, Now: c.now})
	const client = "192.0.2.7"
	for i := range 3 {
		if wait := l.RetryAfter(client); wait != 0 {
			t.Fatalf("failure %d: refused (%v) within the burst", i, wait)
		}
		l.Failed(client)
	}
	if wait := l.RetryAfter(client); wait != 10*time.Second {
		t.Fatalf("after the burst: wait %v, want 10s", wait)
	}
	if wait := l.RetryAfter("192.0.2.8"); wait != 0 {
		t.Fatalf("another address waits %v", wait)
	}
	c.advance(4 * time.Second)
	if wait := l.RetryAfter(client); wait != 6*time.Second {
		t.Fatalf("4 s later: wait %v, want 6s", wait)
	}
	c.advance(6 * time.Second)
	if wait := l.RetryAfter(client); wait != 0 {
		t.Fatalf("one interval later: wait %v, want a new attempt", wait)
	}
	l.Failed(client)
	if wait := l.RetryAfter(client); wait == 0 {
		t.Fatal("the refilled token was not taken")
	}

	// IPv6 counts by /64: another address of the same /64 shares the bucket.
	for range 3 {
		l.Failed("2001:db8:1:2::10")
	}
	if l.RetryAfter("2001:db8:1:2:ffff::1") == 0 {
		t.Error("same /64 not limited")
	}
	if l.RetryAfter("2001:db8:1:3::10") != 0 {
		t.Error("another /64 limited")
	}
	if got := httpguard.ClientKey("::ffff:192.0.2.7"); got != "::ffff:192.0.2.7" {
		t.Errorf("IPv4-mapped key %q", got)
	}
	if got := httpguard.ClientKey("not an address"); got != "not an address" {
		t.Errorf("opaque key %q", got)
	}
}

// Beyond MaxClients, refilled clients are forgotten, and while all are limited new
// ones share one bucket: memory stays bounded.
func TestFailureLimiterBoundsItsMemory(t *testing.T) {
	t.Parallel()
	c := newClock()
	l := httpguard.NewFailureLimiter(httpguard.FailureLimit{Burst: 1, Interval: time.Minute, MaxClients: 3, Now: c.now})
	for i := range 3 {
		l.Failed(fmt.Sprintf("192.0.2.%d", i))
	}
	l.Failed("198.51.100.1") // no room: the overflow bucket
	l.Failed("198.51.100.2")
	if l.Tracked() != 4 {
		t.Fatalf("tracked %d, want 3 clients and the overflow bucket", l.Tracked())
	}
	if l.RetryAfter("198.51.100.3") == 0 {
		t.Error("an untracked client does not share the exhausted overflow bucket")
	}
	c.advance(2 * time.Minute) // everything refilled
	l.Failed("203.0.113.9")    // sweeps the refilled ones
	if l.Tracked() != 1 || l.RetryAfter("192.0.2.0") != 0 {
		t.Errorf("after the sweep: tracked %d", l.Tracked())
	}
}

func TestSampledHandler(t *testing.T) {
	t.Parallel()
	c := newClock()
	var out bytes.Buffer
	h := httpguard.NewSampledHandler(slog.NewTextHandler(&out, nil), httpguard.Sample{PerInterval: 2, Interval: time.Second, Now: c.now})
	log := slog.New(h)
	child := log.With("route", "webhook") // shares the allowance
	for i := range 5 {
		log.Info("rejected", "n", i)
	}
	child.Info("rejected", "n", 5)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || h.Dropped() != 4 {
		t.Fatalf("%d lines passed, %d dropped; want 2 and 4:\n%s", len(lines), h.Dropped(), out.String())
	}
	c.advance(time.Second)
	out.Reset()
	child.Info("rejected", "n", 6)
	log.Info("rejected", "n", 7)
	log.Info("rejected", "n", 8)
	lines = strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || h.Dropped() != 5 {
		t.Fatalf("next interval: %d lines, %d dropped:\n%s", len(lines), h.Dropped(), out.String())
	}
	if !strings.Contains(lines[0], "dropped_lines=4") || !strings.Contains(lines[0], "route=webhook") || strings.Contains(lines[1], "dropped_lines") {
		t.Errorf("the first line after drops must say how many:\n%s", out.String())
	}
	if !h.Enabled(context.Background(), slog.LevelInfo) || h.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled is not the wrapped handler's")
	}
}
