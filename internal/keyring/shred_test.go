package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/blob/blobtest"
	"github.com/obscuraproject/obscura/internal/keyring/shreddir"
	"github.com/obscuraproject/obscura/internal/store"
)

// newShredFixture is newFixture with keys-v2 wrapping: shred keys in a
// shreddir.Dir beside the database.
func newShredFixture(t testing.TB) (*fixture, *shreddir.Dir) {
	t.Helper()
	f := newFixture(t)
	sd, err := shreddir.Open(filepath.Join(f.dir, "shred"))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := New(context.Background(), f.root, f.st, f.clk, quiet, Options{CacheTTL: time.Minute, Shred: sd})
	if err != nil {
		t.Fatal(err)
	}
	f.kr = kr
	return f, sd
}

func TestShredDirConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		d, err := shreddir.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return struct{ ShredKeys }{d}
	})
}

// TestShredDirDeleteOverwrites: Delete overwrites the file's bytes before it
// unlinks it. A hard link made beforehand keeps the inode reachable, so the
// test can read what is left of it: not the key.
func TestShredDirDeleteOverwrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := shreddir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte("shred-key-bytes!"), 4)
	if err := d.Put(ctx, "shred/t/a/k", bytes.NewReader(secret)); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Link(filepath.Join(dir, "shred", "t", "a", "k"), link); err != nil {
		t.Skipf("hard links unsupported here: %v", err)
	}
	if err := d.Delete(ctx, "shred/t/a/k"); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadFile(link)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != len(secret) || bytes.Contains(left, []byte("shred-key")) {
		t.Errorf("after Delete the inode still holds %q", left)
	}
	if _, err := d.Get(ctx, "shred/t/a/k"); err == nil {
		t.Error("deleted key still readable")
	}
	if err := d.Delete(ctx, "shred/t/a/k"); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
}

func shredLabelsOf(t *testing.T, f *fixture, tenant, bucket string) []string {
	t.Helper()
	l, err := f.kr.shredLabels(context.Background(), tenant, bucket)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestShredDestroy: with shred keys, destroying one subject's key rotates
// the bucket's shred key; every other key of the bucket still opens, and the
// destroyed key's wrapped bytes — as a dead tuple, the WAL or a backup would
// keep them — no longer open with anything the key service holds.
func TestShredDestroy(t *testing.T) {
	ctx := context.Background()
	f, sd := newShredFixture(t)
	// Subjects chosen to share bucket "a" (the first character of the hash).
	subjects := []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3"}
	type made struct {
		s   Scope
		id  string
		ct  []byte
		raw store.ScopeKey
	}
	var keys []made
	for _, sub := range subjects {
		for _, p := range []string{"", "tagging"} {
			s := Scope{Tenant: "ta", Subject: sub, Purpose: p}
			id, a, err := f.kr.ScopeKey(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			ct, err := a.Encrypt([]byte("dek "+sub+p), []byte("ad"))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := f.st.ScopeKey(ctx, "ta", sub, p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(raw.Wrapped, []byte(scopeV2Magic)) {
				t.Fatalf("new scope key is not keys-v2: %x", raw.Wrapped[:8])
			}
			keys = append(keys, made{s, id, ct, raw})
		}
	}
	// Another bucket and another tenant are not touched by the rotation.
	otherB := Scope{Tenant: "ta", Subject: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}
	otherT := Scope{Tenant: "tb", Subject: subjects[0]}
	for _, s := range []Scope{otherB, otherT} {
		if _, _, err := f.kr.ScopeKey(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	before := shredLabelsOf(t, f, "ta", "a")
	otherBefore := shredLabelsOf(t, f, "ta", "b")
	if len(before) != 1 {
		t.Fatalf("bucket a has shred keys %v, want one", before)
	}

	n, err := f.kr.Destroy(ctx, Scope{Tenant: "ta", Subject: subjects[1], Purpose: "*"})
	if err != nil || n != 2 {
		t.Fatalf("Destroy = %d, %v; want 2", n, err)
	}
	after := shredLabelsOf(t, f, "ta", "a")
	if len(after) != 1 || after[0] <= before[0] {
		t.Fatalf("shred keys after destroy %v (before %v), want one newer", after, before)
	}
	if got := shredLabelsOf(t, f, "ta", "b"); len(got) != 1 || got[0] != otherBefore[0] {
		t.Errorf("bucket b rotated: %v -> %v", otherBefore, got)
	}
	if rc, err := sd.Get(ctx, shredDir("ta", "a")+before[0]); err == nil {
		rc.Close()
		t.Error("old shred key still in the shred key store")
	}
	for _, m := range keys {
		a, err := f.kr.ScopeKeyByID(ctx, m.s, m.id)
		if m.s.Subject == subjects[1] {
			if !errors.Is(err, ErrKeyDestroyed) {
				t.Errorf("destroyed %v: %v, want ErrKeyDestroyed", m.s, err)
			}
			// The old row, as the database may still keep it: it names a
			// destroyed shred key, and nothing else opens it.
			if _, err := f.kr.openScope(ctx, m.s, m.raw); !errors.Is(err, ErrKeyDestroyed) {
				t.Errorf("old wrapped bytes of %v open: %v", m.s, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("survivor %v: %v", m.s, err)
		}
		if pt, err := a.Decrypt(m.ct, []byte("ad")); err != nil || string(pt) != "dek "+m.s.Subject+m.s.Purpose {
			t.Errorf("survivor %v decrypt = %q, %v", m.s, pt, err)
		}
		// Survivors' old wrappings are also under the destroyed shred key.
		if _, err := f.kr.openScope(ctx, m.s, m.raw); !errors.Is(err, ErrKeyDestroyed) {
			t.Errorf("survivor %v old wrapping still opens: %v", m.s, err)
		}
	}
	// Destroying nothing (no key, no pending rotation) changes nothing.
	if n, err := f.kr.Destroy(ctx, Scope{Tenant: "ta", Subject: subjects[1], Purpose: "*"}); err != nil || n != 0 {
		t.Errorf("second Destroy = %d, %v", n, err)
	}
	if got := shredLabelsOf(t, f, "ta", "a"); len(got) != 1 || got[0] != after[0] {
		t.Errorf("idle Destroy rotated: %v -> %v", after, got)
	}
}

// TestShredDestroyResumes: a destroy interrupted after its new shred key and
// the row deletion (the old shred key still alive) is finished by the next
// Destroy in the bucket, even one that has nothing to delete.
func TestShredDestroyResumes(t *testing.T) {
	ctx := context.Background()
	f, _ := newShredFixture(t)
	gone := Scope{Tenant: "ta", Subject: "cccccccccccccccccccccccccccccc01"}
	kept := Scope{Tenant: "ta", Subject: "cccccccccccccccccccccccccccccc02"}
	idKept, a, err := f.kr.ScopeKey(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := a.Encrypt([]byte("kept"), nil)
	if _, _, err := f.kr.ScopeKey(ctx, gone); err != nil {
		t.Fatal(err)
	}
	old, _ := f.st.ScopeKey(ctx, "ta", gone.Subject, "")
	// The first half of destroyShredded, then a "crash".
	labels := shredLabelsOf(t, f, "ta", "c")
	if _, err := f.kr.newShredKey(ctx, "ta", "c", labels); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.DestroyScopeKeys(ctx, "ta", gone.Subject, "*"); err != nil {
		t.Fatal(err)
	}
	if got := shredLabelsOf(t, f, "ta", "c"); len(got) != 2 {
		t.Fatalf("pending rotation shows %d shred keys, want 2", len(got))
	}
	if _, err := f.kr.openScope(ctx, gone, old); err != nil {
		t.Fatalf("before the resume the old row still opens (that is the point of resuming): %v", err)
	}
	if _, err := f.kr.Destroy(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if got := shredLabelsOf(t, f, "ta", "c"); len(got) != 1 {
		t.Errorf("after resume %d shred keys, want 1", len(got))
	}
	if _, err := f.kr.openScope(ctx, gone, old); !errors.Is(err, ErrKeyDestroyed) {
		t.Errorf("after resume the destroyed row opens: %v", err)
	}
	b, err := f.kr.ScopeKeyByID(ctx, kept, idKept)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Decrypt(ct, nil); err != nil || string(pt) != "kept" {
		t.Errorf("kept key after resume: %q, %v", pt, err)
	}
}

// TestShredSettlesRacingCreate: a scope key written under a shred key that
// a rotation has superseded is moved to the newest one by its creator.
func TestShredSettlesRacingCreate(t *testing.T) {
	ctx := context.Background()
	f, _ := newShredFixture(t)
	s := Scope{Tenant: "ta", Subject: "dddddddddddddddddddddddddddddd01"}
	l1, err := f.kr.currentShred(ctx, "ta", "d")
	if err != nil {
		t.Fatal(err)
	}
	kek, err := f.kr.kek(ctx, "ta", 1)
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	w, err := f.kr.wrapV2(ctx, s, "sk_race", kek, l1, key)
	if err != nil {
		t.Fatal(err)
	}
	rec := store.ScopeKey{ID: "sk_race", TenantID: "ta", SubjectHash: s.Subject, KEKVersion: 1, Wrapped: w, CreatedAt: f.clk.Now()}
	if err := f.st.CreateScopeKey(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// A rotation made l2 after this creator read l1.
	l2, err := f.kr.newShredKey(ctx, "ta", "d", []string{l1})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.kr.settleNewKey(ctx, s, rec, kek, l1, key); err != nil {
		t.Fatal(err)
	}
	got, _ := f.st.ScopeKey(ctx, "ta", s.Subject, "")
	if label, _, _, _ := parseV2(got.Wrapped); label != l2 {
		t.Errorf("settled under %s, want %s", label, l2)
	}
	if err := f.kr.rotateShred(ctx, "ta", "d", l2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.kr.ScopeKeyByID(ctx, s, "sk_race"); err != nil {
		t.Errorf("settled key does not open after the old shred key is gone: %v", err)
	}
}

// TestShredReadsV1AndRewraps: keys-v1 rows (an installation from before
// shred keys) keep opening, and KEK rewrap handles both formats.
func TestShredReadsV1AndRewraps(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	v1 := Scope{Tenant: "ta", Subject: "eeeeeeeeeeeeeeeeeeeeeeeeeeeeee01"}
	id1, a1, err := f.kr.ScopeKey(ctx, v1)
	if err != nil {
		t.Fatal(err)
	}
	ct1, _ := a1.Encrypt([]byte("one"), nil)
	sd, err := shreddir.Open(filepath.Join(f.dir, "shred"))
	if err != nil {
		t.Fatal(err)
	}
	if f.kr, err = New(ctx, f.root, f.st, f.clk, quiet, Options{CacheTTL: time.Minute, Shred: sd}); err != nil {
		t.Fatal(err)
	}
	v2 := Scope{Tenant: "ta", Subject: "eeeeeeeeeeeeeeeeeeeeeeeeeeeeee02"}
	id2, a2, err := f.kr.ScopeKey(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	ct2, _ := a2.Encrypt([]byte("two"), nil)
	if _, err := f.kr.Rotate(ctx, "ta"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.kr.Rewrap(ctx, "ta", nil); err != nil || n != 2 {
		t.Fatalf("Rewrap = %d, %v; want 2", n, err)
	}
	for _, c := range []struct {
		s      Scope
		id     string
		ct     []byte
		want   string
		prefix string
	}{{v1, id1, ct1, "one", "\x01"}, {v2, id2, ct2, "two", scopeV2Magic}} {
		rec, _ := f.st.ScopeKey(ctx, "ta", c.s.Subject, "")
		if rec.KEKVersion != 2 || !strings.HasPrefix(string(rec.Wrapped), c.prefix) {
			t.Errorf("%s after rewrap: version %d, wrapping %x", c.want, rec.KEKVersion, rec.Wrapped[:5])
		}
		a, err := f.kr.ScopeKeyByID(ctx, c.s, c.id)
		if err != nil {
			t.Fatalf("%s: %v", c.want, err)
		}
		if pt, err := a.Decrypt(c.ct, nil); err != nil || string(pt) != c.want {
			t.Errorf("decrypt = %q, %v; want %q", pt, err, c.want)
		}
	}
	// A keyring without shred keys refuses a v2 row instead of guessing.
	plain, err := New(ctx, f.root, f.st, f.clk, quiet, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ScopeKeyByID(ctx, v2, id2); err == nil {
		t.Error("keyring without shred keys opened a keys-v2 row")
	}
}

func FuzzParseV2(f *testing.F) {
	f.Add([]byte("osk2\x130000000001-0a0b0c0d\x01rest"))
	f.Add([]byte("osk2"))
	f.Add([]byte("osk2\xff"))
	f.Add([]byte("\x01\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, w []byte) {
		label, inner, v2, err := parseV2(w)
		if !v2 || err != nil {
			return
		}
		if !validLabel(label) {
			t.Fatalf("accepted bad label %q", label)
		}
		rebuilt := append(append(append([]byte(scopeV2Magic), byte(len(label))), label...), inner...)
		if !bytes.Equal(rebuilt, w) {
			t.Fatalf("round trip %x != %x", rebuilt, w)
		}
	})
}

// BenchmarkOpenScopeKey opens a scope key by id (the cost on every object
// read after the KEK cache is warm): keys-v1 beside keys-v2 (one more
// AES-GCM open and a cached shred key lookup).
func BenchmarkOpenScopeKey(b *testing.B) {
	ctx := context.Background()
	for _, v := range []string{"v1", "v2"} {
		b.Run(v, func(b *testing.B) {
			var f *fixture
			if v == "v1" {
				f = newFixture(b)
			} else {
				f, _ = newShredFixture(b)
			}
			s := Scope{Tenant: "ta", Subject: "ffffffffffffffffffffffffffffff01"}
			id, _, err := f.kr.ScopeKey(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := f.kr.ScopeKeyByID(ctx, s, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDestroyRotation is one erasure with shred keys in a bucket of
// n other subjects (every survivor is re-wrapped).
func BenchmarkDestroyRotation(b *testing.B) {
	ctx := context.Background()
	f, _ := newShredFixture(b)
	for i := range 100 {
		if _, _, err := f.kr.ScopeKey(ctx, Scope{Tenant: "ta", Subject: fmt.Sprintf("g%031d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		s := Scope{Tenant: "ta", Subject: fmt.Sprintf("gx%030d", i)}
		if _, _, err := f.kr.ScopeKey(ctx, s); err != nil {
			b.Fatal(err)
		}
		if _, err := f.kr.Destroy(ctx, Scope{Tenant: "ta", Subject: s.Subject, Purpose: "*"}); err != nil {
			b.Fatal(err)
		}
	}
}
