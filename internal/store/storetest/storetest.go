// Package storetest is the conformance suite every store backend must pass.
// It checks behaviour through the store.Store contract only, above all that
// tenant A's objects are invisible to tenant B in exactly the way a missing
// id is.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Run runs the suite. open must return a new, empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"TenantRoundTrip", testTenantRoundTrip},
		{"APIKeys", testAPIKeys},
		{"TenantIsolation", testTenantIsolation},
		{"KEKVersions", testKEKVersions},
		{"ScopeKeys", testScopeKeys},
		{"Rewrap", testRewrap},
		{"SystemKeysets", testSystemKeysets},
		{"Assets", testAssets},
		{"SingleUseUnderConcurrency", testSingleUse},
		{"ConsentChain", testConsentChain},
		{"Results", testResults},
		{"Faces", testFaces},
		{"PrivacyLinks", testPrivacyLinks},
		{"AuditTail", testAuditTail},
		{"ConsoleLinksAndTenants", testConsoleLinks},
		{"ForgetJournal", testForgetJournal},
		{"ConsentExpiry", testConsentExpiry},
		{"SubjectResults", testSubjectResults},
		{"PrivacyLinkSessions", testPrivacyLinkSessions},
		{"PendingAssetsAndCommit", testPendingAssets},
		{"GuardStates", testGuardStates},
		{"Analytics", testAnalytics},
		{"Provenance", testProvenance},
		{"Drafts", testDrafts},
		{"Plugins", testPlugins},
		{"FL", testFL},
		{"RateBuckets", testRateBuckets},
		{"GalleryLock", testGalleryLock},
		{"ScopeKeyWraps", testScopeKeyWraps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func mkTenant(t *testing.T, s store.Store, id string) {
	t.Helper()
	err := s.CreateTenant(context.Background(),
		store.Tenant{ID: id, Name: "app " + id, CreatedAt: t0},
		store.APIKey{ID: id + "-k0", TenantID: id, Scopes: []string{"admin", "ingest"}, SecretHash: []byte("h-" + id), CreatedAt: t0})
	if err != nil {
		t.Fatalf("CreateTenant(%s): %v", id, err)
	}
}

func wantKind(t *testing.T, what string, err error, k fault.Kind) {
	t.Helper()
	if !errors.Is(err, k) {
		t.Errorf("%s: err = %v, want kind %v", what, err, k)
	}
}

func testTenantRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	got, err := s.Tenant(ctx, "ta")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "ta" || got.Name != "app ta" || !got.CreatedAt.Equal(t0) || got.MinKEKVersion != 0 {
		t.Errorf("Tenant = %+v", got)
	}
	_, err = s.Tenant(ctx, "nope")
	wantKind(t, "missing tenant", err, fault.NotFound)
	err = s.CreateTenant(ctx, store.Tenant{ID: "ta", Name: "dup", CreatedAt: t0},
		store.APIKey{ID: "other", TenantID: "ta", SecretHash: []byte("x"), CreatedAt: t0})
	wantKind(t, "duplicate tenant", err, fault.Conflict)
	// The failed create must not have left its key behind.
	_, err = s.APIKeyForAuth(ctx, "other")
	wantKind(t, "key of failed create", err, fault.NotFound)
	if err := s.SetMinKEKVersion(ctx, "ta", 3); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Tenant(ctx, "ta"); got.MinKEKVersion != 3 {
		t.Errorf("MinKEKVersion = %d, want 3", got.MinKEKVersion)
	}
	wantKind(t, "min version of missing tenant", s.SetMinKEKVersion(ctx, "nope", 1), fault.NotFound)
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	k := store.APIKey{ID: "k1", TenantID: "ta", Scopes: []string{"analyze"}, SecretHash: []byte{1, 2, 3}, CreatedAt: t0.Add(time.Second)}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "duplicate key", s.CreateAPIKey(ctx, k), fault.Conflict)
	wantKind(t, "key for missing tenant", s.CreateAPIKey(ctx, store.APIKey{ID: "k9", TenantID: "nope", SecretHash: []byte{1}, CreatedAt: t0}), fault.NotFound)
	got, err := s.APIKeyForAuth(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if got.TenantID != "ta" || fmt.Sprint(got.Scopes) != "[analyze]" || !bytes.Equal(got.SecretHash, []byte{1, 2, 3}) || got.Revoked() {
		t.Errorf("APIKeyForAuth = %+v", got)
	}
	list, err := s.APIKeys(ctx, "ta")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "ta-k0" || list[1].ID != "k1" {
		t.Errorf("APIKeys = %+v", list)
	}
	at := t0.Add(time.Hour)
	if err := s.RevokeAPIKey(ctx, "ta", "k1", at); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, "ta", "k1", at.Add(time.Hour)); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	got, _ = s.APIKey(ctx, "ta", "k1")
	if !got.Revoked() || !got.RevokedAt.Equal(at) {
		t.Errorf("after revoke: RevokedAt = %v, want %v (first revocation time kept)", got.RevokedAt, at)
	}
	wantKind(t, "revoke missing", s.RevokeAPIKey(ctx, "ta", "missing", at), fault.NotFound)
}

func testTenantIsolation(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	mkTenant(t, s, "tb")
	// B looking up A's key gets exactly what B gets for a key that never existed.
	_, errCross := s.APIKey(ctx, "tb", "ta-k0")
	_, errMissing := s.APIKey(ctx, "tb", "never-existed")
	wantKind(t, "cross-tenant key", errCross, fault.NotFound)
	if fault.KindOf(errCross) != fault.KindOf(errMissing) || fault.PublicMessage(errCross) != fault.PublicMessage(errMissing) {
		t.Errorf("cross-tenant error %q differs from missing error %q", errCross, errMissing)
	}
	wantKind(t, "cross-tenant revoke", s.RevokeAPIKey(ctx, "tb", "ta-k0", t0), fault.NotFound)
	if k, _ := s.APIKey(ctx, "ta", "ta-k0"); k.Revoked() {
		t.Error("tenant B revoked tenant A's key")
	}
	list, _ := s.APIKeys(ctx, "tb")
	for _, k := range list {
		if k.TenantID != "tb" {
			t.Errorf("tenant B lists key %s of tenant %s", k.ID, k.TenantID)
		}
	}
	if err := s.CreateScopeKey(ctx, store.ScopeKey{ID: "sa", TenantID: "ta", SubjectHash: "h1", KEKVersion: 1, Wrapped: []byte("w"), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	_, err := s.ScopeKey(ctx, "tb", "h1", "")
	wantKind(t, "cross-tenant scope key", err, fault.NotFound)
	if n, _ := s.DestroyScopeKeys(ctx, "tb", "h1", "*"); n != 0 {
		t.Errorf("tenant B destroyed %d of tenant A's keys", n)
	}
}

func testKEKVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	for v := 1; v <= 2; v++ {
		if err := s.CreateKEKVersion(ctx, store.KEKVersion{TenantID: "ta", Version: v, State: store.KEKActive, CreatedAt: t0, Keyset: []byte{byte(v)}}); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, "duplicate version", s.CreateKEKVersion(ctx, store.KEKVersion{TenantID: "ta", Version: 2, State: store.KEKActive, CreatedAt: t0, Keyset: []byte{9}}), fault.Conflict)
	if err := s.SetKEKState(ctx, "ta", 1, store.KEKRevoked); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "state of missing version", s.SetKEKState(ctx, "ta", 7, store.KEKRevoked), fault.NotFound)
	vs, err := s.KEKVersions(ctx, "ta")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Version != 1 || vs[0].State != store.KEKRevoked || vs[1].State != store.KEKActive || !bytes.Equal(vs[1].Keyset, []byte{2}) {
		t.Errorf("KEKVersions = %+v", vs)
	}
}

func testScopeKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	mk := func(id, subj, purpose string) {
		t.Helper()
		if err := s.CreateScopeKey(ctx, store.ScopeKey{ID: id, TenantID: "ta", SubjectHash: subj, Purpose: purpose, KEKVersion: 1, Wrapped: []byte(id), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	mk("k1", "s1", "")
	mk("k2", "s1", "face_recognition")
	mk("k3", "s1", "tagging")
	mk("k4", "s2", "face_recognition")
	wantKind(t, "duplicate scope", s.CreateScopeKey(ctx, store.ScopeKey{ID: "k5", TenantID: "ta", SubjectHash: "s1", Purpose: "tagging", KEKVersion: 1, Wrapped: []byte("x"), CreatedAt: t0}), fault.Conflict)
	got, err := s.ScopeKey(ctx, "ta", "s1", "face_recognition")
	if err != nil || got.ID != "k2" || string(got.Wrapped) != "k2" {
		t.Fatalf("ScopeKey = %+v, %v", got, err)
	}
	n, err := s.DestroyScopeKeys(ctx, "ta", "s1", "face_recognition")
	if err != nil || n != 1 {
		t.Fatalf("destroy one purpose: n=%d err=%v", n, err)
	}
	_, err = s.ScopeKey(ctx, "ta", "s1", "face_recognition")
	wantKind(t, "destroyed purpose key", err, fault.NotFound)
	for _, c := range []struct{ subj, purpose string }{{"s1", ""}, {"s1", "tagging"}, {"s2", "face_recognition"}} {
		if _, err := s.ScopeKey(ctx, "ta", c.subj, c.purpose); err != nil {
			t.Errorf("key %s/%s destroyed too: %v", c.subj, c.purpose, err)
		}
	}
	n, err = s.DestroyScopeKeys(ctx, "ta", "s1", "*")
	if err != nil || n != 2 {
		t.Fatalf("destroy subject: n=%d err=%v", n, err)
	}
	if _, err := s.ScopeKey(ctx, "ta", "s2", "face_recognition"); err != nil {
		t.Errorf("other subject's key destroyed: %v", err)
	}
}

func testRewrap(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	for i, v := range []int{1, 2, 1, 3} {
		if err := s.CreateScopeKey(ctx, store.ScopeKey{ID: fmt.Sprintf("k%d", i), TenantID: "ta", SubjectHash: fmt.Sprintf("s%d", i), KEKVersion: v, Wrapped: []byte("old"), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ScopeKeysBelow(ctx, "ta", 3, "", 1)
	if err != nil || len(page) != 1 || page[0].ID != "k0" {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	page, _ = s.ScopeKeysBelow(ctx, "ta", 3, "k0", 10)
	if len(page) != 2 || page[0].ID != "k1" || page[1].ID != "k2" {
		t.Fatalf("second page = %+v", page)
	}
	if err := s.RewrapScopeKey(ctx, "ta", "k1", 2, 3, []byte("new")); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "stale rewrap", s.RewrapScopeKey(ctx, "ta", "k1", 2, 3, []byte("newer")), fault.Conflict)
	got, _ := s.ScopeKey(ctx, "ta", "s1", "")
	if got.KEKVersion != 3 || string(got.Wrapped) != "new" {
		t.Errorf("after rewrap = %+v", got)
	}
	page, _ = s.ScopeKeysBelow(ctx, "ta", 3, "", 10)
	if len(page) != 2 {
		t.Errorf("still below v3: %d keys, want 2", len(page))
	}
}

func testSystemKeysets(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.SystemKeyset(ctx, "prf")
	wantKind(t, "missing keyset", err, fault.NotFound)
	if err := s.CreateSystemKeyset(ctx, "prf", []byte("ks1"), t0); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "duplicate keyset", s.CreateSystemKeyset(ctx, "prf", []byte("ks2"), t0), fault.Conflict)
	got, err := s.SystemKeyset(ctx, "prf")
	if err != nil || string(got) != "ks1" {
		t.Errorf("SystemKeyset = %q, %v; want ks1 (first write wins)", got, err)
	}
}

func testAssets(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	mkTenant(t, s, "tb")
	a := store.Asset{ID: "ast_1", TenantID: "ta", SubjectHash: "h", Format: "jpeg", Width: 4, Height: 3, Size: 99, CreatedAt: t0}
	if err := s.CreateAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.Asset(ctx, "ta", "ast_1")
	if err != nil || got != a {
		t.Fatalf("Asset = %+v, %v", got, err)
	}
	_, err = s.Asset(ctx, "tb", "ast_1")
	wantKind(t, "cross-tenant asset", err, fault.NotFound)
	wantKind(t, "cross-tenant delete", s.DeleteAsset(ctx, "tb", "ast_1"), fault.NotFound)
	if got, err := s.TenantAssets(ctx, "ta", t0, t0.Add(time.Second)); err != nil || len(got) != 1 {
		t.Errorf("TenantAssets in range = %d, %v", len(got), err)
	}
	if got, _ := s.TenantAssets(ctx, "ta", t0.Add(time.Second), t0.Add(time.Hour)); len(got) != 0 {
		t.Errorf("TenantAssets out of range = %d", len(got))
	}
	if got, _ := s.TenantSubjects(ctx, "ta"); len(got) != 1 || got[0] != "h" {
		t.Errorf("TenantSubjects = %v", got)
	}
	if got, _ := s.TenantSubjects(ctx, "tb"); len(got) != 0 {
		t.Errorf("tenant B subjects = %v", got)
	}
	if err := s.DeleteAsset(ctx, "ta", "ast_1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Asset(ctx, "ta", "ast_1")
	wantKind(t, "deleted asset", err, fault.NotFound)

	if err := s.CreateDownload(ctx, store.Download{ID: "dl_1", TenantID: "ta", AssetID: "ast_1", ExpiresAt: t0}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ConsumeDownload(ctx, "tb", "dl_1", t0)
	wantKind(t, "cross-tenant download", err, fault.NotFound)
	d, err := s.ConsumeDownload(ctx, "ta", "dl_1", t0)
	if err != nil || d.AssetID != "ast_1" || !d.ExpiresAt.Equal(t0) {
		t.Fatalf("ConsumeDownload = %+v, %v", d, err)
	}
	_, err = s.ConsumeDownload(ctx, "ta", "dl_1", t0)
	wantKind(t, "second download", err, fault.Conflict)
}

func testSingleUse(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	if err := s.CreateUpload(ctx, store.Upload{ID: "up_1", TenantID: "ta", SubjectHash: "h", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "unknown upload", s.ConsumeUpload(ctx, "ta", "up_x", t0), fault.NotFound)
	wantKind(t, "cross-tenant upload", s.ConsumeUpload(ctx, "tb", "up_1", t0), fault.NotFound)
	const n = 16
	errs := make(chan error, n)
	for range n {
		go func() { errs <- s.ConsumeUpload(ctx, "ta", "up_1", t0) }()
	}
	wins := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, fault.Conflict):
			t.Errorf("concurrent consume: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent consumes succeeded, want exactly 1", wins, n)
	}
}

func testConsentChain(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	mkTenant(t, s, "tb")
	var prevs []string
	record := func(tenant, purpose, state string, purge bool) {
		t.Helper()
		err := s.RecordConsent(ctx, tenant, "subj", func(prev string) (store.ConsentChange, error) {
			prevs = append(prevs, prev)
			h := fmt.Sprintf("hash-%s-%d", tenant, len(prevs))
			return store.ConsentChange{
				Receipt: store.ReceiptRecord{Hash: h, Body: []byte(h)},
				Consent: store.Consent{Purpose: purpose, State: state, Notice: "v1", UpdatedAt: t0},
				Purge:   purge,
			}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	record("ta", "tagging", store.ConsentGranted, false)
	record("ta", "face_recognition", store.ConsentGranted, false)
	record("ta", "face_recognition", store.ConsentRevoked, true)
	record("tb", "tagging", store.ConsentGranted, false)
	if fmt.Sprint(prevs) != "[ hash-ta-1 hash-ta-2 ]" {
		t.Errorf("prev hashes seen by the builder: %q (tenant B's chain must start empty)", prevs)
	}
	rs, err := s.Receipts(ctx, "ta", "subj")
	if err != nil || len(rs) != 3 || rs[0].Seq != 1 || string(rs[2].Body) != "hash-ta-3" {
		t.Fatalf("Receipts = %+v, %v", rs, err)
	}
	c, err := s.Consent(ctx, "ta", "subj", "face_recognition")
	if err != nil || c.State != store.ConsentRevoked {
		t.Errorf("Consent = %+v, %v", c, err)
	}
	_, err = s.Consent(ctx, "tb", "subj", "face_recognition")
	wantKind(t, "cross-tenant consent", err, fault.NotFound)
	ps, _ := s.PendingPurges(ctx)
	if len(ps) != 1 || ps[0].Purpose != "face_recognition" || ps[0].TenantID != "ta" {
		t.Fatalf("PendingPurges = %+v", ps)
	}
	if err := s.FinishPurge(ctx, "ta", "subj", "face_recognition"); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.PendingPurges(ctx); len(ps) != 0 {
		t.Errorf("purge still pending: %+v", ps)
	}
	// A failing builder changes nothing.
	boom := errors.New("boom")
	if err := s.RecordConsent(ctx, "ta", "subj", func(string) (store.ConsentChange, error) { return store.ConsentChange{}, boom }); !errors.Is(err, boom) {
		t.Errorf("builder error: %v", err)
	}
	if rs, _ := s.Receipts(ctx, "ta", "subj"); len(rs) != 3 {
		t.Errorf("failed record left a receipt: %d", len(rs))
	}
	if err := s.DeleteConsents(ctx, "ta", "subj"); err != nil {
		t.Fatal(err)
	}
	if cs, _ := s.Consents(ctx, "ta", "subj"); len(cs) != 0 {
		t.Errorf("consents after delete: %+v", cs)
	}
	if rs, _ := s.Receipts(ctx, "ta", "subj"); len(rs) != 3 {
		t.Errorf("receipts must survive consent deletion: %d", len(rs))
	}
}

func testResults(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ten_a")
	mkTenant(t, s, "ten_b")
	r := store.Result{ID: "res_1", TenantID: "ten_a", SubjectHash: "h", AssetID: "ast_1", Feature: "tags", Purpose: "tagging",
		Retention: "analysis", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if old, err := s.PutResult(ctx, r); err != nil || old != "" {
		t.Fatalf("PutResult = %q, %v", old, err)
	}
	// Same asset and feature again: replaces, and names what it replaced.
	r2 := r
	r2.ID, r2.ExpiresAt = "res_2", t0.Add(2*time.Hour)
	if old, err := s.PutResult(ctx, r2); err != nil || old != "res_1" {
		t.Fatalf("replacing PutResult = %q, %v", old, err)
	}
	faces := r
	faces.ID, faces.Feature, faces.Purpose = "res_3", "faces", "face_detection"
	if _, err := s.PutResult(ctx, faces); err != nil {
		t.Fatal(err)
	}
	got, err := s.Results(ctx, "ten_a", "ast_1")
	if err != nil || len(got) != 2 || got[0].ID != "res_3" || got[1].ID != "res_2" || !got[1].ExpiresAt.Equal(r2.ExpiresAt) {
		t.Fatalf("Results = %+v, %v", got, err)
	}
	if other, _ := s.Results(ctx, "ten_b", "ast_1"); len(other) != 0 {
		t.Errorf("another tenant sees %d results", len(other))
	}
	exp, err := s.ExpiredResults(ctx, t0.Add(time.Hour), 10)
	if err != nil || len(exp) != 1 || exp[0].ID != "res_3" {
		t.Fatalf("ExpiredResults = %+v, %v", exp, err)
	}
	wantKind(t, "delete other tenant's result", s.DeleteResult(ctx, "ten_b", "res_3"), fault.NotFound)
	if err := s.DeleteResult(ctx, "ten_a", "res_3"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "delete twice", s.DeleteResult(ctx, "ten_a", "res_3"), fault.NotFound)
	if n, err := s.DeleteSubjectResults(ctx, "ten_b", "h", "*"); err != nil || n != 0 {
		t.Errorf("other tenant's subject purge = %d, %v", n, err)
	}
	if n, err := s.DeleteSubjectResults(ctx, "ten_a", "h", "face_detection"); err != nil || n != 0 {
		t.Errorf("purge of a purpose without results = %d, %v", n, err)
	}
	if n, err := s.DeleteSubjectResults(ctx, "ten_a", "h", "tagging"); err != nil || n != 1 {
		t.Errorf("purge tagging = %d, %v", n, err)
	}
}

func testFaces(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ten_a")
	mkTenant(t, s, "ten_b")
	g := store.Suggestion{ID: "sug_1", TenantID: "ten_a", SubjectHash: "h", AssetID: "ast_1", Box: store.Box{X: 1, Y: 2, W: 3, H: 4}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSuggestion(ctx, g); err != nil {
		t.Fatal(err)
	}
	got, err := s.Suggestion(ctx, "ten_a", "sug_1")
	if err != nil || got.Box != g.Box || got.AssetID != "ast_1" || !got.ExpiresAt.Equal(g.ExpiresAt) {
		t.Fatalf("Suggestion = %+v, %v", got, err)
	}
	_, err = s.Suggestion(ctx, "ten_b", "sug_1")
	wantKind(t, "other tenant's suggestion", err, fault.NotFound)
	if list, _ := s.Suggestions(ctx, "ten_a", "h"); len(list) != 1 {
		t.Errorf("Suggestions = %v", list)
	}
	if exp, _ := s.ExpiredSuggestions(ctx, t0.Add(59*time.Minute), 10); len(exp) != 0 {
		t.Errorf("expired too early: %v", exp)
	}
	if exp, _ := s.ExpiredSuggestions(ctx, t0.Add(time.Hour), 10); len(exp) != 1 {
		t.Errorf("not expired at TTL: %v", exp)
	}
	wantKind(t, "delete other tenant's suggestion", s.DeleteSuggestion(ctx, "ten_b", "sug_1"), fault.NotFound)
	if err := s.DeleteSuggestion(ctx, "ten_a", "sug_1"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "delete twice", s.DeleteSuggestion(ctx, "ten_a", "sug_1"), fault.NotFound)

	for i, p := range []string{"per_1", "per_1", "per_2"} {
		if err := s.CreateFaceTag(ctx, store.FaceTag{ID: fmt.Sprintf("tag_%d", i), TenantID: "ten_a", SubjectHash: "h", AssetID: "ast_1", PersonID: p, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if tags, _ := s.FaceTags(ctx, "ten_a", "h", "per_1"); len(tags) != 2 {
		t.Errorf("per_1 tags = %v", tags)
	}
	if err := s.RetagPerson(ctx, "ten_a", "h", "per_2", "per_1"); err != nil {
		t.Fatal(err)
	}
	if tags, _ := s.FaceTags(ctx, "ten_a", "h", "per_1"); len(tags) != 3 {
		t.Errorf("after merge, per_1 tags = %v", tags)
	}
	if tags, _ := s.FaceTags(ctx, "ten_b", "h", ""); len(tags) != 0 {
		t.Errorf("other tenant sees tags: %v", tags)
	}
	if err := s.DeletePersonTags(ctx, "ten_a", "h", "per_1"); err != nil {
		t.Fatal(err)
	}
	if tags, _ := s.FaceTags(ctx, "ten_a", "h", ""); len(tags) != 0 {
		t.Errorf("after delete: %v", tags)
	}
	s.CreateSuggestion(ctx, g)
	s.CreateFaceTag(ctx, store.FaceTag{ID: "tag_x", TenantID: "ten_a", SubjectHash: "h", AssetID: "ast_1", PersonID: "per_3", CreatedAt: t0})
	if err := s.DeleteSubjectFaces(ctx, "ten_a", "h"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Suggestions(ctx, "ten_a", "h"); len(list) != 0 {
		t.Errorf("suggestions left: %v", list)
	}
	if tags, _ := s.FaceTags(ctx, "ten_a", "h", ""); len(tags) != 0 {
		t.Errorf("tags left: %v", tags)
	}

	// One photo's faces: listed and deleted without touching another photo's.
	for _, a := range []string{"ast_1", "ast_2"} {
		sg := g
		sg.ID, sg.AssetID = "sug_"+a, a
		s.CreateSuggestion(ctx, sg)
		s.CreateFaceTag(ctx, store.FaceTag{ID: "tag_" + a, TenantID: "ten_a", SubjectHash: "h", AssetID: a, PersonID: "per_1", CreatedAt: t0})
	}
	gs, ts, err := s.AssetFaces(ctx, "ten_a", "ast_1")
	if err != nil || len(gs) != 1 || gs[0].ID != "sug_ast_1" || len(ts) != 1 || ts[0].ID != "tag_ast_1" || ts[0].PersonID != "per_1" {
		t.Fatalf("AssetFaces = %v, %v, %v", gs, ts, err)
	}
	if gs, ts, _ := s.AssetFaces(ctx, "ten_b", "ast_1"); len(gs)+len(ts) != 0 {
		t.Errorf("other tenant sees a photo's faces: %v %v", gs, ts)
	}
	if err := s.DeleteAssetFaces(ctx, "ten_b", "ast_1"); err != nil {
		t.Fatal(err)
	}
	if gs, ts, _ := s.AssetFaces(ctx, "ten_a", "ast_1"); len(gs) != 1 || len(ts) != 1 {
		t.Errorf("another tenant's delete removed faces: %v %v", gs, ts)
	}
	if err := s.DeleteAssetFaces(ctx, "ten_a", "ast_1"); err != nil {
		t.Fatal(err)
	}
	if gs, ts, _ := s.AssetFaces(ctx, "ten_a", "ast_1"); len(gs)+len(ts) != 0 {
		t.Errorf("faces left on the deleted photo: %v %v", gs, ts)
	}
	if gs, ts, _ := s.AssetFaces(ctx, "ten_a", "ast_2"); len(gs) != 1 || len(ts) != 1 {
		t.Errorf("the other photo lost its faces: %v %v", gs, ts)
	}
}

func testPrivacyLinks(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ten_a")
	mkTenant(t, s, "ten_b")
	l := store.PrivacyLink{ID: "pl_1", TenantID: "ten_a", SubjectHash: "h", ExpiresAt: t0.Add(5 * time.Minute)}
	if err := s.CreatePrivacyLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	_, err := s.ConsumePrivacyLink(ctx, "ten_b", "pl_1", t0)
	wantKind(t, "other tenant's link", err, fault.NotFound)
	got, err := s.ConsumePrivacyLink(ctx, "ten_a", "pl_1", t0)
	if err != nil || got.SubjectHash != "h" || !got.ExpiresAt.Equal(l.ExpiresAt) {
		t.Fatalf("Consume = %+v, %v", got, err)
	}
	_, err = s.ConsumePrivacyLink(ctx, "ten_a", "pl_1", t0)
	wantKind(t, "second use", err, fault.Conflict)
	_, err = s.ConsumePrivacyLink(ctx, "ten_a", "pl_nope", t0)
	wantKind(t, "unknown link", err, fault.NotFound)
}

func testAuditTail(t *testing.T, s store.Store) {
	ctx := context.Background()
	err := s.AppendAudit(ctx, func(tipSeq int64, tipHash string) ([]store.AuditRecord, *store.AuditCheckpoint, error) {
		var rs []store.AuditRecord
		for i := range 7 {
			rs = append(rs, store.AuditRecord{Seq: tipSeq + int64(i) + 1, TenantID: []string{"ten_a", "ten_b"}[i%2], Hash: fmt.Sprintf("h%d", i), Body: []byte("{}")})
		}
		return rs, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seqs := func(rs []store.AuditRecord) string {
		var out []string
		for _, r := range rs {
			out = append(out, fmt.Sprint(r.Seq))
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		tenant string
		before int64
		limit  int
		want   string
	}{
		{"", 0, 3, "7,6,5"},
		{"", 5, 10, "4,3,2,1"},
		{"ten_a", 0, 10, "7,5,3,1"},
		{"ten_a", 5, 1, "3"},
		{"ten_b", 2, 10, ""},
	}
	for _, tt := range tests {
		rs, err := s.AuditTail(ctx, tt.tenant, tt.before, tt.limit)
		if err != nil || seqs(rs) != tt.want {
			t.Errorf("AuditTail(%q, %d, %d) = %s, %v; want %s", tt.tenant, tt.before, tt.limit, seqs(rs), err, tt.want)
		}
	}
}

func testConsoleLinks(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ten_b")
	mkTenant(t, s, "ten_a")
	ts, err := s.Tenants(ctx)
	if err != nil || len(ts) != 2 || ts[0].ID != "ten_a" || ts[1].Name != "app ten_b" {
		t.Fatalf("Tenants = %+v, %v", ts, err)
	}
	exp := t0.Add(5 * time.Minute)
	if err := s.CreateConsoleLink(ctx, "cl_1", exp); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "duplicate link", s.CreateConsoleLink(ctx, "cl_1", exp), fault.Conflict)
	got, err := s.ConsumeConsoleLink(ctx, "cl_1", t0)
	if err != nil || !got.Equal(exp) {
		t.Fatalf("Consume = %v, %v", got, err)
	}
	_, err = s.ConsumeConsoleLink(ctx, "cl_1", t0)
	wantKind(t, "second use", err, fault.Conflict)
	_, err = s.ConsumeConsoleLink(ctx, "cl_nope", t0)
	wantKind(t, "unknown link", err, fault.NotFound)

	// Live: used and not revoked. Revoking ends used and unused links.
	s.CreateConsoleLink(ctx, "cl_2", exp)
	for id, want := range map[string]bool{"cl_1": true, "cl_2": false, "cl_nope": false} {
		if live, err := s.ConsoleLinkLive(ctx, id); err != nil || live != want {
			t.Errorf("ConsoleLinkLive(%s) = %v, %v; want %v", id, live, err, want)
		}
	}
	if n, err := s.RevokeConsoleLinks(ctx, t0); err != nil || n != 2 {
		t.Fatalf("RevokeConsoleLinks = %d, %v", n, err)
	}
	if live, _ := s.ConsoleLinkLive(ctx, "cl_1"); live {
		t.Error("a revoked link's session is live")
	}
	_, err = s.ConsumeConsoleLink(ctx, "cl_2", t0)
	wantKind(t, "revoked unused link", err, fault.Conflict)
	if n, _ := s.RevokeConsoleLinks(ctx, t0); n != 0 {
		t.Errorf("revoking twice counted %d", n)
	}
}

// testPendingAssets: an upload is spent only by the commit that stores its
// asset, exactly once under concurrency; a failed commit stores nothing and
// leaves the upload usable; pending marks go with the commit and age into
// the sweep list.
func testPendingAssets(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTenant(t, s, "ta")
	mkTenant(t, s, "tb")
	if err := s.CreateUpload(ctx, store.Upload{ID: "up_1", TenantID: "ta", SubjectHash: "h", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if spent, err := s.UploadSpent(ctx, "ta", "up_1"); err != nil || spent {
		t.Errorf("fresh upload spent = %v, %v", spent, err)
	}
	_, err := s.UploadSpent(ctx, "tb", "up_1")
	wantKind(t, "cross-tenant upload state", err, fault.NotFound)
	asset := func(id string) store.Asset {
		return store.Asset{ID: id, TenantID: "ta", SubjectHash: "h", Format: "jpeg", Width: 1, Height: 1, Size: 1, CreatedAt: t0}
	}
	wantKind(t, "commit with unknown upload", s.CommitAsset(ctx, asset("ast_x"), "up_x", t0), fault.NotFound)
	if _, err := s.Asset(ctx, "ta", "ast_x"); !errors.Is(err, fault.NotFound) {
		t.Errorf("asset of a refused commit was stored: %v", err)
	}
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		id := fmt.Sprintf("ast_%d", i)
		if err := s.BeginAsset(ctx, store.PendingAsset{ID: id, TenantID: "ta", SubjectHash: "h", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		go func() { errs <- s.CommitAsset(ctx, asset(id), "up_1", t0) }()
	}
	wins := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			wins++
		case !errors.Is(err, fault.Conflict):
			t.Errorf("concurrent commit: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent commits of one upload succeeded, want exactly 1", wins, n)
	}
	if spent, err := s.UploadSpent(ctx, "ta", "up_1"); err != nil || !spent {
		t.Errorf("committed upload spent = %v, %v", spent, err)
	}
	stale, err := s.StalePendingAssets(ctx, t0.Add(time.Second), 100)
	if err != nil || len(stale) != n-1 {
		t.Fatalf("stale pending = %d, %v; want the %d losers (the winner's mark went with its commit)", len(stale), err, n-1)
	}
	if early, _ := s.StalePendingAssets(ctx, t0, 100); len(early) != 0 {
		t.Errorf("marks younger than the cutoff listed: %d", len(early))
	}
	for _, p := range stale {
		if _, err := s.Asset(ctx, "ta", p.ID); !errors.Is(err, fault.NotFound) {
			t.Errorf("losing commit %s stored an asset: %v", p.ID, err)
		}
		if err := s.ClearPendingAsset(ctx, p.TenantID, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	if left, _ := s.StalePendingAssets(ctx, t0.Add(time.Hour), 100); len(left) != 0 {
		t.Errorf("%d marks left after clearing", len(left))
	}
	// Without an upload (import): record stored, mark cleared.
	if err := s.BeginAsset(ctx, store.PendingAsset{ID: "ast_imp", TenantID: "ta", SubjectHash: "h", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitAsset(ctx, asset("ast_imp"), "", t0); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.StalePendingAssets(ctx, t0.Add(time.Hour), 100); len(left) != 0 {
		t.Errorf("import commit left its mark")
	}
}
