package guard

import (
	"errors"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
)

func TestTokenBucket(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	l := NewLimiter(DefaultLimits(), clk)
	// Burst of 20, then refused with a Retry-After of one token (100 ms at 10/s).
	for i := range 20 {
		if err := l.Allow("t", "k1", "analyze"); err != nil {
			t.Fatalf("request %d refused: %v", i, err)
		}
	}
	err := l.Allow("t", "k1", "analyze")
	var rl *RateLimitedError
	if !errors.As(err, &rl) || !errors.Is(err, fault.RateLimited) {
		t.Fatalf("21st request: %v", err)
	}
	if rl.RetryAfter <= 0 || rl.RetryAfter > 100*time.Millisecond || rl.RetryAfterSeconds() != 1 {
		t.Errorf("retry after %v (%ds)", rl.RetryAfter, rl.RetryAfterSeconds())
	}
	// A refused request does not consume: after 100 ms exactly one more fits.
	clk.Advance(100 * time.Millisecond)
	if err := l.Allow("t", "k1", "analyze"); err != nil {
		t.Errorf("after refill: %v", err)
	}
	if err := l.Allow("t", "k1", "analyze"); err == nil {
		t.Error("two tokens after 100 ms")
	}
	// Other keys and classes have their own buckets.
	if err := l.Allow("t", "k2", "analyze"); err != nil {
		t.Errorf("other key: %v", err)
	}
	if err := l.Allow("t", "k1", "api"); err != nil {
		t.Errorf("other class: %v", err)
	}
	// Sustained rate: over 10 s, 10/s get through.
	ok := 0
	for range 1000 {
		clk.Advance(10 * time.Millisecond)
		if l.Allow("t", "k3", "analyze") == nil {
			ok++
		}
	}
	if ok < 115 || ok > 121 { // 20 burst + 10/s × 10 s, give or take the edges
		t.Errorf("%d allowed in 10 s at 100 req/s, want about 120", ok)
	}
}

func TestOverridesAndQuota(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC))
	lim := Limits{
		Classes:     map[string]Limit{"analyze": {1000, 1000}},
		TenantDaily: map[string]int64{"analyze": 5},
		Keys:        map[string]map[string]Limit{"slow": {"analyze": {1, 1}}},
		Tenants:     map[string]map[string]Limit{"t9": {"analyze": {1, 2}}},
	}
	l := NewLimiter(lim, clk)
	if l.Allow("t1", "slow", "analyze") != nil || l.Allow("t1", "slow", "analyze") == nil {
		t.Error("per-key override not applied")
	}
	var results []bool
	for range 3 {
		results = append(results, l.Allow("t9", "any", "analyze") == nil)
	}
	if results[0] != true || results[1] != true || results[2] != false {
		t.Errorf("per-tenant override (burst 2) not applied: %v", results)
	}
	for range 4 {
		if err := l.Allow("t1", "fast", "analyze"); err != nil {
			t.Fatal(err)
		}
	}
	var rl *RateLimitedError
	if err := l.Allow("t1", "fast", "analyze"); !errors.As(err, &rl) || rl.Why != "daily quota" || rl.RetryAfter != time.Minute {
		t.Fatalf("quota: %v", err)
	}
	if err := l.Allow("t2", "other", "analyze"); err != nil {
		t.Errorf("another tenant's quota used: %v", err)
	}
	clk.Advance(time.Minute) // next UTC day
	if err := l.Allow("t1", "fast", "analyze"); err != nil {
		t.Errorf("quota not reset at midnight UTC: %v", err)
	}
}
