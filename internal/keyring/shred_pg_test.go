package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/keyring/rootkey"
	"github.com/obscuraproject/obscura/internal/keyring/shreddir"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/postgres"
	"github.com/obscuraproject/obscura/internal/store/postgres/pgtest"
)

// TestMain stops the Postgres test cluster if a test started one (only
// TestShredFinalOnPostgres does).
func TestMain(m *testing.M) { pgtest.Main(m) }

// scanDir returns every file under dir as one byte slice per file.
func scanDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil // files Postgres removes while we walk
			}
			return err
		}
		if e.IsDir() || !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil {
			out[p] = b
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// v2Candidates finds every byte string in the files that looks like a
// keys-v2 wrapping: the magic, a valid label, and the fixed-size KEK
// ciphertext after it (a 32-byte key under two AES-GCM layers is
// 5+12+(12+32+16)+16 = 93 bytes).
func v2Candidates(files map[string][]byte) [][]byte {
	const outer = 5 + 12 + 12 + scopeKeySize + 16 + 16
	var out [][]byte
	for _, b := range files {
		for i := 0; ; {
			j := bytes.Index(b[i:], []byte(scopeV2Magic))
			if j < 0 {
				break
			}
			at := i + j
			end := at + len(scopeV2Magic) + 1 + 19 + outer
			if end <= len(b) {
				if _, _, ok, err := parseV2(b[at:end]); ok && err == nil {
					out = append(out, bytes.Clone(b[at:end]))
				}
			}
			i = at + 1
		}
	}
	return out
}

// TestShredFinalOnPostgres is the proof that crypto-shredding is final on
// Postgres. It erases a subject by the documented procedure (Keyring.Destroy
// with purpose "*", what `obscura subject erase` and every forget path call)
// on a real Postgres cluster, checkpoints, and scans every file of the data
// directory (base/, global/, pg_wal/…). Postgres keeps the deleted rows
// (dead tuples, WAL), so the wrapped key may still be found; the test shows
// that no candidate found opens with what the key service still holds, and
// that the scope key's plaintext is nowhere. The same scan before erasure
// (negative control) finds the wrapping and opens it, so the scan can fail.
func TestShredFinalOnPostgres(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mk := make([]byte, 32)
	rand.Read(mk)
	root, err := subtle.NewAESGCM(mk)
	if err != nil {
		t.Fatal(err)
	}
	sdDir := filepath.Join(t.TempDir(), "shred")
	sd, err := shreddir.Open(sdDir)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	kr, err := New(ctx, root, st, clk, quiet, Options{CacheTTL: time.Minute, Shred: sd})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, store.Tenant{ID: "tpg", Name: "pg", CreatedAt: clk.Now()},
		store.APIKey{ID: "kpg", TenantID: "tpg", SecretHash: []byte{1}, CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := kr.InitTenant(ctx, "tpg"); err != nil {
		t.Fatal(err)
	}
	gone := kr.SubjectHash("erased subject")
	// A survivor in the same shred bucket (the rotation re-wraps it).
	var kept string
	for i := 0; kept == ""; i++ {
		if h := kr.SubjectHash(string(rune('a'+i%26)) + time.Duration(i).String()); shredBucket(h) == shredBucket(gone) && h != gone {
			kept = h
		}
	}
	type key struct {
		s     Scope
		id    string
		plain []byte
		row   store.ScopeKey
		ct    []byte
	}
	var keys []key
	for _, s := range []Scope{{"tpg", gone, ""}, {"tpg", gone, "face_recognition"}, {"tpg", kept, ""}} {
		id, a, err := kr.ScopeKey(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := a.Encrypt([]byte("photo data key"), []byte(id))
		if err != nil {
			t.Fatal(err)
		}
		row, err := st.ScopeKey(ctx, s.Tenant, s.Subject, s.Purpose)
		if err != nil {
			t.Fatal(err)
		}
		kek, err := kr.kek(ctx, "tpg", row.KEKVersion)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := kr.unwrap(ctx, s, row, kek)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key{s, id, plain, row, ct})
	}
	// opens reports whether any candidate opens as the given key with what
	// the key service holds now.
	opens := func(cands [][]byte, k key) bool {
		for _, c := range cands {
			if _, err := kr.openScope(ctx, k.s, store.ScopeKey{ID: k.id, TenantID: "tpg", SubjectHash: k.s.Subject,
				Purpose: k.s.Purpose, KEKVersion: k.row.KEKVersion, Wrapped: c}); err == nil {
				return true
			}
		}
		return false
	}
	dataDir := pgtest.DataDir(t)

	// Negative control: before erasure the scan finds the wrapped keys and
	// they open.
	pgtest.Checkpoint(t, url)
	files := scanDir(t, dataDir)
	cands := v2Candidates(files)
	for _, k := range keys {
		found := false
		for _, c := range cands {
			found = found || bytes.Equal(c, k.row.Wrapped)
		}
		if !found || !opens(cands, k) {
			t.Fatalf("control: scan of %s found the wrapping of %s/%q: %v, opens: %v (the scan cannot see rows)", dataDir, k.s.Subject[:4], k.s.Purpose, found, opens(cands, k))
		}
	}
	t.Logf("control: %d files, %d keys-v2 candidates", len(files), len(cands))

	if n, err := kr.Destroy(ctx, Scope{Tenant: "tpg", Subject: gone, Purpose: "*"}); err != nil || n != 2 {
		t.Fatalf("Destroy = %d, %v", n, err)
	}
	pgtest.Checkpoint(t, url)
	files = scanDir(t, dataDir)
	for name, b := range scanDir(t, sdDir) {
		files[name] = b // and the shred key store: overwritten keys must not be there either
	}
	cands = v2Candidates(files)
	stillThere := 0
	for _, k := range keys[:2] {
		for _, c := range cands {
			if bytes.Equal(c, k.row.Wrapped) {
				stillThere++
			}
		}
		if opens(cands, k) {
			t.Errorf("after erasure a copy on disk still opens as %q's key", k.s.Purpose)
		}
		for name, b := range files {
			if bytes.Contains(b, k.plain) {
				t.Errorf("plaintext scope key of %q found in %s", k.s.Purpose, name)
			}
		}
		if _, err := kr.ScopeKeyByID(ctx, k.s, k.id); !errors.Is(err, ErrKeyDestroyed) {
			t.Errorf("erased key: %v, want ErrKeyDestroyed", err)
		}
	}
	// Every candidate under an old shred key fails; only current rows open.
	cur, err := kr.shredLabels(ctx, "tpg", shredBucket(gone))
	if err != nil || len(cur) != 1 {
		t.Fatalf("shred keys after erasure %v, %v", cur, err)
	}
	for _, c := range cands {
		label, _, _, _ := parseV2(c)
		if label == cur[0] {
			continue
		}
		if _, err := kr.shredAEAD(ctx, "tpg", shredBucket(gone), label); !errors.Is(err, ErrKeyDestroyed) {
			t.Errorf("shred key %s of a candidate on disk is still available: %v", label, err)
		}
	}
	t.Logf("after erasure: %d keys-v2 candidates on disk, %d of them copies of the erased rows (dead tuples/WAL), none opens", len(cands), stillThere)
	// The survivor still decrypts its data.
	a, err := kr.ScopeKeyByID(ctx, keys[2].s, keys[2].id)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := a.Decrypt(keys[2].ct, []byte(keys[2].id)); err != nil || string(pt) != "photo data key" {
		t.Errorf("survivor: %q, %v", pt, err)
	}
}

// TestV1NotFinalOnPostgres shows why keys-v2 exists: without shred keys, a
// scope key deleted from Postgres is still on disk after a checkpoint and
// still opens with the KEK the key service holds.
func TestV1NotFinalOnPostgres(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mk := make([]byte, 32)
	rand.Read(mk)
	root, _ := subtle.NewAESGCM(mk)
	clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	kr, err := New(ctx, root, st, clk, quiet, Options{CacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, store.Tenant{ID: "tv1", Name: "v1", CreatedAt: clk.Now()},
		store.APIKey{ID: "kv1", TenantID: "tv1", SecretHash: []byte{1}, CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	s := Scope{Tenant: "tv1", Subject: kr.SubjectHash("someone")}
	id, _, err := kr.ScopeKey(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	row, err := st.ScopeKey(ctx, s.Tenant, s.Subject, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Destroy(ctx, Scope{Tenant: s.Tenant, Subject: s.Subject, Purpose: "*"}); err != nil {
		t.Fatal(err)
	}
	pgtest.Checkpoint(t, url)
	found := false
	for _, b := range scanDir(t, pgtest.DataDir(t)) {
		found = found || bytes.Contains(b, row.Wrapped)
	}
	if !found {
		t.Skip("Postgres already overwrote the dead tuple (a vacuum ran); nothing to show")
	}
	if _, err := kr.openScope(ctx, s, store.ScopeKey{ID: id, KEKVersion: row.KEKVersion, Wrapped: row.Wrapped}); err != nil {
		t.Errorf("a keys-v1 wrapping found on disk after Destroy did not open (%v): the premise of keys-v2 is wrong", err)
	}
}

// TestNodeWithOtherMasterKeyRefused: two nodes on one Postgres database;
// the second has another master key and must refuse to start, with an
// error that says what to fix. A node with the same key file starts.
func TestNodeWithOtherMasterKeyRefused(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	dir := t.TempDir()
	shared := filepath.Join(dir, "master.key")
	if err := os.WriteFile(shared, []byte(rootkey.GenerateMasterKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.key")
	if err := os.WriteFile(other, []byte(rootkey.GenerateMasterKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	node := func(keyFile string) error {
		root, err := rootkey.LocalRootFile(keyFile)
		if err != nil {
			return err
		}
		st, err := postgres.Open(ctx, url)
		if err != nil {
			return err
		}
		defer st.Close()
		_, err = New(ctx, root, st, clk, quiet, Options{})
		return err
	}
	if err := node(shared); err != nil {
		t.Fatalf("first node: %v", err)
	}
	if err := node(shared); err != nil {
		t.Fatalf("second node with the shared key file: %v", err)
	}
	err := node(other)
	if err == nil || !strings.Contains(err.Error(), "differs from the installation's") {
		t.Fatalf("node with another master key: %v, want a refusal naming the mismatch", err)
	}
	if _, err := rootkey.LocalRootFile(filepath.Join(dir, "missing.key")); !errors.Is(err, rootkey.ErrMasterKeyMissing) {
		t.Errorf("missing key file: %v, want rootkey.ErrMasterKeyMissing (never generated)", err)
	}
	os.Chmod(other, 0o644)
	if _, err := rootkey.LocalRootFile(other); err == nil {
		t.Error("a world-readable key file was accepted")
	}
}
