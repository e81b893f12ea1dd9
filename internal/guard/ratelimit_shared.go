package guard

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// rateState is where a SharedLimiter keeps its buckets (store.SharedState).
type rateState interface {
	TakeRate(ctx context.Context, now time.Time, t store.RateTake) (store.RateVerdict, error)
}

// sharedTimeout bounds one database round trip of a rate decision.
const sharedTimeout = 2 * time.Second

// never stands for an interval that never refills (a limit of 0 per
// second: the burst and nothing more, like rate.Limiter's).
const never = 10 * 365 * 24 * time.Hour

// SharedLimiter enforces the same Limits as Limiter, with the buckets and
// daily quotas in the database every API node shares (issue 24 item 3):
// one row per bucket updated atomically (GCRA, see store.RateBucket), so
// limits hold across nodes exactly, not per node. There is no in-process
// fast path: every decision is one transaction. Client addresses are
// stored only as keyed hashes. When the database cannot answer, requests
// are refused with a fault.Unavailable (503), never waved through.
type SharedLimiter struct {
	l    *Limiter
	clk  clock.Clock
	st   rateState
	hash func(string) string
	// timeout bounds one round trip (sharedTimeout; tests that load the
	// database from many goroutines on a busy machine lengthen it).
	timeout time.Duration
}

// NewSharedLimiter returns a SharedLimiter on st; hash keys client
// addresses before they are stored (the keyring's HashID).
func NewSharedLimiter(lim Limits, clk clock.Clock, st rateState, hash func(addr string) string) *SharedLimiter {
	return &SharedLimiter{l: NewLimiter(lim, clk), clk: clk, st: st, hash: hash, timeout: sharedTimeout}
}

func bucketOf(name string, lim Limit) store.RateBucket {
	every := never
	if lim.PerSecond > 0 {
		every = max(time.Microsecond, time.Duration(float64(time.Second)/lim.PerSecond))
	}
	return store.RateBucket{Key: name, Every: every, Burst: lim.Burst}
}

// Allow is Limiter.Allow on the shared buckets.
func (s *SharedLimiter) Allow(tenant, key, class string) error {
	var t store.RateTake
	var why []string
	if lim, ok := s.l.limitFor(tenant, key, class); ok && key != "" {
		t.Buckets, why = append(t.Buckets, bucketOf("k/"+key+"/"+class, lim)), append(why, "rate limit")
	}
	if lim, ok := s.l.tenantLimitFor(tenant, class); ok && tenant != "" {
		t.Buckets, why = append(t.Buckets, bucketOf("t/"+tenant+"/"+class, lim)), append(why, "tenant rate limit")
	}
	now := s.clk.Now()
	if q := s.l.lim.TenantDaily[class]; q > 0 {
		t.Quota, t.Day, t.QuotaMax = "t/"+tenant+"/"+class, now.UTC().Unix()/86400, q
	}
	return s.take(now, t, why)
}

// AllowAddr is Limiter.AllowAddr on the shared buckets.
func (s *SharedLimiter) AllowAddr(addr, class string) error {
	lim, ok := s.l.lim.Addresses[class]
	if !ok {
		return nil
	}
	t := store.RateTake{Buckets: []store.RateBucket{bucketOf("a/"+s.hash(addr)+"/"+class, lim)}}
	return s.take(s.clk.Now(), t, []string{"address rate limit"})
}

func (s *SharedLimiter) take(now time.Time, t store.RateTake, why []string) error {
	if len(t.Buckets) == 0 && t.QuotaMax == 0 {
		return nil
	}
	// The limiter's callers hold no context (the API's middleware
	// contract); one bounded round trip stands in.
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	v, err := s.st.TakeRate(ctx, now, t)
	switch {
	case err != nil:
		return fault.Wrap(fault.Unavailable, "rate-limit state is unavailable", err)
	case v.Refused < 0:
		return nil
	case v.Refused < len(t.Buckets):
		return &RateLimitedError{RetryAfter: v.RetryAfter, Why: why[v.Refused]}
	}
	day := now.UTC().Unix() / 86400
	return &RateLimitedError{RetryAfter: time.Unix((day+1)*86400, 0).Sub(now), Why: "daily quota"}
}
