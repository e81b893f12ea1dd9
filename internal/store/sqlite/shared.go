package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

var _ store.SharedState = (*Store)(nil)

// TakeRate implements store.SharedState: one transaction on the writer,
// so takes are serialised; a refusal rolls back what the earlier buckets
// took.
func (s *Store) TakeRate(ctx context.Context, now time.Time, t store.RateTake) (v store.RateVerdict, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return v, classify("take rate", err)
	}
	defer tx.Rollback()
	nowUS := now.UnixMicro()
	for i, b := range t.Buckets {
		every := b.Every.Microseconds()
		if b.Burst <= 0 || every <= 0 {
			return store.RateVerdict{Refused: i, RetryAfter: time.Second}, nil
		}
		var tat int64
		err := tx.QueryRowContext(ctx, `INSERT INTO rate_buckets(bucket, tat) VALUES (?1, ?2 + ?3)
			ON CONFLICT(bucket) DO UPDATE SET tat = MAX(rate_buckets.tat, ?2) + ?3
			WHERE MAX(rate_buckets.tat, ?2) + ?3 - ?2 <= ?4
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
		err := tx.QueryRowContext(ctx, `INSERT INTO rate_quotas(quota, day, count) VALUES (?1, ?2, 1)
			ON CONFLICT(quota) DO UPDATE SET count = CASE WHEN rate_quotas.day = ?2 THEN rate_quotas.count + 1 ELSE 1 END, day = ?2
			WHERE rate_quotas.day <> ?2 OR rate_quotas.count < ?3
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
		res, err := s.w.ExecContext(ctx, q.sql, q.arg, limit-n)
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

// galleryLocks are the gallery write locks of this process: a SQLite
// installation is served by one process (`obscura serve --role all`).
var galleryLocks sync.Map // tenant + "/" + subject → chan struct{} (a 1-slot semaphore)

// LockGallery implements store.SharedState with a lock per gallery in
// this process, honouring ctx while it waits.
func (s *Store) LockGallery(ctx context.Context, tenant, subjectHash string) (func(), error) {
	v, _ := galleryLocks.LoadOrStore(tenant+"/"+subjectHash, make(chan struct{}, 1))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
