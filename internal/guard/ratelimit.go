// Package guard protects the API from abuse: per-key token-bucket rate
// limits per class of operation, tenant-wide buckets per class (so minting
// more keys does not multiply a tenant's throughput), per-client-address
// buckets for the routes that carry no API key, and per-tenant daily quotas,
// all on the injected clock. A refused request gets 429 rate_limited with
// Retry-After. Admission gates (admission.go) bound concurrent expensive
// work — analyses, image decodes — with a queue, and shed load with
// 503 overloaded when the queue is full.
//
// Protects against: one key (or a stolen one, or many keys of one tenant)
// flooding the service or scraping the models; one tenant starving the
// others; a burst of expensive requests starving cheap ones. Does not
// protect against: distributed floods from many addresses below the
// per-address limits (put a proxy in front). Limiter keeps its state in
// the process (one node); SharedLimiter (ratelimit_shared.go) keeps the
// same buckets in the database every API node shares.
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
	// TenantWide are limits by class shared by every key of a tenant (and,
	// for class "upload", every upload URL of the tenant). A per-tenant
	// override in Tenants raises a tenant's tenant-wide limit to at least
	// the override.
	TenantWide map[string]Limit `yaml:"tenant_wide" json:"tenant_wide"`
	// Addresses are limits by class per client address, for requests that
	// carry no API key (class "upload": PUT /v1/upload/{token}).
	Addresses map[string]Limit `yaml:"addresses" json:"addresses"`
	// TenantDaily caps requests per tenant per UTC day in a class (0: none).
	TenantDaily map[string]int64 `yaml:"tenant_daily" json:"tenant_daily"`
	// Tenants overrides Classes for every key of a tenant.
	Tenants map[string]map[string]Limit `yaml:"tenants" json:"tenants"`
	// Keys overrides Classes (and Tenants) for specific API key ids.
	Keys map[string]map[string]Limit `yaml:"keys" json:"keys"`
}

// Rate classes. Every operation belongs to one (operation metadata
// "rate_class"; default ClassAPI).
const (
	// ClassAPI is every cheap operation.
	ClassAPI = "api"
	// ClassAnalyze is every operation that runs the models (analyze,
	// face-tag suggestions): the class the extraction defence relies on.
	ClassAnalyze = "analyze"
	// ClassUpload is PUT /v1/upload/{token}: limited per tenant (from the
	// token) and per client address.
	ClassUpload = "upload"
)

// DefaultLimits are sized for one app on one machine: inference is
// expensive (10/s, burst 20 per key; 20/s, burst 40 per tenant), everything
// else cheap (50/s, burst 100 per key; 100/s, burst 200 per tenant).
// Uploads are decoded and re-encoded, so a tenant may send 20/s (burst 40)
// and one client address 10/s (burst 20): far above what one phone app's
// users upload to one machine, far below what it takes to fill the CPU
// with decodes.
func DefaultLimits() Limits {
	return Limits{
		Classes:     map[string]Limit{ClassAnalyze: {10, 20}, ClassAPI: {50, 100}},
		TenantWide:  map[string]Limit{ClassAnalyze: {20, 40}, ClassAPI: {100, 200}, ClassUpload: {20, 40}},
		Addresses:   map[string]Limit{ClassUpload: {10, 20}},
		TenantDaily: map[string]int64{ClassAnalyze: 200_000},
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

// bucketKey names a bucket: scope is "k" (API key), "t" (tenant-wide) or
// "a" (client address).
type bucketKey struct{ scope, key, class string }

type quota struct {
	day   int64
	count int64
}

// Limiter enforces Limits.
type Limiter struct {
	lim     Limits
	clk     clock.Clock
	buckets *lru.Cache[bucketKey, *rate.Limiter]
	// addrs holds the per-address buckets apart, so a flood from many
	// addresses cannot evict (and so refill) keys' and tenants' buckets.
	addrs *lru.Cache[bucketKey, *rate.Limiter]

	mu     sync.Mutex
	quotas map[bucketKey]*quota // key = tenant, class
}

// NewLimiter returns a Limiter; it remembers at most 100 000 key and
// tenant buckets and, apart, 100 000 client addresses' buckets.
func NewLimiter(lim Limits, clk clock.Clock) *Limiter {
	c, _ := lru.New[bucketKey, *rate.Limiter](100_000)
	a, _ := lru.New[bucketKey, *rate.Limiter](100_000)
	return &Limiter{lim: lim, clk: clk, buckets: c, addrs: a, quotas: map[bucketKey]*quota{}}
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

// tenantLimitFor is the tenant-wide limit of a class: TenantWide, raised
// to a per-tenant override when that is higher.
func (l *Limiter) tenantLimitFor(tenant, class string) (Limit, bool) {
	lim, ok := l.lim.TenantWide[class]
	if !ok {
		return Limit{}, false
	}
	if over, ok := l.lim.Tenants[tenant][class]; ok {
		lim.PerSecond, lim.Burst = max(lim.PerSecond, over.PerSecond), max(lim.Burst, over.Burst)
	}
	return lim, true
}

// bucket returns the bucket bk, created with lim if new.
func (l *Limiter) bucket(bk bucketKey, lim Limit, now time.Time) *rate.Limiter {
	cache := l.buckets
	if bk.scope == "a" {
		cache = l.addrs
	}
	b, ok := cache.Get(bk)
	if !ok {
		b = rate.NewLimiter(rate.Limit(lim.PerSecond), lim.Burst)
		b.SetLimitAt(now, rate.Limit(lim.PerSecond))
		cache.Add(bk, b)
	}
	return b
}

// take reserves one token from each bucket, all or none: a request refused
// by one bucket consumes nothing from the others. It returns a function
// that gives the tokens back (a later refusal: the daily quota).
func take(now time.Time, bs []*rate.Limiter, why []string) (func(), error) {
	rs := make([]*rate.Reservation, 0, len(bs))
	cancel := func() {
		for _, r := range rs {
			r.CancelAt(now)
		}
	}
	for i, b := range bs {
		r := b.ReserveN(now, 1)
		if !r.OK() {
			cancel()
			return nil, &RateLimitedError{RetryAfter: time.Second, Why: why[i]}
		}
		rs = append(rs, r)
		if d := r.DelayFrom(now); d > 0 {
			cancel()
			return nil, &RateLimitedError{RetryAfter: d, Why: why[i]}
		}
	}
	return cancel, nil
}

// Allow takes one token for (tenant, key, class) — from the key's bucket
// and from the tenant-wide bucket of the class — or returns a
// *RateLimitedError. An empty key skips the per-key bucket (requests
// authorized by a token rather than an API key).
func (l *Limiter) Allow(tenant, key, class string) error {
	now := l.clk.Now()
	var bs []*rate.Limiter
	var why []string
	if lim, ok := l.limitFor(tenant, key, class); ok && key != "" {
		bs, why = append(bs, l.bucket(bucketKey{"k", key, class}, lim, now)), append(why, "rate limit")
	}
	if lim, ok := l.tenantLimitFor(tenant, class); ok && tenant != "" {
		bs, why = append(bs, l.bucket(bucketKey{"t", tenant, class}, lim, now)), append(why, "tenant rate limit")
	}
	untake, err := take(now, bs, why)
	if err != nil {
		return err
	}
	if err := l.quota(now, tenant, class); err != nil {
		untake() // refused by the quota: the buckets keep their tokens
		return err
	}
	return nil
}

// AllowAddr takes one token for a client address in a class (Addresses),
// or returns a *RateLimitedError.
func (l *Limiter) AllowAddr(addr, class string) error {
	lim, ok := l.lim.Addresses[class]
	if !ok {
		return nil
	}
	now := l.clk.Now()
	_, err := take(now, []*rate.Limiter{l.bucket(bucketKey{"a", addr, class}, lim, now)}, []string{"address rate limit"})
	return err
}

// quota counts one request against the tenant's daily quota of the class.
func (l *Limiter) quota(now time.Time, tenant, class string) error {
	if max := l.lim.TenantDaily[class]; max > 0 {
		day := now.UTC().Unix() / 86400
		l.mu.Lock()
		defer l.mu.Unlock()
		q := l.quotas[bucketKey{"t", tenant, class}]
		if q == nil || q.day != day {
			q = &quota{day: day}
			l.quotas[bucketKey{"t", tenant, class}] = q
		}
		if q.count >= max {
			next := time.Unix((day+1)*86400, 0)
			return &RateLimitedError{RetryAfter: next.Sub(now), Why: "daily quota"}
		}
		q.count++
	}
	return nil
}
