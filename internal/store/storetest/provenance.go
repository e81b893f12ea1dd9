package storetest

import (
	"errors"
	"testing"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// testProvenance: certificates are versioned per tenant (the installation
// CA under ""), revocation is recorded once, marks are tenant-scoped and
// deleted by subject, and an asset's provenance record goes with the asset.
func testProvenance(t *testing.T, s store.Store) {
	ctx := withTenants(t, s, "pa", "pb")
	certs := []store.ProvenanceCert{
		{TenantID: "", Version: 1, Serial: "01", DER: []byte{1}, CreatedAt: t0},
		{TenantID: "pa", Version: 1, Serial: "02", DER: []byte{2}, CreatedAt: t0},
		{TenantID: "pa", Version: 2, Serial: "03", DER: []byte{3}, CreatedAt: t0.Add(1e9)},
	}
	for _, c := range certs {
		if err := s.AddProvenanceCert(ctx, c); err != nil {
			t.Fatalf("AddProvenanceCert(%+v): %v", c, err)
		}
	}
	if err := s.AddProvenanceCert(ctx, certs[1]); !errors.Is(err, fault.Conflict) {
		t.Errorf("duplicate version: %v, want Conflict", err)
	}
	if err := s.RevokeProvenanceCert(ctx, "pa", 1, t0.Add(2e9)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeProvenanceCert(ctx, "pa", 1, t0.Add(9e9)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeProvenanceCert(ctx, "pb", 1, t0); !errors.Is(err, fault.NotFound) {
		t.Errorf("revoke unknown: %v, want NotFound", err)
	}
	got, err := s.ProvenanceCerts(ctx)
	if err != nil || len(got) != 3 {
		t.Fatalf("ProvenanceCerts = %+v, %v", got, err)
	}
	if got[0].TenantID != "" || got[1].Version != 1 || !got[1].RevokedAt.Equal(t0.Add(2e9)) || !got[2].RevokedAt.IsZero() ||
		string(got[2].DER) != "\x03" || got[2].Serial != "03" || !got[2].CreatedAt.Equal(t0.Add(1e9)) {
		t.Errorf("ProvenanceCerts = %+v", got)
	}

	m := store.ProvenanceMark{TenantID: "pa", MarkHash: "h1", CreatedAt: t0}
	if err := s.RecordProvenanceMark(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordProvenanceMark(ctx, m); !errors.Is(err, fault.Conflict) {
		t.Errorf("duplicate mark: %v", err)
	}
	if _, err := s.ProvenanceMark(ctx, "pb", "h1"); !errors.Is(err, fault.NotFound) {
		t.Errorf("other tenant's mark: %v, want NotFound", err)
	}
	if gm, err := s.ProvenanceMark(ctx, "pa", "h1"); err != nil || !gm.CreatedAt.Equal(t0) {
		t.Fatalf("ProvenanceMark = %+v, %v", gm, err)
	}

	a := store.Asset{ID: "pa-asset", TenantID: "pa", SubjectHash: "s1", Format: "jpeg", Width: 1, Height: 1, Size: 1, CreatedAt: t0}
	if err := s.CreateAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssetProvenance(ctx, "pa", a.ID); !errors.Is(err, fault.NotFound) {
		t.Errorf("no record yet: %v", err)
	}
	// An accepted draft's asset is found by its generation id, in its tenant only.
	if _, err := s.GeneratedAssetByGenerationID(ctx, "pa", "00000000000000aa"); !errors.Is(err, fault.NotFound) {
		t.Errorf("no generated asset yet: %v", err)
	}
	ga := store.Asset{ID: "pa-gen", TenantID: "pa", SubjectHash: "s1", Format: "jpeg", Width: 1, Height: 1, Size: 1, CreatedAt: t0}
	if err := s.PutDraft(ctx, store.Draft{ID: "drf_p", TenantID: "pa", SubjectHash: "s1", Purpose: "meme_generation", Feature: "meme",
		Retention: "draft", Size: 1, CreatedAt: t0, ExpiresAt: t0.Add(3600e9)}); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginAsset(ctx, store.PendingAsset{ID: ga.ID, TenantID: "pa", SubjectHash: "s1", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.AcceptDraft(ctx, "drf_p", ga, store.Generated{AssetID: ga.ID, TenantID: "pa", SubjectHash: "s1", Feature: "meme",
		GenerationID: "00000000000000aa", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if id, err := s.GeneratedAssetByGenerationID(ctx, "pa", "00000000000000aa"); err != nil || id != ga.ID {
		t.Errorf("GeneratedAssetByGenerationID = %q, %v", id, err)
	}
	if _, err := s.GeneratedAssetByGenerationID(ctx, "pb", "00000000000000aa"); !errors.Is(err, fault.NotFound) {
		t.Errorf("other tenant: %v", err)
	}
	if _, err := s.GeneratedAssetByGenerationID(ctx, "pa", ""); !errors.Is(err, fault.NotFound) {
		t.Errorf("empty generation id: %v", err)
	}
	if err := s.SetAssetProvenance(ctx, store.AssetProvenance{TenantID: "pa", AssetID: a.ID, Manifest: true}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.AssetProvenance(ctx, "pa", a.ID); err != nil || !p.Manifest || p.Watermark {
		t.Fatalf("AssetProvenance = %+v, %v", p, err)
	}
	if _, err := s.AssetProvenance(ctx, "pb", a.ID); !errors.Is(err, fault.NotFound) {
		t.Errorf("other tenant: %v", err)
	}
	if off, err := s.WatermarkOff(ctx, "pa"); err != nil || off {
		t.Errorf("default watermark setting: off=%v, %v", off, err)
	}
	if err := s.SetWatermarkOff(ctx, "pa", true); err != nil {
		t.Fatal(err)
	}
	if off, err := s.WatermarkOff(ctx, "pa"); err != nil || !off {
		t.Errorf("after turning off: off=%v, %v", off, err)
	}
	if off, _ := s.WatermarkOff(ctx, "pb"); off {
		t.Errorf("other tenant's setting changed")
	}
	if err := s.DeleteAsset(ctx, "pa", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssetProvenance(ctx, "pa", a.ID); !errors.Is(err, fault.NotFound) {
		t.Errorf("after the asset is deleted: %v", err)
	}
}
