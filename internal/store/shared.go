package store

import (
	"context"
	"time"
)

// RateBucket is one token bucket kept in the database, as the generic
// cell rate algorithm (GCRA) keeps it: one "theoretical arrival time" per
// bucket. A request at now is admitted when max(tat, now) + Every − now
// ≤ Burst × Every, and then moves tat to max(tat, now) + Every. This is
// the same bucket as golang.org/x/time/rate's (rate 1/Every, burst Burst).
type RateBucket struct {
	// Key names the bucket; the caller hashes whatever must not be stored
	// in clear (client addresses).
	Key   string
	Every time.Duration
	Burst int
}

// RateTake is one request: a token from every bucket and, when QuotaMax
// > 0, one count of the daily quota named Quota on day Day (days since the
// Unix epoch, UTC).
type RateTake struct {
	Buckets  []RateBucket
	Quota    string
	Day      int64
	QuotaMax int64
}

// RateVerdict is the answer to a RateTake. Refused is -1 when the request
// was admitted, the index of the first bucket that refused it, or
// len(Buckets) when the quota refused it. RetryAfter is when the refusing
// bucket has a token again (zero for the quota: the next UTC day).
type RateVerdict struct {
	Refused    int
	RetryAfter time.Duration
}

// SharedState is the state several nodes of one installation share
// through the database (issue 24 item 3): rate-limit buckets and daily
// quotas, and the gallery write lock. SQLite serves one process, so its
// implementation is the same contract for one node; Postgres's holds
// across nodes.
type SharedState interface {
	// TakeRate takes a token from every bucket and counts the quota, all
	// or nothing and atomically with respect to every other TakeRate on
	// the same buckets (on any node): a refused request consumes nothing.
	TakeRate(ctx context.Context, now time.Time, t RateTake) (RateVerdict, error)
	// PruneRate deletes buckets that are full again at now (their tat is
	// past) and quota counts of days before now's, at most limit rows,
	// and returns how many it deleted.
	PruneRate(ctx context.Context, now time.Time, limit int) (int, error)
	// LockGallery takes the write lock of a subject's face gallery,
	// waiting while another holder (on any node) has it, until ctx ends.
	// The returned function releases it.
	LockGallery(ctx context.Context, tenant, subjectHash string) (unlock func(), err error)
}

// RetryAfter is how long after now (Unix microseconds) a request refused
// by bucket b, whose theoretical arrival time is tat (Unix microseconds),
// must wait for its token.
func (b RateBucket) RetryAfter(tat, now int64) time.Duration {
	every := b.Every.Microseconds()
	wait := max(tat, now) + every - now - int64(b.Burst)*every
	return time.Duration(max(wait, 1)) * time.Microsecond
}
