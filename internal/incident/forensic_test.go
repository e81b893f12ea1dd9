package incident

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

type testSigner struct{ priv ed25519.PrivateKey }

func (s testSigner) Sign(m []byte) ([]byte, error) { return ed25519.Sign(s.priv, m), nil }
func (s testSigner) PublicKey() ed25519.PublicKey  { return s.priv.Public().(ed25519.PublicKey) }
func seeded(seed string) testSigner                { return testSigner{ed25519.NewKeyFromSeed([]byte(seed))} }
func base64Std(b []byte) string                    { return base64.StdEncoding.EncodeToString(b) }

func buildBundle(t *testing.T) (Bundle, testSigner, time.Time) {
	t.Helper()
	st, s, clk := seedChain(t)
	b, err := Export(context.Background(), st, s, time.Date(2026, 11, 22, 10, 3, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 9, 0, 0, time.UTC), clk.Now(), []byte(`{"addr":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	return b, s, clk.Now()
}

// seedChain writes 12 audit entries, one a minute from 10:00, of tenants
// ten_a and ten_b in turn, with a checkpoint every 3, and sets two kill
// switches.
func seedChain(t *testing.T) (*sqlite.Store, testSigner, *clock.Fake) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitetest.Open(t, "migrated", filepath.Join(t.TempDir(), "obscura.db"), sqlite.Open)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	s := seeded("forensic bundle test signing key")
	l := audit.New(st, s, clk, slog.New(slog.NewTextHandler(io.Discard, nil)), audit.Options{CheckpointEvery: 3})
	for i := range 12 {
		if err := l.Append(ctx, audit.Entry{Action: "put-upload", Tenant: []string{"ten_a", "ten_b"}[i%2], Result: audit.ResultOK, Bytes: int64(i)}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	l.Close()
	st.SetKillSwitch(ctx, "feature:uploads", true, clk.Now())
	st.SetKillSwitch(ctx, "tenant:ten_b", true, clk.Now())
	return st, s, clk
}

// TestTenantBundle: a tenant's bundle shows its own entries, only links
// of the others, and still verifies from end to end; tampering with a
// link, a foreign entry shown in full, or a link in an installation
// bundle is caught.
func TestTenantBundle(t *testing.T) {
	st, s, clk := seedChain(t)
	ctx := context.Background()
	from, to := time.Date(2026, 11, 22, 10, 3, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 9, 0, 0, time.UTC)
	b, err := ExportTenant(ctx, st, s, "ten_a", from, to, clk.Now(), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(b)
	if strings.Contains(string(raw), "ten_b") {
		t.Errorf("ten_a's bundle names ten_b: %s", raw)
	}
	full, links := 0, 0
	for _, en := range b.Entries {
		if _, ok := redacted(en); ok {
			links++
		} else {
			full++
		}
	}
	if full != 3 || links != 3 || len(b.Checkpoints) != 2 || len(b.KillSwitches) != 1 || b.KillSwitches[0] != "feature:uploads" {
		t.Fatalf("tenant bundle: %d full, %d links, %d checkpoints, switches %v", full, links, len(b.Checkpoints), b.KillSwitches)
	}
	parsed, err := ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBundle(parsed, s.PublicKey()); err != nil {
		t.Fatalf("valid tenant bundle: %v", err)
	}
	resign := func(b *Bundle) {
		b.Signature = ""
		sig, _ := s.Sign(b.signingBytes())
		b.Signature = base64Std(sig)
	}
	installation, _, _ := buildBundle(t)
	tests := []struct {
		name   string
		mutate func(b *Bundle)
	}{
		{"a link's hash changed", func(b *Bundle) {
			for i, en := range b.Entries {
				if l, ok := redacted(en); ok {
					l.Hash = strings.Repeat("0", 64)
					b.Entries[i], _ = json.Marshal(l)
					break
				}
			}
			resign(b)
		}},
		{"another tenant's entry in full", func(b *Bundle) {
			b.Entries = installation.Entries
			resign(b)
		}},
		{"a link in an installation bundle", func(b *Bundle) {
			b.Tenant = ""
			resign(b)
		}},
		{"a link with a field more", func(b *Bundle) {
			for i, en := range b.Entries {
				if _, ok := redacted(en); ok {
					b.Entries[i] = json.RawMessage(strings.Replace(string(en), `{"seq"`, `{"tenant":"x","seq"`, 1))
					break
				}
			}
			resign(b)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := ParseBundle(raw)
			tt.mutate(&c)
			if _, err := VerifyBundle(c, s.PublicKey()); !errors.Is(err, fault.Invalid) {
				t.Errorf("err = %v, want invalid", err)
			}
		})
	}
	if _, err := ExportTenant(ctx, st, s, "", from, to, clk.Now(), nil); !errors.Is(err, fault.Invalid) {
		t.Errorf("tenant bundle without a tenant: %v", err)
	}
}

func TestForensicBundle(t *testing.T) {
	b, s, _ := buildBundle(t)
	if len(b.Entries) != 6 || b.Anchor == "" || len(b.Checkpoints) != 2 || b.KillSwitches[0] != "feature:uploads" {
		t.Fatalf("bundle: %d entries, anchor %q, %d checkpoints, switches %v", len(b.Entries), b.Anchor, len(b.Checkpoints), b.KillSwitches)
	}
	raw, _ := json.Marshal(b)
	parsed, err := ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBundle(parsed, s.PublicKey()); err != nil {
		t.Fatalf("valid bundle: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(b *Bundle) ed25519.PublicKey
		kind   fault.Kind
	}{
		{"entry modified", func(b *Bundle) ed25519.PublicKey {
			b.Entries[2] = json.RawMessage(strings.Replace(string(b.Entries[2]), `"bytes":5`, `"bytes":50`, 1))
			return s.PublicKey()
		}, fault.Permission},
		{"entry dropped", func(b *Bundle) ed25519.PublicKey {
			b.Entries = append(b.Entries[:1], b.Entries[2:]...)
			return s.PublicKey()
		}, fault.Permission},
		{"re-signed by another key, pinned", func(b *Bundle) ed25519.PublicKey {
			o := seeded("an attacker's own signing key 12")
			b.PublicKey = base64Std(o.PublicKey())
			b.Signature = ""
			sig, _ := o.Sign(b.signingBytes())
			b.Signature = base64Std(sig)
			return s.PublicKey()
		}, fault.Permission},
		{"entry dropped and re-signed, unpinned", func(b *Bundle) ed25519.PublicKey {
			o := seeded("an attacker's own signing key 12")
			b.Entries = append(b.Entries[:1], b.Entries[2:]...)
			b.PublicKey, b.Signature = base64Std(o.PublicKey()), ""
			sig, _ := o.Sign(b.signingBytes())
			b.Signature = base64Std(sig)
			return nil
		}, fault.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := ParseBundle(raw)
			pin := tt.mutate(&c)
			if _, err := VerifyBundle(c, pin); !errors.Is(err, tt.kind) {
				t.Errorf("err = %v, want %v", err, tt.kind)
			}
		})
	}
	for _, bad := range []string{"", "{}", `{"format":"obscura-forensic-v1","surprise":1}`, "[1,2]"} {
		if _, err := ParseBundle([]byte(bad)); err == nil {
			t.Errorf("ParseBundle(%q) accepted", bad)
		}
	}
}

func FuzzVerifyBundle(f *testing.F) {
	f.Add([]byte(`{"format":"obscura-forensic-v1","entries":[],"checkpoints":[],"kill_switches":[]}`))
	f.Add([]byte(`{"format":"obscura-forensic-v1","tenant":"ten_a","entries":[{"seq":1,"hash":"` + strings.Repeat("ab", 32) + `"},{"v":1,"seq":2,"time":"2026-11-22T10:00:00Z","action":"x","tenant":"ten_a","result":"ok","prev_hash":"` + strings.Repeat("ab", 32) + `"}],"checkpoints":[],"kill_switches":[]}`))
	pub := seeded("forensic bundle test signing key").PublicKey()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		// Forged bundles never verify against the pinned key.
		if _, err := VerifyBundle(b, pub); err == nil {
			t.Fatal("a fuzzed bundle verified against the pinned key")
		}
	})
}

// TestBundleWithEscapedV2Entry: an audit-v2 entry whose strings hold
// characters Go's encoder escapes when it writes the bundle (<, >, &,
// U+2028) still verifies after the bundle is written as a file and read
// back (regression: the raw, escaped form was compared as if canonical).
func TestBundleWithEscapedV2Entry(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitetest.Open(t, "migrated", filepath.Join(t.TempDir(), "obscura.db"), sqlite.Open)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	s := seeded("forensic bundle test signing key")
	l := audit.New(st, s, clk, slog.New(slog.NewTextHandler(io.Discard, nil)), audit.Options{CheckpointEvery: 2})
	for _, d := range []string{"a<b>&c", "line\u2028sep é"} {
		if err := l.Append(ctx, audit.Entry{Action: "x", Tenant: "ten_a", Result: audit.ResultOK, Detail: d}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	l.Close()
	b, err := Export(ctx, st, s, clk.Now().Add(-time.Hour), clk.Now(), clk.Now(), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	file, _ := json.MarshalIndent(b, "", "  ")
	if !strings.Contains(string(file), `a\u003cb\u003e\u0026c`) {
		t.Fatalf("bundle file does not escape as expected: %s", file)
	}
	back, err := ParseBundle(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBundle(back, nil); err != nil {
		t.Fatalf("bundle with escaped v2 entries: %v", err)
	}
	// Editing an escaped character is still caught.
	bad, _ := ParseBundle([]byte(strings.Replace(string(file), `a\u003cb`, `a\u003eb`, 1)))
	if _, err := VerifyBundle(bad, nil); err == nil {
		t.Error("edited entry verified")
	}
}
