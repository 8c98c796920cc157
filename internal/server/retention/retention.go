// Package retention prunes what orbit-server keeps for a while only: the bodies
// of webhook deliveries (which carry committer names and e-mail addresses), then
// the delivery rows, and finished runs. It works in small batches, oldest first,
// pausing between them, so that the receiver's commits never wait long behind it;
// replicas sharing a database may all run it (the store skips rows another one is
// pruning). It may import store and metrics.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/metrics"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Defaults (flags --delivery-body-retention, --delivery-retention, --run-retention,
// --retention-interval).
const (
	// DefaultBodies: a week of bodies, time enough to look into a delivery that
	// did something unexpected (and for the delivery log's redelivery).
	DefaultBodies = 7 * 24 * time.Hour
	// DefaultDeliveries: a month of delivery records, which is also the replay
	// window (a body seen within it starts nothing again).
	DefaultDeliveries = 30 * 24 * time.Hour
	// DefaultRuns: three months of finished runs.
	DefaultRuns     = 90 * 24 * time.Hour
	DefaultInterval = time.Minute
	// MinDeliveries is the shortest delivery retention accepted: below it a
	// delivery Bitbucket retries could come back after its row is gone and be
	// taken as new.
	MinDeliveries = time.Minute
	// batchSize rows per transaction: a few milliseconds of writing.
	batchSize = 500
	// After each batch the pruner pauses pauseFactor times as long as the batch
	// took (at least minPause), leaving the writer to ingest most of the time.
	pauseFactor = 4
	minPause    = 5 * time.Millisecond
)

// Config says how long each kind of row is kept; 0 keeps it for ever.
type Config struct {
	// Bodies is how long a dispatched delivery keeps its body.
	Bodies time.Duration
	// Deliveries is how long a dispatched delivery's row is kept: the replay
	// window, during which its request id and body hash dedupe.
	Deliveries time.Duration
	// Runs is how long a finished run is kept (from its last update).
	Runs time.Duration
	// Interval is the pause between two pruning rounds (0: DefaultInterval).
	Interval time.Duration
	Logger   *slog.Logger
	Metrics  *metrics.Metrics
}

// Validate checks the windows against each other: the delivery row outlives its
// body (a body kept for ever, 0, is kept as long as its row), and the replay
// window (the row retention) is at least MinDeliveries.
func (c Config) Validate() error {
	switch {
	case c.Bodies < 0 || c.Deliveries < 0 || c.Runs < 0 || c.Interval < 0:
		return errors.New("retention: a window must not be negative (0 keeps for ever)")
	case c.Deliveries > 0 && c.Deliveries < MinDeliveries:
		return fmt.Errorf("delivery retention %s is shorter than %s: it is the replay window, in which a repeated delivery is recognised", c.Deliveries, MinDeliveries)
	case c.Deliveries > 0 && c.Bodies > c.Deliveries:
		return fmt.Errorf("delivery body retention (%s) must not be longer than the delivery retention (%s): a body goes with its row", c.Bodies, c.Deliveries)
	}
	return nil
}

// Enabled reports whether anything is pruned at all.
func (c Config) Enabled() bool { return c.Bodies > 0 || c.Deliveries > 0 || c.Runs > 0 }

// Pruner runs the rounds.
type Pruner struct {
	st     store.RetentionStore
	cfg    Config
	now    func() time.Time
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a pruner; Start runs it in the background.
func New(st store.RetentionStore, cfg Config) *Pruner {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pruner{st: st, cfg: cfg, now: time.Now}
}

// Start prunes a first time soon after the start, then every Interval (with
// jitter, so that replicas started together spread out). Nothing runs when no
// window is set.
func (p *Pruner) Start() {
	if !p.cfg.Enabled() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		timer := time.NewTimer(jitter(min(p.cfg.Interval, 10*time.Second)))
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			if _, err := p.PruneOnce(ctx); err != nil && ctx.Err() == nil {
				p.cfg.Logger.Warn("retention: pruning stopped for this round; the next one goes on", "error", err.Error())
			}
			timer.Reset(jitter(p.cfg.Interval))
		}
	}()
}

// Stop ends the background rounds (a batch in progress is rolled back) and waits.
func (p *Pruner) Stop() {
	if p.cancel != nil {
		p.cancel()
		p.wg.Wait()
	}
}

// jitter is d ± 10 %.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

// Counts says what one round pruned.
type Counts struct {
	Bodies, Deliveries, Runs int
}

// PruneOnce prunes everything past its window now, batch after batch, and
// returns the counts (also added to the metrics).
func (p *Pruner) PruneOnce(ctx context.Context) (Counts, error) {
	var c Counts
	now := p.now()
	steps := []struct {
		what   string
		window time.Duration
		prune  func(context.Context, time.Time, int) (int, error)
		count  *int
	}{
		{"delivery_bodies", p.cfg.Bodies, p.st.PruneDeliveryBodies, &c.Bodies},
		{"deliveries", p.cfg.Deliveries, p.st.PruneDeliveries, &c.Deliveries},
		{"runs", p.cfg.Runs, p.st.PruneRuns, &c.Runs},
	}
	for _, step := range steps {
		if step.window <= 0 {
			continue
		}
		before := now.Add(-step.window)
		for {
			began := time.Now()
			n, err := step.prune(ctx, before, batchSize)
			if err != nil {
				return c, fmt.Errorf("prune %s: %w", step.what, err)
			}
			*step.count += n
			p.cfg.Metrics.Pruned(step.what, n)
			if n < batchSize {
				break
			}
			// Let the receiver's commits through before the next batch.
			pause := time.NewTimer(max(pauseFactor*time.Since(began), minPause))
			select {
			case <-ctx.Done():
				pause.Stop()
				return c, ctx.Err()
			case <-pause.C:
			}
		}
	}
	if c != (Counts{}) {
		p.cfg.Logger.Info("retention: pruned", "delivery_bodies", c.Bodies, "deliveries", c.Deliveries, "runs", c.Runs)
	}
	return c, nil
}
