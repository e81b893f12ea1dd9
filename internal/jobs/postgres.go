package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// migrateLock is the Postgres advisory lock key that serialises River's
// migrations when several nodes start at once (an arbitrary constant:
// "obscura river migrate").
const migrateLock int64 = 0x6f62_7363_7276_6d67

// OpenPostgres opens the queue on a Postgres pool (the store's, see
// (*postgres.Store).Pool) through River's pgx v5 driver, migrating
// River's tables first (idempotent; one node at a time, under an advisory
// lock). The pool is borrowed: Close stops the workers and leaves it open.
//
// With Postgres every node shares one queue: api nodes insert (Options
// StartWorker false), jobs nodes work (StartWorker true); River elects one
// leader among the working nodes for the periodic sweep and the rescuer,
// and a job is fetched by one node only (FOR UPDATE SKIP LOCKED).
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, o Options) (*Queue, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return nil, fmt.Errorf("job queue migration lock: %w", err)
	}
	q, err := open(ctx, riverpgxv5.New(pool), o)
	// Unlock on the same session, whether or not the queue opened (a
	// session that ends releases its locks too).
	if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock); uerr != nil && err == nil {
		if q != nil && q.run {
			_ = q.client.Stop(ctx)
		}
		return nil, fmt.Errorf("job queue migration unlock: %w", uerr)
	}
	return q, err
}
