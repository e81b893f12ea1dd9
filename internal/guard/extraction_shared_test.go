package guard

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// TestExtractionRefreshAcrossNodes: a key another node blocked (its state
// written to the shared store) is blocked here after Refresh, a throttled
// record never lifts a block known here, and Run picks a new state up
// within its interval.
func TestExtractionRefreshAcrossNodes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	a, b := openShared(t, path), openShared(t, path)
	if err := a.CreateTenant(ctx, store.Tenant{ID: "ten", Name: "T", CreatedAt: time.Unix(1e9, 0)},
		store.APIKey{ID: "k0", TenantID: "ten", SecretHash: []byte("h"), CreatedAt: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	here := NewExtraction(DefaultExtraction, clk, nil)
	if err := here.Restore(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := here.Check("ten", "k1"); err != nil {
		t.Fatalf("unknown key: %v", err)
	}
	// Another node blocks k1 and throttles k2.
	for _, g := range []store.GuardState{
		{TenantID: "ten", KeyID: "k1", State: StateBlocked, Detail: "state=blocked", Since: clk.Now()},
		{TenantID: "ten", KeyID: "k2", State: StateThrottled, Detail: "state=throttled", Since: clk.Now()},
	} {
		if err := a.SetGuardState(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := here.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := here.Check("ten", "k1"); !errors.Is(err, fault.Blocked) {
		t.Fatalf("k1 after refresh: got %v, want blocked", err)
	}
	if got := here.State("ten", "k2"); got != StateThrottled {
		t.Fatalf("k2 after refresh: %q, want throttled", got)
	}
	// A stale "throttled" record does not lift a block this node knows.
	if err := a.SetGuardState(ctx, store.GuardState{TenantID: "ten", KeyID: "k1", State: StateThrottled, Since: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := here.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := here.State("ten", "k1"); got != StateBlocked {
		t.Fatalf("k1 after a weaker record: %q, want still blocked", got)
	}
	// Run: a key blocked elsewhere is blocked here within the interval.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go here.Run(rctx, 20*time.Millisecond)
	if err := a.SetGuardState(ctx, store.GuardState{TenantID: "ten", KeyID: "k3", State: StateBlocked, Since: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	// (A Run that never refreshes fails this; the wait's minute only stops
	// a hung test: a 2 s deadline was one refresh of SQLite under -race on a
	// loaded machine away from failing.)
	waitFor(t, func() bool { return here.State("ten", "k3") == StateBlocked })
}

// TestSharedThrottleAcrossNodes: a throttled key gets one query per
// ThrottleEvery across two nodes sharing the database, not one per node;
// the next interval admits one again.
func TestSharedThrottleAcrossNodes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st := openShared(t, path)
	if err := st.CreateTenant(ctx, store.Tenant{ID: "ten", Name: "T", CreatedAt: time.Unix(1e9, 0)},
		store.APIKey{ID: "k0", TenantID: "ten", SecretHash: []byte("h"), CreatedAt: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetGuardState(ctx, store.GuardState{TenantID: "ten", KeyID: "k1", State: StateThrottled, Since: time.Unix(1e9, 0)}); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	var nodes []*Extraction
	for range 2 {
		e := NewExtraction(DefaultExtraction, clk, nil).ShareThrottle(openShared(t, path))
		if err := e.Restore(ctx, st); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, e)
	}
	for round := range 2 {
		passed := 0
		for i := range 6 {
			err := nodes[i%2].Check("ten", "k1")
			var rl *RateLimitedError
			switch {
			case err == nil:
				passed++
			case !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > DefaultExtraction.ThrottleEvery:
				t.Fatalf("round %d query %d: %v", round, i, err)
			}
		}
		if passed != 1 {
			t.Fatalf("round %d: %d queries passed across two nodes, want 1", round, passed)
		}
		clk.Advance(DefaultExtraction.ThrottleEvery)
	}
	if err := nodes[0].Check("ten", "k2"); err != nil {
		t.Fatalf("a key in good standing: %v", err)
	}
}
