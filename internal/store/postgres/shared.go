package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

var _ store.SharedState = (*Store)(nil)

// TakeRate implements store.SharedState. Each bucket is one upsert whose
// row lock serialises every node's takes on it (READ COMMITTED re-reads
// the row a concurrent take committed before deciding); buckets are
// always taken in the caller's order (key, then tenant), so two takes
// cannot deadlock. A refusal rolls back what the earlier buckets took.
func (s *Store) TakeRate(ctx context.Context, now time.Time, t store.RateTake) (v store.RateVerdict, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return v, classify("take rate", err)
	}
	defer tx.Rollback()
	// Rate state need not survive a crash (a lost update only refills a
	// bucket early): skip the WAL flush at commit, not the row lock.
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
		return v, classify("take rate", err)
	}
	nowUS := now.UnixMicro()
	for i, b := range t.Buckets {
		every := b.Every.Microseconds()
		if b.Burst <= 0 || every <= 0 {
			return store.RateVerdict{Refused: i, RetryAfter: time.Second}, nil
		}
		var tat int64
		err := tx.QueryRowContext(ctx, `INSERT INTO rate_buckets(bucket, tat) VALUES (?1, ?2::bigint + ?3::bigint)
			ON CONFLICT(bucket) DO UPDATE SET tat = GREATEST(rate_buckets.tat, ?2::bigint) + ?3::bigint
			WHERE GREATEST(rate_buckets.tat, ?2::bigint) + ?3::bigint - ?2::bigint <= ?4::bigint
			RETURNING tat`, b.Key, nowUS, every, int64(b.Burst)*every).Scan(&tat)
		if errors.Is(err, sql.ErrNoRows) {
			if err := tx.QueryRowContext(ctx, `SELECT tat FROM rate_buckets WHERE bucket = ?`, b.Key).Scan(&tat); err != nil {
				return v, classify("take rate", err)
			}
			return store.RateVerdict{Refused: i, RetryAfter: b.RetryAfter(tat, nowUS)}, nil
		}
		if err != nil {
			return v, classify("take rate", err)
		}
	}
	if t.QuotaMax > 0 {
		var n int64
		err := tx.QueryRowContext(ctx, `INSERT INTO rate_quotas(quota, day, count) VALUES (?1, ?2::bigint, 1)
			ON CONFLICT(quota) DO UPDATE SET count = CASE WHEN rate_quotas.day = ?2::bigint THEN rate_quotas.count + 1 ELSE 1 END, day = ?2::bigint
			WHERE rate_quotas.day <> ?2::bigint OR rate_quotas.count < ?3::bigint
			RETURNING count`, t.Quota, t.Day, t.QuotaMax).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return store.RateVerdict{Refused: len(t.Buckets)}, nil
		}
		if err != nil {
			return v, classify("take quota", err)
		}
	}
	return store.RateVerdict{Refused: -1}, classify("take rate", tx.Commit())
}

// PruneRate implements store.SharedState.
func (s *Store) PruneRate(ctx context.Context, now time.Time, limit int) (int, error) {
	n := 0
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM rate_buckets WHERE bucket IN (SELECT bucket FROM rate_buckets WHERE tat < ? LIMIT ?)`, now.UnixMicro()},
		{`DELETE FROM rate_quotas WHERE quota IN (SELECT quota FROM rate_quotas WHERE day < ? LIMIT ?)`, now.UTC().Unix() / 86400},
	} {
		res, err := s.db.ExecContext(ctx, q.sql, q.arg, limit-n)
		if err != nil {
			return n, classify("prune rate state", err)
		}
		d, _ := res.RowsAffected()
		if n += int(d); n >= limit {
			break
		}
	}
	return n, nil
}

// LockGallery implements store.SharedState: a transaction holding the
// gallery's advisory lock (pg_advisory_xact_lock) until unlock commits
// it. The waiter holds a connection while it waits.
func (s *Store) LockGallery(ctx context.Context, tenant, subjectHash string) (func(), error) {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify("lock gallery", err)
	}
	if err := t.lock(ctx, "gallery", tenant, subjectHash); err != nil {
		t.Rollback()
		return nil, classify("lock gallery", err)
	}
	return func() { _ = t.Commit() }, nil
}

// killChannel is the channel migration 00023's trigger notifies on every
// change of kill_switches.
const killChannel = "obscura_kill_switches"

// ListenKillSwitches calls onChange after every change of the kill
// switches on any node (LISTEN/NOTIFY on a connection of its own), until
// ctx ends (nil) or the connection fails (the error). The connection is
// closed, not returned to the pool, when it ends.
func (s *Store) ListenKillSwitches(ctx context.Context, onChange func()) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("listen for kill switches: %w", err)
	}
	conn := c.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+killChannel); err != nil {
		return fmt.Errorf("listen for kill switches: %w", err)
	}
	// A change between the caller's last read and LISTEN would be missed:
	// read once now.
	onChange()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("kill switch notifications: %w", err)
		}
		onChange()
	}
}
