package keyring

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring/keyringtest"
	"github.com/obscuraproject/obscura/internal/keyring/rootkey"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	kr   *Keyring
	st   *sqlite.Store
	root *keyringtest.SwitchableRoot
	clk  *clock.Fake
	dir  string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	// The root key first: it is generated only into an empty data dir.
	local, err := rootkey.LocalRoot(dir, "", quiet)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlitetest.Open(t, "migrated", filepath.Join(dir, "obscura.db"), sqlite.Open)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	root := &keyringtest.SwitchableRoot{AEAD: local}
	clk := clock.NewFake(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	kr, err := New(ctx, root, st, clk, quiet, Options{CacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ta", "tb"} {
		if err := st.CreateTenant(ctx, store.Tenant{ID: id, Name: id, CreatedAt: clk.Now()}, store.APIKey{ID: id + "k", TenantID: id, SecretHash: []byte{1}, CreatedAt: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := kr.InitTenant(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{kr: kr, st: st, root: root, clk: clk, dir: dir}
}

func TestHashID(t *testing.T) {
	f := newFixture(t)
	a := f.kr.HashID("subject", "alice")
	if a != f.kr.HashID("subject", "alice") {
		t.Error("HashID is not deterministic")
	}
	if a == f.kr.HashID("api-key", "alice") {
		t.Error("domains are not separated")
	}
	if a == f.kr.HashID("subject", "alice2") || a == "alice" || len(a) != 32 {
		t.Errorf("HashID = %q", a)
	}
	// A second keyring over the same store and root hashes the same way.
	kr2, err := New(context.Background(), f.root, f.st, f.clk, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if kr2.HashID("subject", "alice") != a {
		t.Error("hash changed across keyring instances")
	}
}

func TestWrongMasterKeyRefusesToStart(t *testing.T) {
	f := newFixture(t)
	other, err := rootkey.LocalRoot(t.TempDir(), rootkey.GenerateMasterKey(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), other, f.st, f.clk, quiet, Options{})
	if !errors.Is(err, fault.Unavailable) {
		t.Fatalf("New with wrong master key: %v, want Unavailable", err)
	}
}

func TestScopeKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := Scope{Tenant: "ta", Subject: f.kr.HashID("subject", "alice"), Purpose: "face_recognition"}
	id, a, err := f.kr.ScopeKey(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := a.Encrypt([]byte("dek"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	id2, _, err := f.kr.ScopeKey(ctx, s)
	if err != nil || id2 != id {
		t.Fatalf("second ScopeKey id = %s (%v), want %s", id2, err, id)
	}
	b, err := f.kr.ScopeKeyByID(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Decrypt(ct, []byte("ad")); err != nil || string(pt) != "dek" {
		t.Fatalf("decrypt = %q, %v", pt, err)
	}
	// The same subject and purpose in another tenant is another key.
	sb := s
	sb.Tenant = "tb"
	idB, aB, err := f.kr.ScopeKey(ctx, sb)
	if err != nil || idB == id {
		t.Fatalf("tenant B scope key %s, %v", idB, err)
	}
	if _, err := aB.Decrypt(ct, []byte("ad")); err == nil {
		t.Error("tenant B's scope key opened tenant A's wrapped DEK")
	}
	if _, err := f.kr.ScopeKeyByID(ctx, sb, id); !errors.Is(err, ErrKeyDestroyed) {
		t.Errorf("tenant B asking for A's key id: %v", err)
	}
	// Shred the purpose key; the subject's other keys survive.
	other := Scope{Tenant: "ta", Subject: s.Subject, Purpose: "tagging"}
	otherID, _, _ := f.kr.ScopeKey(ctx, other)
	if n, err := f.kr.Destroy(ctx, s); err != nil || n != 1 {
		t.Fatalf("Destroy = %d, %v", n, err)
	}
	if _, err := f.kr.ScopeKeyByID(ctx, s, id); !errors.Is(err, ErrKeyDestroyed) {
		t.Errorf("after destroy: %v, want ErrKeyDestroyed", err)
	}
	// A new key for the same scope does not bring old data back.
	if newID, _, _ := f.kr.ScopeKey(ctx, s); newID == id {
		t.Error("re-created scope key has the destroyed key's id")
	}
	if _, err := f.kr.ScopeKeyByID(ctx, s, id); !errors.Is(err, ErrKeyDestroyed) {
		t.Errorf("old id after re-create: %v, want ErrKeyDestroyed", err)
	}
	if _, err := f.kr.ScopeKeyByID(ctx, other, otherID); err != nil {
		t.Errorf("unrelated purpose key lost: %v", err)
	}
}

func TestRotateRewrapRevoke(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s1 := Scope{Tenant: "ta", Subject: "s1"}
	id1, a1, _ := f.kr.ScopeKey(ctx, s1)
	ct1, _ := a1.Encrypt([]byte("one"), nil)

	v, err := f.kr.Rotate(ctx, "ta")
	if err != nil || v != 2 {
		t.Fatalf("Rotate = %d, %v", v, err)
	}
	s2 := Scope{Tenant: "ta", Subject: "s2"}
	f.kr.ScopeKey(ctx, s2)
	if rec, _ := f.st.ScopeKey(ctx, "ta", "s2", ""); rec.KEKVersion != 2 {
		t.Errorf("new scope key under v%d, want v2", rec.KEKVersion)
	}
	if rec, _ := f.st.ScopeKey(ctx, "ta", "s1", ""); rec.KEKVersion != 1 {
		t.Errorf("old scope key moved to v%d before rewrap", rec.KEKVersion)
	}
	// Old data still decrypts after rotation.
	if a, err := f.kr.ScopeKeyByID(ctx, s1, id1); err != nil {
		t.Fatal(err)
	} else if pt, err := a.Decrypt(ct1, nil); err != nil || string(pt) != "one" {
		t.Fatalf("old data after rotate: %q %v", pt, err)
	}
	// The primary version cannot be revoked.
	if err := f.kr.RevokeKEK(ctx, "ta", 2); !errors.Is(err, fault.Conflict) {
		t.Errorf("revoke primary: %v, want Conflict", err)
	}
	// Revoking v1 before rewrap makes s1 fail closed with a typed error.
	if err := f.kr.RevokeKEK(ctx, "ta", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.kr.ScopeKeyByID(ctx, s1, id1); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("read under revoked v1: %v, want ErrKeyRevoked", err)
	}
	if _, err := f.kr.Rewrap(ctx, "ta", nil); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("rewrap from revoked version: %v, want ErrKeyRevoked", err)
	}
	// Restore v1 (operator un-revoke path is the store), rewrap, then revoke for good.
	if err := f.st.SetKEKState(ctx, "ta", 1, store.KEKActive); err != nil {
		t.Fatal(err)
	}
	var calls int
	n, err := f.kr.Rewrap(ctx, "ta", func(done, total int) { calls++ })
	if err != nil || n != 1 || calls != 1 {
		t.Fatalf("Rewrap = %d, %v (progress calls %d)", n, err, calls)
	}
	if n, _ := f.kr.Rewrap(ctx, "ta", nil); n != 0 {
		t.Errorf("second rewrap did %d, want 0 (idempotent)", n)
	}
	if err := f.kr.SetMinDecryptionVersion(ctx, "ta", 2); err != nil {
		t.Fatal(err)
	}
	a, err := f.kr.ScopeKeyByID(ctx, s1, id1)
	if err != nil {
		t.Fatalf("after rewrap and min version 2: %v", err)
	}
	if pt, err := a.Decrypt(ct1, nil); err != nil || string(pt) != "one" {
		t.Fatalf("data after rewrap: %q %v", pt, err)
	}
	if err := f.kr.SetMinDecryptionVersion(ctx, "ta", 3); !errors.Is(err, fault.Invalid) {
		t.Errorf("min version above primary: %v, want Invalid", err)
	}
	vs, _ := f.kr.Versions(ctx, "ta")
	if len(vs) != 2 || vs[0].Usable || !vs[1].Primary || !vs[1].Usable {
		t.Errorf("Versions = %+v", vs)
	}
	// Tenant B is untouched by A's rotation.
	if vsB, _ := f.kr.Versions(ctx, "tb"); len(vsB) != 1 {
		t.Errorf("tenant B has %d versions", len(vsB))
	}
}

func TestRootDownFailsClosed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := Scope{Tenant: "ta", Subject: "s1"}
	id, _, err := f.kr.ScopeKey(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	f.root.Down = true
	if err := f.kr.Ping(ctx); !errors.Is(err, fault.Unavailable) {
		t.Errorf("Ping with root down: %v", err)
	}
	// Within the cache TTL the decrypted KEK is still in memory.
	if _, err := f.kr.ScopeKeyByID(ctx, s, id); err != nil {
		t.Errorf("cached KEK: %v", err)
	}
	f.clk.Advance(2 * time.Minute)
	if _, err := f.kr.ScopeKeyByID(ctx, s, id); !errors.Is(err, fault.Unavailable) {
		t.Errorf("after cache TTL with root down: %v, want Unavailable", err)
	}
	if _, err := f.kr.Rotate(ctx, "ta"); !errors.Is(err, fault.Unavailable) {
		t.Errorf("rotate with root down: %v, want Unavailable", err)
	}
	f.root.Down = false
	if _, err := f.kr.ScopeKeyByID(ctx, s, id); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

func TestLocalRoot(t *testing.T) {
	dir := t.TempDir()
	if _, err := rootkey.LocalRoot(dir, "", quiet); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, rootkey.MasterKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file mode = %v, %v", fi.Mode().Perm(), err)
	}
	a1, _ := rootkey.LocalRoot(dir, "", quiet)
	a2, _ := rootkey.LocalRoot(dir, "", quiet)
	ct, _ := a1.Encrypt([]byte("x"), nil)
	if _, err := a2.Decrypt(ct, nil); err != nil {
		t.Error("second open used a different key")
	}
	tests := []struct {
		name string
		prep func(dir string) string
		kind fault.Kind
	}{
		{"env not base64", func(string) string { return "!!!" }, fault.Invalid},
		{"env short key", func(string) string { return "c2hvcnQ=" }, fault.Invalid},
		{"file world readable", func(d string) string {
			os.WriteFile(filepath.Join(d, rootkey.MasterKeyFile), []byte(rootkey.GenerateMasterKey()), 0o644)
			return ""
		}, fault.Permission},
		{"file garbage", func(d string) string {
			os.WriteFile(filepath.Join(d, rootkey.MasterKeyFile), []byte("garbage"), 0o600)
			return ""
		}, fault.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			env := tt.prep(d)
			_, err := rootkey.LocalRoot(d, env, quiet)
			if !errors.Is(err, tt.kind) {
				t.Errorf("err = %v, want %v", err, tt.kind)
			}
		})
	}
}

// A data dir that holds data but lost its master key is refused, naming
// the file, and no key is generated; an empty or missing dir gets one.
func TestLocalRootMissingKey(t *testing.T) {
	tests := []struct {
		name    string
		prep    func(dir string)
		wantErr bool
	}{
		{"missing dir", func(d string) { os.Remove(d) }, false},
		{"empty dir", func(string) {}, false},
		{"only lost+found and a torn key temp file", func(d string) {
			os.Mkdir(filepath.Join(d, "lost+found"), 0o700)
			os.WriteFile(filepath.Join(d, ".master.key-123"), []byte("x"), 0o600)
		}, false},
		{"only the compiled-plugin cache", func(d string) { os.MkdirAll(filepath.Join(d, "plugin-cache", "x"), 0o700) }, false},
		{"database without key", func(d string) { os.WriteFile(filepath.Join(d, "obscura.db"), []byte("x"), 0o600) }, true},
		{"blobs without key", func(d string) { os.MkdirAll(filepath.Join(d, "blobs", "objects"), 0o700) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			os.Mkdir(dir, 0o700)
			tt.prep(dir)
			_, err := rootkey.LocalRoot(dir, "", quiet)
			_, statErr := os.Stat(filepath.Join(dir, rootkey.MasterKeyFile))
			if tt.wantErr {
				if !errors.Is(err, rootkey.ErrMasterKeyMissing) || !strings.Contains(err.Error(), filepath.Join(dir, rootkey.MasterKeyFile)) {
					t.Errorf("err = %v, want rootkey.ErrMasterKeyMissing naming the file", err)
				}
				if statErr == nil {
					t.Error("a master key was generated into a data dir that holds data")
				}
				return
			}
			if err != nil || statErr != nil {
				t.Errorf("rootkey.LocalRoot = %v, key file: %v; want a new key", err, statErr)
			}
		})
	}
}
