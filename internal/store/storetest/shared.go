package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

// sharedOf is the backend's shared state: every backend implements it.
func sharedOf(t *testing.T, s store.Store) store.SharedState {
	t.Helper()
	sh, ok := s.(store.SharedState)
	if !ok {
		t.Fatalf("%T does not implement store.SharedState", s)
	}
	return sh
}

// testRateBuckets: a bucket admits its burst, then one request per
// interval; a refusal by the second bucket takes nothing from the first;
// the daily quota counts per day; concurrent takes never overshoot.
func testRateBuckets(t *testing.T, s store.Store) {
	ctx := context.Background()
	sh := sharedOf(t, s)
	key := store.RateBucket{Key: "k/key1/analyze", Every: 100 * time.Millisecond, Burst: 3}
	take := func(now time.Time, tk store.RateTake) store.RateVerdict {
		t.Helper()
		v, err := sh.TakeRate(ctx, now, tk)
		if err != nil {
			t.Fatalf("TakeRate: %v", err)
		}
		return v
	}
	one := store.RateTake{Buckets: []store.RateBucket{key}}
	for i := range 3 {
		if v := take(t0, one); v.Refused != -1 {
			t.Fatalf("take %d of the burst: refused %+v", i, v)
		}
	}
	v := take(t0, one)
	if v.Refused != 0 || v.RetryAfter != 100*time.Millisecond {
		t.Fatalf("take past the burst: got %+v, want refused 0 after 100ms", v)
	}
	if v := take(t0.Add(100*time.Millisecond), one); v.Refused != -1 {
		t.Fatalf("take one interval later: refused %+v", v)
	}
	if v := take(t0.Add(100*time.Millisecond), one); v.Refused != 0 {
		t.Fatalf("second take one interval later: got %+v, want refused", v)
	}

	// All or nothing: the tenant bucket (empty) refuses; the key bucket
	// keeps its tokens.
	fresh := store.RateBucket{Key: "k/key2/analyze", Every: time.Second, Burst: 1}
	tenant := store.RateBucket{Key: "t/ten/analyze", Every: time.Second, Burst: 1}
	if v := take(t0, store.RateTake{Buckets: []store.RateBucket{tenant}}); v.Refused != -1 {
		t.Fatalf("tenant bucket first take: %+v", v)
	}
	if v := take(t0, store.RateTake{Buckets: []store.RateBucket{fresh, tenant}}); v.Refused != 1 {
		t.Fatalf("take refused by the tenant bucket: got %+v, want refused 1", v)
	}
	if v := take(t0, store.RateTake{Buckets: []store.RateBucket{fresh}}); v.Refused != -1 {
		t.Fatalf("key bucket after a refused take: got %+v, want its token still there", v)
	}

	// Daily quota: 2 a day, counted again the next day.
	q := store.RateTake{Quota: "t/ten/analyze", Day: t0.Unix() / 86400, QuotaMax: 2}
	for i, want := range []int{-1, -1, 0} {
		if v := take(t0, q); v.Refused != want {
			t.Fatalf("quota take %d: got %+v, want refused %d", i, v, want)
		}
	}
	q.Day++
	if v := take(t0, q); v.Refused != -1 {
		t.Fatalf("quota on the next day: %+v", v)
	}

	// Concurrent takes on one bucket (burst 20, no refill at a fixed
	// now): exactly the burst is admitted.
	burst := store.RateBucket{Key: "k/race/api", Every: time.Hour, Burst: 20}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				v, err := sh.TakeRate(ctx, t0, store.RateTake{Buckets: []store.RateBucket{burst}})
				if err != nil {
					t.Errorf("concurrent TakeRate: %v", err)
					return
				}
				if v.Refused == -1 {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 20 {
		t.Fatalf("concurrent takes admitted %d, want exactly the burst 20", ok.Load())
	}

	// Pruning: two days on, every bucket is full again and the quota's
	// day is past.
	n, err := sh.PruneRate(ctx, t0.Add(48*time.Hour), 1000)
	if err != nil || n != 5 {
		t.Fatalf("PruneRate: got %d, %v; want 5 rows (4 buckets, 1 quota)", n, err)
	}
}

// testGalleryLock: a second holder of the same gallery waits for the
// first; another gallery does not; a waiter gives up when its ctx ends.
func testGalleryLock(t *testing.T, s store.Store) {
	ctx := context.Background()
	sh := sharedOf(t, s)
	unlock, err := sh.LockGallery(ctx, "ten", "subj1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := sh.LockGallery(ctx, "ten", "subj2")
	if err != nil {
		t.Fatalf("another gallery: %v", err)
	}
	other()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if u, err := sh.LockGallery(short, "ten", "subj1"); err == nil {
		u()
		t.Fatal("second holder of a locked gallery got the lock")
	}
	got := make(chan error, 1)
	go func() {
		u, err := sh.LockGallery(ctx, "ten", "subj1")
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("waiter returned (%v) while the lock was held", err)
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiter after unlock: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not get the lock after unlock")
	}
}
