package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// checkpointInterval is how often the WAL is copied back into the database
// file on a connection of its own, beside the writer (a PASSIVE checkpoint takes
// no lock a writer or a reader waits for). SQLite's own checkpoint runs inside
// the commit that takes the WAL past 1,000 pages and holds it up; with most
// pages already copied here, it has little left to do.
const checkpointInterval = 250 * time.Millisecond

type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(ctx context.Context, path string) (*checkpointer, error) {
	db, err := openPool(ctx, path, 1)
	if err != nil {
		return nil, err
	}
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c, nil
}

func (c *checkpointer) loop() {
	defer close(c.done)
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		if err := c.checkpoint(context.Background()); err != nil {
			slog.Warn("sqlite: WAL checkpoint", "error", err.Error())
		}
	}
}

// checkpoint copies what it can of the WAL into the database file, without
// waiting for readers or the writer (PASSIVE).
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, logFrames, checkpointed int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("wal_checkpoint: %w", err)
	}
	return nil
}

// close stops the loop. The last connection to close checkpoints what is left.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}
