package tenant

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Test doubles: the store and key service are exercised for real by the
// CLI's script tests (tenant create) and e2e.
type fakeRecords struct {
	t   store.Tenant
	key store.APIKey
	err error
}

func (f *fakeRecords) CreateTenant(_ context.Context, t store.Tenant, k store.APIKey) error {
	f.t, f.key = t, k
	return f.err
}

type fakeKeys struct{ inited []string }

func (f *fakeKeys) HashID(domain, id string) string { return domain + ":" + id }
func (f *fakeKeys) InitTenant(_ context.Context, t string) error {
	f.inited = append(f.inited, t)
	return nil
}

func TestCreate(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, give string
		ok         bool
	}{
		{"plain", "Photo App", true},
		{"trimmed", "  Photo App  ", true},
		{"unicode", "Fotografía ✓", true},
		{"empty", "", false},
		{"spaces only", "   ", false},
		{"too long", strings.Repeat("x", MaxName+1), false},
		{"not utf-8", "a\xffb", false},
		// Regression: control characters were accepted.
		{"newline", "App\nforged log line", false},
		{"carriage return", "A\rpp", false},
		{"nul", "App\x00", false},
		{"escape", "App\x1b[31m", false},
		{"c1", "A\u0085pp", false},
		{"bidi override", "App\u202egnp.exe", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, ks := &fakeRecords{}, &fakeKeys{}
			tn, plain, err := Create(context.Background(), st, ks, tt.give, now)
			if !tt.ok {
				if !errors.Is(err, fault.Invalid) || st.t.ID != "" || len(ks.inited) != 0 {
					t.Fatalf("Create(%q) = %v; stored %+v", tt.give, err, st.t)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tn.Name != strings.TrimSpace(tt.give) || !regexp.MustCompile(`^ten_[a-z2-7]{20}$`).MatchString(tn.ID) || st.t != tn {
				t.Errorf("tenant %+v, stored %+v", tn, st.t)
			}
			if st.key.TenantID != tn.ID || len(st.key.Scopes) != 3 || !strings.HasPrefix(plain, "obs_") || strings.Contains(string(st.key.SecretHash), plain) {
				t.Errorf("first key %+v (plain %q)", st.key, plain)
			}
			if len(ks.inited) != 1 || ks.inited[0] != tn.ID {
				t.Errorf("key-encryption key made for %v", ks.inited)
			}
		})
	}
	if a, b := NewID(), NewID(); a == b {
		t.Error("two tenant ids alike")
	}
}
