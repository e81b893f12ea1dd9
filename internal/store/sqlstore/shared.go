package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

var _ store.SharedState = (*Store)(nil)

// TakeRate implements store.SharedState. On SQLite it is one transaction
// on the writer, so takes are serialised. On Postgres each bucket is one
// upsert whose row lock serialises every node's takes on it (READ
// COMMITTED re-reads the row a concurrent take committed before
// deciding); buckets are always taken in the caller's order (key, then
// tenant), so two takes cannot deadlock. A refusal rolls back what the
// earlier buckets took. Parameters are CAST because Postgres must know
// their type.
func (s *Store) TakeRate(ctx context.Context, now time.Time, t store.RateTake) (v store.RateVerdict, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return v, s.classify("take rate", err)
	}
	defer tx.Rollback()
	if s.d.RelaxedCommit != "" {
		// Rate state need not survive a crash (a lost update only
		// refills a bucket early): skip the flush at commit, not the
		// row lock.
		if _, err := tx.ExecContext(ctx, s.d.RelaxedCommit); err != nil {
			return v, s.classify("take rate", err)
		}
	}
	nowUS := now.UnixMicro()
	for i, b := range t.Buckets {
		every := b.Every.Microseconds()
		if b.Burst <= 0 || every <= 0 {
			return store.RateVerdict{Refused: i, RetryAfter: time.Second}, nil
		}
		var tat int64
		err := tx.QueryRowContext(ctx, `INSERT INTO rate_buckets(bucket, tat) VALUES (?1, CAST(?2 AS BIGINT) + CAST(?3 AS BIGINT))
			ON CONFLICT(bucket) DO UPDATE SET tat = `+s.d.Greatest+`(rate_buckets.tat, CAST(?2 AS BIGINT)) + CAST(?3 AS BIGINT)
			WHERE `+s.d.Greatest+`(rate_buckets.tat, CAST(?2 AS BIGINT)) + CAST(?3 AS BIGINT) - CAST(?2 AS BIGINT) <= CAST(?4 AS BIGINT)
			RETURNING tat`, b.Key, nowUS, every, int64(b.Burst)*every).Scan(&tat)
		if errors.Is(err, sql.ErrNoRows) {
			if err := tx.QueryRowContext(ctx, `SELECT tat FROM rate_buckets WHERE bucket = ?`, b.Key).Scan(&tat); err != nil {
				return v, s.classify("take rate", err)
			}
			return store.RateVerdict{Refused: i, RetryAfter: b.RetryAfter(tat, nowUS)}, nil
		}
		if err != nil {
			return v, s.classify("take rate", err)
		}
	}
	if t.QuotaMax > 0 {
		var n int64
		err := tx.QueryRowContext(ctx, `INSERT INTO rate_quotas(quota, day, count) VALUES (?1, CAST(?2 AS BIGINT), 1)
			ON CONFLICT(quota) DO UPDATE SET count = CASE WHEN rate_quotas.day = CAST(?2 AS BIGINT) THEN rate_quotas.count + 1 ELSE 1 END, day = CAST(?2 AS BIGINT)
			WHERE rate_quotas.day <> CAST(?2 AS BIGINT) OR rate_quotas.count < CAST(?3 AS BIGINT)
			RETURNING count`, t.Quota, t.Day, t.QuotaMax).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return store.RateVerdict{Refused: len(t.Buckets)}, nil
		}
		if err != nil {
			return v, s.classify("take quota", err)
		}
	}
	return store.RateVerdict{Refused: -1}, s.classify("take rate", tx.Commit())
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
		res, err := s.w.ExecContext(ctx, q.sql, q.arg, s.lim(limit-n))
		if err != nil {
			return n, s.classify("prune rate state", err)
		}
		d, _ := res.RowsAffected()
		if n += int(d); n >= limit {
			break
		}
	}
	return n, nil
}

// galleryLocks are the gallery write locks of this process: a database
// with a single writer (SQLite) is served by one process (`obscura serve
// --role all`).
var galleryLocks sync.Map // tenant + "/" + subject → chan struct{} (a 1-slot semaphore)

// LockGallery implements store.SharedState, honouring ctx while it waits.
// With a single writer it is a lock per gallery in this process; with
// several (Postgres) a transaction holding the gallery's advisory lock
// until unlock commits it (the waiter holds a connection while it waits).
func (s *Store) LockGallery(ctx context.Context, tenant, subjectHash string) (func(), error) {
	if s.multiWriter() {
		t, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return nil, s.classify("lock gallery", err)
		}
		if err := t.Lock(ctx, "gallery", tenant, subjectHash); err != nil {
			t.Rollback()
			return nil, s.classify("lock gallery", err)
		}
		return func() { _ = t.Commit() }, nil
	}
	v, _ := galleryLocks.LoadOrStore(tenant+"/"+subjectHash, make(chan struct{}, 1))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
