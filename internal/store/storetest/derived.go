package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Conformance cases for the derived-data registry's journal, consent
// expiry and privacy-center sessions.

func testForgetJournal(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.Forget{TenantID: "ten_a", Scope: store.ForgetSubject, SubjectHash: "h", CreatedAt: t0}
	b := store.Forget{TenantID: "ten_b", Scope: store.ForgetAsset, SubjectHash: "h", Target: "ast_1", CreatedAt: t0.Add(time.Second)}
	for _, f := range []store.Forget{a, b, a} {
		if err := s.BeginForget(ctx, f); err != nil {
			t.Fatalf("BeginForget(%+v): %v", f, err)
		}
	}
	got, err := s.PendingForgets(ctx)
	if err != nil || len(got) != 2 || got[0] != a || got[1].Target != "ast_1" || got[1].TenantID != "ten_b" {
		t.Fatalf("PendingForgets = %+v, %v; want a then b", got, err)
	}
	if err := s.FinishForget(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err = s.PendingForgets(ctx)
	if err != nil || len(got) != 1 || got[0].TenantID != "ten_b" {
		t.Fatalf("after finish: %+v, %v", got, err)
	}
}

func testConsentExpiry(t *testing.T, s store.Store) {
	ctx := withTenants(t, s, "ten_a")
	set := func(purpose string, expires time.Time) {
		t.Helper()
		err := s.RecordConsent(ctx, "ten_a", "h", func(prev string) (store.ConsentChange, error) {
			return store.ConsentChange{Receipt: store.ReceiptRecord{Hash: purpose + prev, Body: []byte("{}")},
				Consent: store.Consent{Purpose: purpose, State: store.ConsentGranted, Notice: "v1", UpdatedAt: t0, ExpiresAt: expires}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	set("tagging", t0.Add(time.Hour))
	set("face_recognition", t0.Add(2*time.Hour))
	set("text_detection", time.Time{}) // never expires
	if got, err := s.ExpireConsents(ctx, t0.Add(time.Hour-time.Second), 10); err != nil || len(got) != 0 {
		t.Fatalf("before expiry: %+v, %v", got, err)
	}
	got, err := s.ExpireConsents(ctx, t0.Add(3*time.Hour), 1)
	if err != nil || len(got) != 1 || got[0].Purpose != "tagging" || got[0].State != store.ConsentExpired {
		t.Fatalf("ExpireConsents(limit 1) = %+v, %v", got, err)
	}
	c, err := s.Consent(ctx, "ten_a", "h", "tagging")
	if err != nil || c.State != store.ConsentExpired {
		t.Errorf("tagging state = %q, %v; want expired", c.State, err)
	}
	ps, err := s.PendingPurges(ctx)
	if err != nil || len(ps) != 1 || ps[0].Purpose != "tagging" {
		t.Errorf("purge journal = %+v, %v; want the expired purpose", ps, err)
	}
	got, err = s.ExpireConsents(ctx, t0.Add(3*time.Hour), 10)
	if err != nil || len(got) != 1 || got[0].Purpose != "face_recognition" {
		t.Fatalf("second sweep = %+v, %v", got, err)
	}
	if got, _ := s.ExpireConsents(ctx, t0.Add(100*time.Hour), 10); len(got) != 0 {
		t.Errorf("expired twice or a grant without expiry expired: %+v", got)
	}
}

func testSubjectResults(t *testing.T, s store.Store) {
	ctx := withTenants(t, s, "ten_a", "ten_b")
	for _, r := range []store.Result{
		{ID: "res_1", TenantID: "ten_a", SubjectHash: "h", AssetID: "ast_2", Feature: "tags", Purpose: "tagging"},
		{ID: "res_2", TenantID: "ten_a", SubjectHash: "h", AssetID: "ast_1", Feature: "text", Purpose: "text_detection"},
		{ID: "res_3", TenantID: "ten_a", SubjectHash: "other", AssetID: "ast_3", Feature: "tags", Purpose: "tagging"},
		{ID: "res_4", TenantID: "ten_b", SubjectHash: "h", AssetID: "ast_4", Feature: "tags", Purpose: "tagging"},
	} {
		r.Retention, r.CreatedAt, r.ExpiresAt = "analysis", t0, t0.Add(time.Hour)
		if _, err := s.PutResult(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SubjectResults(ctx, "ten_a", "h")
	if err != nil || len(got) != 2 || got[0].ID != "res_2" || got[1].ID != "res_1" {
		t.Fatalf("SubjectResults = %+v, %v; want res_2, res_1 (this tenant's, this subject's)", got, err)
	}
}

func testPrivacyLinkSessions(t *testing.T, s store.Store) {
	ctx := withTenants(t, s, "ten_a", "ten_b")
	for _, l := range []store.PrivacyLink{
		{ID: "pl_1", TenantID: "ten_a", SubjectHash: "h", ExpiresAt: t0.Add(5 * time.Minute)},
		{ID: "pl_2", TenantID: "ten_a", SubjectHash: "h", ExpiresAt: t0.Add(5 * time.Minute)},
		{ID: "pl_3", TenantID: "ten_b", SubjectHash: "h", ExpiresAt: t0.Add(5 * time.Minute)},
	} {
		if err := s.CreatePrivacyLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if live, err := s.PrivacyLinkLive(ctx, "ten_a", "pl_1"); err != nil || live {
		t.Errorf("unused link live = %v, %v", live, err)
	}
	for _, l := range [][2]string{{"ten_a", "pl_1"}, {"ten_b", "pl_3"}} {
		if _, err := s.ConsumePrivacyLink(ctx, l[0], l[1], t0); err != nil {
			t.Fatal(err)
		}
	}
	if live, err := s.PrivacyLinkLive(ctx, "ten_a", "pl_1"); err != nil || !live {
		t.Errorf("used link live = %v, %v", live, err)
	}
	if live, _ := s.PrivacyLinkLive(ctx, "ten_b", "pl_1"); live {
		t.Error("a link is live for another tenant")
	}
	if n, err := s.RevokePrivacyLinks(ctx, "ten_a", "h", t0); err != nil || n != 2 {
		t.Errorf("RevokePrivacyLinks = %d, %v; want 2", n, err)
	}
	if live, _ := s.PrivacyLinkLive(ctx, "ten_a", "pl_1"); live {
		t.Error("revoked link still live")
	}
	_, err := s.ConsumePrivacyLink(ctx, "ten_a", "pl_2", t0)
	wantKind(t, "revoked unused link", err, fault.Conflict)
	if live, _ := s.PrivacyLinkLive(ctx, "ten_b", "pl_3"); !live {
		t.Error("revoking tenant a's links ended tenant b's")
	}
	if n, err := s.SubjectPrivacyLinks(ctx, "ten_b", "h"); err != nil || n != 1 {
		t.Errorf("SubjectPrivacyLinks = %d, %v", n, err)
	}
	if err := s.DeleteSubjectPrivacyLinks(ctx, "ten_b", "h"); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.PrivacyLinkLive(ctx, "ten_b", "pl_3"); live {
		t.Error("deleted link still live")
	}
	if n, _ := s.SubjectPrivacyLinks(ctx, "ten_a", "h"); n != 2 {
		t.Errorf("deleting tenant b's links touched tenant a's: %d left", n)
	}
}

// withTenants creates the tenants a case needs and returns its context.
func withTenants(t *testing.T, s store.Store, ids ...string) context.Context {
	t.Helper()
	for _, id := range ids {
		mkTenant(t, s, id)
	}
	return context.Background()
}

// implements is the backend as one of the optional store interfaces; a
// backend without it fails the case (every backend implements them all).
func implements[T any](t *testing.T, s store.Store) T {
	t.Helper()
	v, ok := s.(T)
	if !ok {
		t.Fatalf("%T does not implement %s", s, reflect.TypeFor[T]())
	}
	return v
}
