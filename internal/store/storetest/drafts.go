package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// testDrafts: drafts are tenant-scoped, listed by subject and by source,
// expire, and are accepted exactly once into an asset with its generated
// mark, which goes with the asset.
func testDrafts(t *testing.T, s store.Store) {
	ctx := withTenants(t, s, "ta", "tb")
	d := func(id, tenant, subject, source, purpose string, exp time.Duration) store.Draft {
		return store.Draft{ID: id, TenantID: tenant, SubjectHash: subject, SourceAsset: source, Purpose: purpose, Feature: "meme",
			Retention: "draft", Size: 10, CreatedAt: t0, ExpiresAt: t0.Add(exp)}
	}
	for _, x := range []store.Draft{
		d("drf_1", "ta", "h1", "ast_1", "meme_generation", time.Hour),
		d("drf_2", "ta", "h1", "ast_2", "plugin:blur", 2*time.Hour),
		d("drf_3", "ta", "h2", "ast_1", "meme_generation", time.Minute),
		d("drf_4", "tb", "h1", "ast_1", "meme_generation", time.Minute),
	} {
		if err := s.PutDraft(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Draft(ctx, "ta", "drf_2")
	if err != nil || got != d("drf_2", "ta", "h1", "ast_2", "plugin:blur", 2*time.Hour) {
		t.Errorf("Draft = %+v, %v", got, err)
	}
	_, err = s.Draft(ctx, "tb", "drf_2")
	wantKind(t, "cross-tenant draft", err, fault.NotFound)
	if ds, err := s.SubjectDrafts(ctx, "ta", "h1"); err != nil || len(ds) != 2 {
		t.Errorf("SubjectDrafts = %d, %v; want 2", len(ds), err)
	}
	if ds, err := s.AssetDrafts(ctx, "ta", "ast_1"); err != nil || len(ds) != 2 {
		t.Errorf("AssetDrafts = %d, %v; want 2 (tenant tb's not among them)", len(ds), err)
	}
	if ds, err := s.ExpiredDrafts(ctx, t0.Add(time.Minute), 10); err != nil || len(ds) != 2 {
		t.Errorf("ExpiredDrafts = %d, %v; want 2", len(ds), err)
	}
	if ds, _ := s.ExpiredDrafts(ctx, t0.Add(time.Minute), 1); len(ds) != 1 {
		t.Errorf("ExpiredDrafts ignores its limit: %d", len(ds))
	}
	wantKind(t, "cross-tenant delete", s.DeleteDraft(ctx, "tb", "drf_3"), fault.NotFound)
	if err := s.DeleteDraft(ctx, "ta", "drf_3"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "delete twice", s.DeleteDraft(ctx, "ta", "drf_3"), fault.NotFound)

	a := store.Asset{ID: "ast_gen", TenantID: "ta", SubjectHash: "h1", Format: "jpeg", Width: 2, Height: 2, Size: 10, CreatedAt: t0}
	g := store.Generated{AssetID: a.ID, TenantID: "ta", SubjectHash: "h1", Feature: "meme", Name: "template:x", Version: "1", SourceRef: "ref", CreatedAt: t0}
	if err := s.BeginAsset(ctx, store.PendingAsset{ID: a.ID, TenantID: "ta", SubjectHash: "h1", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.AcceptDraft(ctx, "drf_1", a, g); err != nil {
		t.Fatal(err)
	}
	b := a
	b.ID = "ast_gen2"
	wantKind(t, "accept twice", s.AcceptDraft(ctx, "drf_1", b, store.Generated{AssetID: b.ID}), fault.NotFound)
	if _, err := s.Asset(ctx, "ta", b.ID); !errors.Is(err, fault.NotFound) {
		t.Errorf("a second accept stored an asset: %v", err)
	}
	if _, err := s.Draft(ctx, "ta", "drf_1"); !errors.Is(err, fault.NotFound) {
		t.Errorf("accepted draft still recorded: %v", err)
	}
	if p, _ := s.StalePendingAssets(ctx, t0.Add(time.Hour), 10); len(p) != 0 {
		t.Errorf("accept left the pending mark: %+v", p)
	}
	gs, err := s.SubjectGenerated(ctx, "ta", "h1")
	if err != nil || len(gs) != 1 || gs[0] != g {
		t.Errorf("SubjectGenerated = %+v, %v", gs, err)
	}
	if err := s.DeleteAsset(ctx, "ta", a.ID); err != nil {
		t.Fatal(err)
	}
	if gs, _ := s.SubjectGenerated(ctx, "ta", "h1"); len(gs) != 0 {
		t.Errorf("generated mark outlived its asset: %+v", gs)
	}
}
