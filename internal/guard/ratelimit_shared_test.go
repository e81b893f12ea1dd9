package guard

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

func openShared(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlitetest.Open(t, "migrated", path, sqlite.Open)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func hashAddr(a string) string { return "h(" + a + ")" }

// TestSharedLimiterMatchesLimiter: on the same sequence of requests and
// clock steps, the database-backed limiter decides as the in-process one
// (same buckets, same tenant-wide limits, same daily quota, same
// all-or-nothing takes) and asks the same Retry-After within a
// microsecond.
func TestSharedLimiterMatchesLimiter(t *testing.T) {
	lim := DefaultLimits()
	lim.TenantDaily = map[string]int64{ClassAnalyze: 45}
	lim.Keys = map[string]map[string]Limit{"slow": {ClassAnalyze: {1, 2}}}
	start := time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)
	clkA, clkB := clock.NewFake(start), clock.NewFake(start)
	mem := NewLimiter(lim, clkA)
	sh := NewSharedLimiter(lim, clkB, openShared(t, filepath.Join(t.TempDir(), "s.db")), hashAddr)
	type req struct {
		tenant, key, class, addr string
		advance                  time.Duration
	}
	var reqs []req
	for i := range 120 {
		r := req{tenant: "t1", key: []string{"k1", "k2", "slow"}[i%3], class: ClassAnalyze}
		if i%7 == 0 {
			r.class = ClassAPI
		}
		if i%11 == 0 {
			r.addr, r.class = "192.0.2.7", ClassUpload
		}
		if i%13 == 0 {
			r.advance = 150 * time.Millisecond
		}
		if i == 100 {
			r.advance = time.Minute // the next UTC day: the quota starts again
		}
		reqs = append(reqs, r)
	}
	admitted := 0
	for i, r := range reqs {
		clkA.Advance(r.advance)
		clkB.Advance(r.advance)
		var a, b error
		if r.addr != "" {
			a, b = mem.AllowAddr(r.addr, r.class), sh.AllowAddr(r.addr, r.class)
		} else {
			a, b = mem.Allow(r.tenant, r.key, r.class), sh.Allow(r.tenant, r.key, r.class)
		}
		if (a == nil) != (b == nil) {
			t.Fatalf("request %d %+v: in-process %v, shared %v", i, r, a, b)
		}
		if a == nil {
			admitted++
			continue
		}
		var ra, rb *RateLimitedError
		if !errors.As(a, &ra) || !errors.As(b, &rb) || ra.Why != rb.Why {
			t.Fatalf("request %d: in-process %v, shared %v", i, a, b)
		}
		if d := ra.RetryAfter - rb.RetryAfter; d > time.Microsecond || d < -time.Microsecond {
			t.Fatalf("request %d: retry after %v in process, %v shared", i, ra.RetryAfter, rb.RetryAfter)
		}
	}
	if admitted == len(reqs) || admitted < 40 {
		t.Fatalf("admitted %d of %d: the sequence must exercise both answers", admitted, len(reqs))
	}
}

// TestSharedLimiterAcrossNodes: two limiters on two connections to one
// database (two API nodes) admit together exactly one key's burst, where
// two in-process limiters would admit it twice.
func TestSharedLimiterAcrossNodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	lim := DefaultLimits() // analyze: burst 20 per key
	nodes := []*SharedLimiter{
		NewSharedLimiter(lim, clk, openShared(t, path), hashAddr),
		NewSharedLimiter(lim, clk, openShared(t, path), hashAddr),
	}
	// What is measured is the count admitted, not the latency: 60 takes
	// from 4 goroutines on two handles of one SQLite file can queue past
	// the production 2 s bound under -race on a loaded 2-core machine
	// (it failed a make test at load 15-20 with "context deadline
	// exceeded"), which would be a 503, not a wrong count.
	for _, n := range nodes {
		n.timeout = time.Minute
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				if err := nodes[i%2].Allow("t", "k", ClassAnalyze); err == nil {
					ok.Add(1)
				} else if !errors.Is(err, fault.RateLimited) {
					t.Errorf("Allow: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 20 {
		t.Fatalf("two nodes admitted %d, want the burst 20", ok.Load())
	}
}

type failingState struct{}

func (failingState) TakeRate(context.Context, time.Time, store.RateTake) (store.RateVerdict, error) {
	return store.RateVerdict{}, errors.New("connection refused")
}

// TestSharedLimiterFailsClosed: without its database the limiter refuses
// with Unavailable (503), not a pass.
func TestSharedLimiterFailsClosed(t *testing.T) {
	sh := NewSharedLimiter(DefaultLimits(), clock.NewFake(time.Unix(0, 0)), failingState{}, hashAddr)
	if err := sh.Allow("t", "k", ClassAnalyze); !errors.Is(err, fault.Unavailable) {
		t.Fatalf("Allow with the database down: got %v, want Unavailable", err)
	}
	if err := sh.AllowAddr("192.0.2.1", ClassUpload); !errors.Is(err, fault.Unavailable) {
		t.Fatalf("AllowAddr with the database down: got %v, want Unavailable", err)
	}
}
