package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

// testAnalytics: contributions are tenant-scoped, replaced per photo,
// deduplicated per feature and day, removed per asset, per subject and on
// expiry; the ledger appends only what its check allows, even when many
// spends race.
func testAnalytics(t *testing.T, s store.Store) {
	a := implements[store.Analytics](t, s)
	ctx := withTenants(t, s, "ta", "tb")
	day := t0.Truncate(24 * time.Hour)
	exp := t0.Add(48 * time.Hour)
	for _, p := range []store.AnalyticsPhoto{
		{TenantID: "ta", SubjectHash: "h1", AssetID: "a1", Day: day, Faces: 2, Tags: []string{"cat", "dog"}, ExpiresAt: exp},
		{TenantID: "ta", SubjectHash: "h1", AssetID: "a1", Day: day, Faces: 1, Tags: []string{"dog"}, ExpiresAt: exp}, // replaces
		{TenantID: "ta", SubjectHash: "h1", AssetID: "a1", Day: day, Faces: -1, ExpiresAt: exp},                       // keeps both
		{TenantID: "ta", SubjectHash: "h2", AssetID: "a2", Day: day, Faces: -1, ExpiresAt: t0.Add(time.Hour)},
		{TenantID: "tb", SubjectHash: "h1", AssetID: "a1", Day: day, Faces: 0, Tags: []string{"car"}, ExpiresAt: exp},
	} {
		if err := a.PutAnalyticsPhoto(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if err := a.PutAnalyticsFeature(ctx, store.AnalyticsFeature{TenantID: "ta", SubjectHash: "h1", Feature: "tags", Day: day, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	var got []store.AnalyticsPhoto
	if err := a.AnalyticsPhotos(ctx, "ta", day, day.Add(24*time.Hour), func(p store.AnalyticsPhoto) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("tenant ta photos = %+v, want 2", got)
	}
	for _, p := range got {
		if p.AssetID == "a1" && (p.Faces != 1 || len(p.Tags) != 1 || p.Tags[0] != "dog" || !p.Day.Equal(day)) {
			t.Errorf("replaced photo = %+v", p)
		}
		if p.AssetID == "a2" && (p.Faces != -1 || p.Tags != nil) {
			t.Errorf("photo without tags = %+v", p)
		}
	}
	n := 0
	a.AnalyticsPhotos(ctx, "ta", day.Add(24*time.Hour), day.Add(48*time.Hour), func(store.AnalyticsPhoto) error { n++; return nil })
	if n != 0 {
		t.Errorf("a window after the day holds %d photos", n)
	}
	var fs []store.AnalyticsFeature
	a.AnalyticsFeatures(ctx, "ta", day, day.Add(time.Hour), func(f store.AnalyticsFeature) error { fs = append(fs, f); return nil })
	if len(fs) != 1 {
		t.Errorf("features = %+v, want one (deduplicated per day)", fs)
	}
	if n, err := a.DeleteAnalyticsAsset(ctx, "tb", "a2"); err != nil || n != 0 {
		t.Errorf("tenant tb deleted ta's photo: %d, %v", n, err)
	}
	if n, err := a.ExpireAnalytics(ctx, t0.Add(2*time.Hour), 10); err != nil || n != 1 {
		t.Errorf("ExpireAnalytics = %d, %v; want the one expired photo", n, err)
	}
	if n, err := a.DeleteAnalyticsSubject(ctx, "ta", "h1"); err != nil || n != 2 {
		t.Errorf("DeleteAnalyticsSubject = %d, %v; want photo + feature", n, err)
	}
	ps, fs2, _ := a.SubjectAnalytics(ctx, "tb", "h1")
	if len(ps) != 1 || len(fs2) != 0 {
		t.Errorf("tenant tb's subject lost data: %+v %+v", ps, fs2)
	}
	if n, err := a.DeleteAnalyticsAsset(ctx, "tb", "a1"); err != nil || n != 1 {
		t.Errorf("DeleteAnalyticsAsset = %d, %v", n, err)
	}

	// The ledger: 20 racing spends of 3 units against a cap of 30 → 10 pass.
	const cap = 30
	check := func(sp store.LedgerSpent) error {
		if sp.PeriodRho+3 > cap {
			return store.ErrBudgetExhausted
		}
		return nil
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	okN, refused := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.SpendBudget(ctx, store.LedgerEntry{TenantID: "ta", At: t0, Actor: "k", Metric: "tag_counts", From: day, To: exp, EpsMilli: 3, RhoUnits: 3, DeltaPico: 1}, t0, check)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				okN++
			case errors.Is(err, store.ErrBudgetExhausted):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if okN != 10 || refused != 10 {
		t.Errorf("racing spends: %d paid, %d refused; want 10 and 10", okN, refused)
	}
	sp, err := a.BudgetSpent(ctx, "ta", t0)
	if err != nil || sp.PeriodRho != 30 || sp.LifetimeRho != 30 || sp.Queries != 10 || sp.PeriodDelta != 10 {
		t.Errorf("BudgetSpent = %+v, %v", sp, err)
	}
	if sp, _ := a.BudgetSpent(ctx, "ta", t0.Add(time.Hour)); sp.PeriodRho != 0 || sp.LifetimeRho != 30 {
		t.Errorf("a later period spent %+v", sp)
	}
	if sp, _ := a.BudgetSpent(ctx, "tb", t0); sp.LifetimeRho != 0 {
		t.Errorf("tenant tb spent %+v", sp)
	}
	l, err := a.Ledger(ctx, "ta", 3)
	if err != nil || len(l) != 3 || l[0].Seq != 10 || l[0].Metric != "tag_counts" || !l[0].At.Equal(t0) {
		t.Errorf("Ledger = %+v, %v", l, err)
	}
}
