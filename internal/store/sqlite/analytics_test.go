package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

// TestLedgerIsAppendOnly: the database itself refuses to change or delete
// a ledger entry (triggers of migration 00021), whatever code runs.
func TestLedgerIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s, err := openCopy(t, filepath.Join(t.TempDir(), "obscura.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "ta", Name: "a", CreatedAt: now}, store.APIKey{ID: "k", TenantID: "ta", SecretHash: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SpendBudget(ctx, store.LedgerEntry{TenantID: "ta", At: now, Actor: "k", Metric: "tag_counts", From: now, To: now, EpsMilli: 100, RhoUnits: 10000},
		now, func(store.LedgerSpent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE analytics_ledger SET rho_units = 1`, `DELETE FROM analytics_ledger`} {
		if _, err := s.w.ExecContext(ctx, q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
	if sp, _ := s.BudgetSpent(ctx, "ta", now); sp.LifetimeRho != 10000 {
		t.Errorf("ledger changed: %+v", sp)
	}
}
