package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// fakeHasher is a unit-test double; the product uses the keyring's PRF.
type fakeHasher struct{}

func (fakeHasher) HashID(domain, id string) string { return "h(" + domain + "," + id + ")" }

type memKeys struct {
	keys    map[string]store.APIKey
	tenants map[string]bool
}

func (m memKeys) APIKeyForAuth(_ context.Context, id string) (store.APIKey, error) {
	k, ok := m.keys[id]
	if !ok {
		return store.APIKey{}, fault.New(fault.NotFound, "not found")
	}
	return k, nil
}

func (m memKeys) Tenant(_ context.Context, id string) (store.Tenant, error) {
	if !m.tenants[id] {
		return store.Tenant{}, fault.New(fault.NotFound, "not found")
	}
	return store.Tenant{ID: id}, nil
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	h := fakeHasher{}
	good, rec := Mint(h, "t1", []Scope{ScopeIngest, ScopeAdmin, ScopeIngest}, now)
	revokedKey, revoked := Mint(h, "t1", []Scope{ScopeAdmin}, now)
	revoked.RevokedAt = now
	orphanKey, orphan := Mint(h, "gone", []Scope{ScopeAdmin}, now)
	m := memKeys{keys: map[string]store.APIKey{rec.ID: rec, revoked.ID: revoked, orphan.ID: orphan}, tenants: map[string]bool{"t1": true}}
	a := New(m, h, clock.System{})

	if strings.Contains(string(rec.SecretHash), good[len(good)-52:]) && !strings.HasPrefix(string(rec.SecretHash), "h(") {
		t.Fatal("secret stored in the clear")
	}
	if got := rec.Scopes; len(got) != 2 || got[0] != "admin" || got[1] != "ingest" {
		t.Errorf("scopes not sorted and deduplicated: %v", got)
	}
	// Flip one character of the secret.
	last := good[len(good)-1]
	flip := byte('a')
	if last == 'a' {
		flip = 'b'
	}
	tampered := good[:len(good)-1] + string(flip)
	tests := []struct {
		name   string
		header string
		ok     bool
	}{
		{"valid", "Bearer " + good, true},
		{"no header", "", false},
		{"basic scheme", "Basic " + good, false},
		{"lowercase bearer", "bearer " + good, false},
		{"tampered secret", "Bearer " + tampered, false},
		{"unknown id", "Bearer obs_" + strings.Repeat("a", 20) + "_" + strings.Repeat("b", 52), false},
		{"revoked", "Bearer " + revokedKey, false},
		{"tenant gone", "Bearer " + orphanKey, false},
		{"truncated", "Bearer " + good[:len(good)-3], false},
		{"not base32", "Bearer obs_" + strings.Repeat("!", 20) + "_" + strings.Repeat("b", 52), false},
		{"huge", "Bearer " + strings.Repeat("x", 10000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tt.header)
			if tt.ok {
				if err != nil || p.TenantID != "t1" || p.KeyID != rec.ID || !p.Has(ScopeAdmin) || p.Has(ScopeAnalyze) {
					t.Fatalf("Authenticate = %+v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("err = %v, want ErrUnauthenticated", err)
			}
			if strings.Contains(err.Error(), "obs_") {
				t.Error("error echoes the presented key")
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	for _, s := range []string{"admin", "analyze", "ingest"} {
		if _, err := ParseScope(s); err != nil {
			t.Errorf("ParseScope(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "Admin", "root", "admin "} {
		if _, err := ParseScope(s); !errors.Is(err, fault.Invalid) {
			t.Errorf("ParseScope(%q) = %v, want Invalid", s, err)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	k, _ := Mint(fakeHasher{}, "t", []Scope{ScopeAdmin}, time.Now())
	f.Add(k)
	f.Add("obs_")
	f.Add("obs_" + strings.Repeat("a", 20) + "_" + strings.Repeat("b", 52))
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, err := ParseKey(s)
		if err != nil {
			return
		}
		// Accepted keys round-trip exactly.
		if got := "obs_" + strings.TrimPrefix(id, "key_") + "_" + secret; got != s {
			t.Fatalf("ParseKey(%q) round-trips to %q", s, got)
		}
	})
}
