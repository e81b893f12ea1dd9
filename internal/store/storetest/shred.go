package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// testScopeKeyWraps: a tenant's scope keys page by subject-hash prefix, and
// a wrapping is replaced only if its bytes are still what the caller read.
func testScopeKeyWraps(t *testing.T, s store.Store) {
	ctx := context.Background()
	w, ok := s.(store.ScopeKeyWraps)
	if !ok {
		t.Fatalf("%T does not implement store.ScopeKeyWraps (crypto-shredding with shred keys needs it)", s)
	}
	mkTenant(t, s, "ta")
	mkTenant(t, s, "tb")
	for _, k := range []store.ScopeKey{
		{ID: "k1", TenantID: "ta", SubjectHash: "aa1", KEKVersion: 1, Wrapped: []byte("w1"), CreatedAt: t0},
		{ID: "k2", TenantID: "ta", SubjectHash: "ab2", Purpose: "tagging", KEKVersion: 1, Wrapped: []byte("w2"), CreatedAt: t0},
		{ID: "k3", TenantID: "ta", SubjectHash: "b3", KEKVersion: 1, Wrapped: []byte("w3"), CreatedAt: t0},
		{ID: "k4", TenantID: "tb", SubjectHash: "aa4", KEKVersion: 1, Wrapped: []byte("w4"), CreatedAt: t0},
		{ID: "k5", TenantID: "ta", SubjectHash: "a", KEKVersion: 1, Wrapped: []byte("w5"), CreatedAt: t0},
		{ID: "k6", TenantID: "ta", SubjectHash: "aéÿ", KEKVersion: 1, Wrapped: []byte("w6"), CreatedAt: t0},
	} {
		if err := s.CreateScopeKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(prefix, after string, limit int) string {
		t.Helper()
		ks, err := w.ScopeKeysWithPrefix(ctx, "ta", prefix, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, k := range ks {
			out += k.ID + " "
		}
		return out
	}
	for _, c := range []struct {
		prefix, after string
		limit         int
		want          string
	}{
		{"a", "", 10, "k1 k2 k5 k6 "},
		{"a", "k1", 10, "k2 k5 k6 "},
		{"a", "", 1, "k1 "},
		{"aa", "", 10, "k1 "},
		{"aa1", "", 10, "k1 "},
		{"", "", 10, "k1 k2 k3 k5 k6 "},
		{"aé", "", 10, "k6 "},
		{"c", "", 10, ""},
	} {
		if got := ids(c.prefix, c.after, c.limit); got != c.want {
			t.Errorf("ScopeKeysWithPrefix(%q, after %q, %d) = %q, want %q", c.prefix, c.after, c.limit, got, c.want)
		}
	}
	if err := w.SwapScopeKeyWrap(ctx, "ta", "k2", []byte("w2"), 2, []byte("n2")); err != nil {
		t.Fatal(err)
	}
	got, err := s.ScopeKey(ctx, "ta", "ab2", "tagging")
	if err != nil || got.KEKVersion != 2 || string(got.Wrapped) != "n2" {
		t.Errorf("after swap = %+v, %v", got, err)
	}
	wantKind(t, "stale swap", w.SwapScopeKeyWrap(ctx, "ta", "k2", []byte("w2"), 2, []byte("x")), fault.Conflict)
	wantKind(t, "cross-tenant swap", w.SwapScopeKeyWrap(ctx, "tb", "k2", []byte("n2"), 2, []byte("x")), fault.Conflict)
	wantKind(t, "missing key swap", w.SwapScopeKeyWrap(ctx, "ta", "nope", []byte("n2"), 2, []byte("x")), fault.Conflict)
	if got, _ := s.ScopeKey(ctx, "ta", "ab2", "tagging"); string(got.Wrapped) != "n2" {
		t.Errorf("a refused swap changed the key: %q", got.Wrapped)
	}
	// Several swaps in one call: stale, cross-tenant and missing ones are skipped.
	done, err := w.SwapScopeKeyWraps(ctx, "ta", []store.WrapSwap{
		{ID: "k1", Old: []byte("w1"), Version: 3, Wrapped: []byte("b1")},
		{ID: "k2", Old: []byte("w2"), Version: 3, Wrapped: []byte("stale")},
		{ID: "k4", Old: []byte("w4"), Version: 3, Wrapped: []byte("other tenant")},
		{ID: "nope", Old: []byte("x"), Version: 3, Wrapped: []byte("missing")},
		{ID: "k3", Old: []byte("w3"), Version: 3, Wrapped: []byte("b3")},
	})
	if err != nil || fmt.Sprint(done) != "[true false false false true]" {
		t.Errorf("SwapScopeKeyWraps = %v, %v; want [true false false false true]", done, err)
	}
	for _, c := range []struct{ tenant, subject, purpose, want string }{
		{"ta", "aa1", "", "b1"}, {"ta", "ab2", "tagging", "n2"}, {"ta", "b3", "", "b3"}, {"tb", "aa4", "", "w4"},
	} {
		if got, _ := s.ScopeKey(ctx, c.tenant, c.subject, c.purpose); string(got.Wrapped) != c.want {
			t.Errorf("after batch %s/%s: %q, want %q", c.tenant, c.subject, got.Wrapped, c.want)
		}
	}
}
