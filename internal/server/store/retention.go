package store

import (
	"context"
	"time"
)

// RetentionStore prunes what orbit-server keeps for a while only, and reports the
// queue for the operator's metrics. Each Prune call is one small transaction of at
// most limit rows, oldest first, so that pruning never holds the database long:
// a caller prunes a backlog by calling again until fewer than limit come back.
// Replicas may prune at the same time: a row another one is pruning is skipped
// (PostgreSQL: SKIP LOCKED), never pruned twice or waited for.
type RetentionStore interface {
	// PruneDeliveryBodies empties the body of up to limit dispatched deliveries
	// received before before, and returns how many. The row and everything else on
	// it stay: time, event, outcome, request id (the dedupe key) and the body hash
	// the replay check compares. A delivery not yet dispatched keeps its body.
	PruneDeliveryBodies(ctx context.Context, before time.Time, limit int) (int, error)
	// PruneDeliveries deletes up to limit dispatched deliveries received before
	// before, and returns how many. Once its row is gone, a delivery's request id
	// and body hash no longer dedupe: the row retention is the replay window.
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
	// PruneRuns deletes up to limit finished runs last updated before before whose
	// commit status is not waiting to be posted (no job), and returns how many.
	PruneRuns(ctx context.Context, before time.Time, limit int) (int, error)
	// QueueStats returns, per job kind that has jobs, how many wait (due or not,
	// leased or not) and when the oldest was created.
	QueueStats(ctx context.Context) ([]QueueStat, error)
}

// QueueStat is the queue of one job kind.
type QueueStat struct {
	Kind   JobKind
	Jobs   int
	Oldest time.Time // creation of the oldest job
}
