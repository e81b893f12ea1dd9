// Package guard protects the API from abuse: per-key token-bucket rate
// limits per class of operation and per-tenant daily quotas, all on the
// injected clock. A refused request gets 429 rate_limited with Retry-After.
//
// Protects against: one key (or a stolen one) flooding the service or
// scraping the models; one tenant starving the others. Does not protect
// against: distributed floods below the per-key limits (put a proxy in
// front), or limits across several API nodes (state is per process).
package guard

import (
	"fmt"
	"math"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
)

// Limit is a token bucket.
type Limit struct {
	PerSecond float64 `yaml:"per_second" json:"per_second"`
	Burst     int     `yaml:"burst" json:"burst"`
}

// Limits configures the guard.
type Limits struct {
	// Classes are per-key limits by operation class ("analyze", "api", …).
	Classes map[string]Limit `yaml:"classes" json:"classes"`
	// TenantDaily caps requests per tenant per UTC day in a class (0: none).
	TenantDaily map[string]int64 `yaml:"tenant_daily" json:"tenant_daily"`
	// Tenants overrides Classes for every key of a tenant.
	Tenants map[string]map[string]Limit `yaml:"tenants" json:"tenants"`
	// Keys overrides Classes (and Tenants) for specific API key ids.
	Keys map[string]map[string]Limit `yaml:"keys" json:"keys"`
}

// DefaultLimits are sized for one app on one machine: inference is
// expensive (10/s, burst 20 per key), everything else cheap.
func DefaultLimits() Limits {
	return Limits{
		Classes:     map[string]Limit{"analyze": {10, 20}, "api": {50, 100}},
		TenantDaily: map[string]int64{"analyze": 200_000},
	}
}

// RateLimitedError says when to retry.
type RateLimitedError struct {
	RetryAfter time.Duration
	Why        string
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%s; retry after %s", e.Why, e.RetryAfter.Round(time.Millisecond))
}

// Is makes errors.Is(err, fault.RateLimited) true.
func (e *RateLimitedError) Is(target error) bool { return target == fault.RateLimited }

// RetryAfterSeconds is the Retry-After header value (at least 1).
func (e *RateLimitedError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

type bucketKey struct{ key, class string }

type quota struct {
	day   int64
	count int64
}

// Limiter enforces Limits.
type Limiter struct {
	lim     Limits
	clk     clock.Clock
	buckets *lru.Cache[bucketKey, *rate.Limiter]

	mu     sync.Mutex
	quotas map[bucketKey]*quota // key = tenant, class
}

// NewLimiter returns a Limiter; it remembers at most 100 000 keys' buckets.
func NewLimiter(lim Limits, clk clock.Clock) *Limiter {
	c, _ := lru.New[bucketKey, *rate.Limiter](100_000)
	return &Limiter{lim: lim, clk: clk, buckets: c, quotas: map[bucketKey]*quota{}}
}

func (l *Limiter) limitFor(tenant, key, class string) (Limit, bool) {
	for _, over := range []map[string]Limit{l.lim.Keys[key], l.lim.Tenants[tenant]} {
		if lim, ok := over[class]; ok {
			return lim, true
		}
	}
	lim, ok := l.lim.Classes[class]
	return lim, ok
}

// Allow takes one token for (tenant, key, class) or returns a *RateLimitedError.
func (l *Limiter) Allow(tenant, key, class string) error {
	now := l.clk.Now()
	if lim, ok := l.limitFor(tenant, key, class); ok {
		bk := bucketKey{key, class}
		b, ok := l.buckets.Get(bk)
		if !ok {
			b = rate.NewLimiter(rate.Limit(lim.PerSecond), lim.Burst)
			b.SetLimitAt(now, rate.Limit(lim.PerSecond))
			l.buckets.Add(bk, b)
		}
		r := b.ReserveN(now, 1)
		if !r.OK() {
			return &RateLimitedError{RetryAfter: time.Second, Why: "rate limit"}
		}
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			return &RateLimitedError{RetryAfter: d, Why: "rate limit"}
		}
	}
	if max := l.lim.TenantDaily[class]; max > 0 {
		day := now.UTC().Unix() / 86400
		l.mu.Lock()
		defer l.mu.Unlock()
		q := l.quotas[bucketKey{tenant, class}]
		if q == nil || q.day != day {
			q = &quota{day: day}
			l.quotas[bucketKey{tenant, class}] = q
		}
		if q.count >= max {
			next := time.Unix((day+1)*86400, 0)
			return &RateLimitedError{RetryAfter: next.Sub(now), Why: "daily quota"}
		}
		q.count++
	}
	return nil
}
