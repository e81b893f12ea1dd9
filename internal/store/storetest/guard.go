package storetest

import (
	"testing"

	"github.com/obscuraproject/obscura/internal/store"
)

// testGuardStates: a key's state is upserted (one row per tenant and key),
// survives as written, and keys of the same id in two tenants are apart.
func testGuardStates(t *testing.T, s store.Store) {
	ctx := withTenants(t, s, "ga", "gb")
	if got, err := s.GuardStates(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	steps := []store.GuardState{
		{TenantID: "ga", KeyID: "k1", State: "throttled", Detail: "state=throttled reason=distribution", Since: t0},
		{TenantID: "gb", KeyID: "k1", State: "throttled", Detail: "d", Since: t0},
		{TenantID: "ga", KeyID: "k1", State: "blocked", Detail: "state=blocked reason=distribution", Since: t0.Add(60e9)},
	}
	for _, g := range steps {
		if err := s.SetGuardState(ctx, g); err != nil {
			t.Fatalf("SetGuardState(%+v): %v", g, err)
		}
	}
	got, err := s.GuardStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.GuardState{steps[2], steps[1]}
	if len(got) != len(want) {
		t.Fatalf("GuardStates = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].TenantID != want[i].TenantID || got[i].KeyID != want[i].KeyID || got[i].State != want[i].State ||
			got[i].Detail != want[i].Detail || !got[i].Since.Equal(want[i].Since) {
			t.Errorf("GuardStates[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Only the two documented states are accepted.
	if err := s.SetGuardState(ctx, store.GuardState{TenantID: "ga", KeyID: "k2", State: "ok", Since: t0}); err == nil {
		t.Errorf("state ok was stored")
	}
}
