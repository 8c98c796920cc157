package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// checkpointInterval is how often the WAL is copied back into the database
// file. SQLite's default does it inside the commit that crosses 1,000 pages,
// which then takes several times as long as the others; on its own connection
// it runs beside the writer (a PASSIVE checkpoint takes no lock a writer or a
// reader waits for).
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
		if err := c.checkpoint(context.Background(), "PASSIVE"); err != nil {
			slog.Warn("sqlite: WAL checkpoint", "error", err.Error())
		}
	}
}

// checkpoint copies what it can of the WAL into the database file; mode is
// PASSIVE (never waits for readers or the writer).
func (c *checkpointer) checkpoint(ctx context.Context, mode string) error {
	var busy, logFrames, checkpointed int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("wal_checkpoint(%s): %w", mode, err)
	}
	return nil
}

// close stops the loop. The last connection to close checkpoints what is left.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}
