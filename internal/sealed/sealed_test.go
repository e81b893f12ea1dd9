package sealed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/blob/fsblob"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/envelope"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/keyring/keyringtest"
	"github.com/obscuraproject/obscura/internal/keyring/rootkey"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	dir  string
	st   *sqlite.Store
	kr   *keyring.Keyring
	s    *Store
	root *keyringtest.SwitchableRoot
	clk  *clock.Fake
}

func openFixture(t testing.TB, dir, masterKey string) *fixture {
	t.Helper()
	ctx := context.Background()
	// The root key first: it is generated only into an empty data dir.
	local, err := rootkey.LocalRoot(dir, masterKey, quiet)
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
	kr, err := keyring.New(ctx, root, st, clk, quiet, keyring.Options{CacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Tenant(ctx, "ten_a"); errors.Is(err, fault.NotFound) {
		for _, id := range []string{"ten_a", "ten_b"} {
			if err := st.CreateTenant(ctx, store.Tenant{ID: id, Name: id, CreatedAt: clk.Now()}, store.APIKey{ID: "k_" + id, TenantID: id, SecretHash: []byte{1}, CreatedAt: clk.Now()}); err != nil {
				t.Fatal(err)
			}
			if err := kr.InitTenant(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, st: st, kr: kr, s: New(blobs, kr), root: root, clk: clk}
}

func newFixture(t testing.TB) *fixture { return openFixture(t, t.TempDir(), "") }

func (f *fixture) put(t *testing.T, ref Ref, data []byte) {
	t.Helper()
	n, err := f.s.Put(context.Background(), ref, bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put(%+v) = %d, %v", ref, n, err)
	}
}

func (f *fixture) read(ref Ref) ([]byte, error) {
	return f.s.ReadAll(context.Background(), ref, 1<<30)
}

// scanFor reports whether marker occurs in any file under dir.
func scanFor(t *testing.T, dir string, marker []byte) bool {
	t.Helper()
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, marker) {
				found = true
			}
		}
		return nil
	})
	return found
}

func TestRoundTripAndNoPlaintextAtRest(t *testing.T) {
	f := newFixture(t)
	subj := f.kr.SubjectHash("alice@example.com")
	marker := []byte("PLAINTEXT-MARKER-3b1f9e-photo-bytes")
	data := bytes.Repeat(marker, 50000)
	ref := Ref{Tenant: "ten_a", Subject: subj, Object: "ast_1"}
	f.put(t, ref, data)
	got, err := f.read(ref)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back: %d bytes, %v", len(got), err)
	}
	rc, err := f.s.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(streamed, data) {
		t.Fatalf("stream read: %v", err)
	}
	for _, m := range [][]byte{marker, []byte("alice@example.com")} {
		if scanFor(t, f.dir, m) {
			t.Errorf("%q found at rest", m)
		}
	}
}

func TestBindingAndTampering(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	subj := f.kr.SubjectHash("alice")
	ref := Ref{Tenant: "ten_a", Subject: subj, Purpose: "tagging", Object: "res_1"}
	f.put(t, ref, []byte("derived tags"))
	path := filepath.Join(f.dir, "blobs", "objects", "t", "ten_a", "s", subj, "tagging", "res_1")
	ct, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Copy the ciphertext under another object id: it must not open.
	moved := filepath.Join(filepath.Dir(path), "res_2")
	os.WriteFile(moved, ct, 0o600)
	if _, err := f.read(Ref{Tenant: "ten_a", Subject: subj, Purpose: "tagging", Object: "res_2"}); !errors.Is(err, envelope.ErrAuth) {
		t.Errorf("moved ciphertext: %v, want ErrAuth", err)
	}
	// Tenant B asking for the same names gets nothing.
	if _, err := f.read(Ref{Tenant: "ten_b", Subject: subj, Purpose: "tagging", Object: "res_1"}); !errors.Is(err, fault.NotFound) {
		t.Errorf("cross-tenant read: %v, want NotFound", err)
	}
	// Flip a bit in the stored ciphertext.
	bad := bytes.Clone(ct)
	bad[len(bad)-5] ^= 1
	os.WriteFile(path, bad, 0o600)
	if got, err := f.read(ref); !errors.Is(err, envelope.ErrAuth) || got != nil {
		t.Errorf("tampered ciphertext: %q, %v", got, err)
	}
	// Truncate it.
	os.WriteFile(path, ct[:len(ct)-1], 0o600)
	if _, err := f.read(ref); !errors.Is(err, envelope.ErrAuth) {
		t.Errorf("truncated ciphertext: %v, want ErrAuth", err)
	}
	if _, err := f.s.Put(ctx, Ref{Tenant: "ten_a", Subject: "../x", Object: "o"}, strings.NewReader("x")); err == nil {
		t.Error("path traversal in ref accepted")
	}
}

func TestShred(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice, bob := f.kr.SubjectHash("alice"), f.kr.SubjectHash("bob")
	face := Ref{Tenant: "ten_a", Subject: alice, Purpose: "face_recognition", Object: "emb_1"}
	face2 := Ref{Tenant: "ten_a", Subject: alice, Purpose: "face_recognition", Object: "emb_2"}
	tags := Ref{Tenant: "ten_a", Subject: alice, Purpose: "tagging", Object: "res_1"}
	photo := Ref{Tenant: "ten_a", Subject: alice, Object: "ast_1"}
	bobFace := Ref{Tenant: "ten_a", Subject: bob, Purpose: "face_recognition", Object: "emb_1"}
	for _, r := range []Ref{face, face2, tags, photo, bobFace} {
		f.put(t, r, []byte("content of "+r.Object))
	}
	// Keep the ciphertext aside, as an attacker with a disk copy would.
	kept, err := os.ReadFile(filepath.Join(f.dir, "blobs", "objects", "t", "ten_a", "s", alice, "face_recognition", "emb_1"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.s.Shred(ctx, "ten_a", alice, "face_recognition")
	if err != nil || n != 2 {
		t.Fatalf("Shred = %d, %v", n, err)
	}
	if _, err := f.read(face); !errors.Is(err, fault.NotFound) {
		t.Errorf("shredded object: %v", err)
	}
	// Put the kept ciphertext back: no path decrypts it, not even after the
	// scope key is re-created by a new write.
	f.put(t, face2, []byte("new embedding after re-consent"))
	os.WriteFile(filepath.Join(f.dir, "blobs", "objects", "t", "ten_a", "s", alice, "face_recognition", "emb_1"), kept, 0o600)
	if _, err := f.read(face); !errors.Is(err, keyring.ErrKeyDestroyed) {
		t.Errorf("restored ciphertext after shred: %v, want ErrKeyDestroyed", err)
	}
	for _, r := range []Ref{tags, photo, bobFace} {
		if got, err := f.read(r); err != nil || string(got) != "content of "+r.Object {
			t.Errorf("%+v lost in shred: %v", r, err)
		}
	}
	// Erase everything of alice; bob is untouched.
	if _, err := f.s.Shred(ctx, "ten_a", alice, "*"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Ref{face2, tags, photo} {
		if _, err := f.read(r); err == nil {
			t.Errorf("%+v readable after erase", r)
		}
	}
	if _, err := f.read(bobFace); err != nil {
		t.Errorf("bob's data lost: %v", err)
	}
	// Shred is idempotent.
	if n, err := f.s.Shred(ctx, "ten_a", alice, "*"); err != nil || n != 0 {
		t.Errorf("second shred = %d, %v", n, err)
	}
}

func TestKeyServiceDownFailsClosed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	subj := f.kr.SubjectHash("carol")
	f.put(t, Ref{Tenant: "ten_a", Subject: subj, Object: "ast_0"}, []byte("before outage"))
	f.root.Down = true
	f.clk.Advance(2 * time.Minute) // past the KEK cache
	marker := []byte("MARKER-written-during-kms-outage-77c2")
	_, err := f.s.Put(ctx, Ref{Tenant: "ten_a", Subject: f.kr.SubjectHash("dave"), Object: "ast_1"}, bytes.NewReader(marker))
	if !errors.Is(err, fault.Unavailable) {
		t.Fatalf("Put with KMS down: %v, want Unavailable", err)
	}
	if _, err := f.read(Ref{Tenant: "ten_a", Subject: subj, Object: "ast_0"}); !errors.Is(err, fault.Unavailable) {
		t.Errorf("read with KMS down: %v, want Unavailable", err)
	}
	if scanFor(t, f.dir, marker) {
		t.Error("plaintext written while the key service was down")
	}
	f.root.Down = false
	if got, err := f.read(Ref{Tenant: "ten_a", Subject: subj, Object: "ast_0"}); err != nil || string(got) != "before outage" {
		t.Errorf("after recovery: %q, %v", got, err)
	}
}

func TestRotationRewrapRevocation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := Ref{Tenant: "ten_a", Subject: f.kr.SubjectHash("erin"), Object: "ast_old"}
	f.put(t, old, []byte("under v1"))
	if _, err := f.kr.Rotate(ctx, "ten_a"); err != nil {
		t.Fatal(err)
	}
	fresh := Ref{Tenant: "ten_a", Subject: f.kr.SubjectHash("frank"), Object: "ast_new"}
	f.put(t, fresh, []byte("under v2"))
	if got, err := f.read(old); err != nil || string(got) != "under v1" {
		t.Fatalf("old data after rotate: %v", err)
	}
	// Minimum version 2 before rewrap: old data fails closed with a typed error, never garbage.
	if err := f.kr.SetMinDecryptionVersion(ctx, "ten_a", 2); err != nil {
		t.Fatal(err)
	}
	if got, err := f.read(old); !errors.Is(err, keyring.ErrKeyRevoked) || got != nil {
		t.Fatalf("read under min version: %q, %v; want ErrKeyRevoked", got, err)
	}
	if err := f.kr.SetMinDecryptionVersion(ctx, "ten_a", 0); err != nil {
		t.Fatal(err)
	}
	if n, err := f.kr.Rewrap(ctx, "ten_a", nil); err != nil || n != 1 {
		t.Fatalf("rewrap = %d, %v", n, err)
	}
	if err := f.kr.RevokeKEK(ctx, "ten_a", 1); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Ref{old, fresh} {
		if _, err := f.read(r); err != nil {
			t.Errorf("%s after rewrap and revoking v1: %v", r.Object, err)
		}
	}
}

// --- crash safety -----------------------------------------------------------

const crashEnv = "OBSCURA_SEALED_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

func crashContent(obj, gen int) []byte {
	head := fmt.Sprintf("obj=%d gen=%d\n", obj, gen)
	seed := sha256.Sum256([]byte(head))
	body := bytes.Repeat(seed[:], (obj+1)*2000)
	return append([]byte(head), body...)
}

func verifyCrashContent(b []byte) error {
	var obj, gen int
	if _, err := fmt.Sscanf(string(b), "obj=%d gen=%d\n", &obj, &gen); err != nil {
		return fmt.Errorf("bad header: %w", err)
	}
	if !bytes.Equal(b, crashContent(obj, gen)) {
		return fmt.Errorf("obj %d gen %d content mismatch (%d bytes)", obj, gen, len(b))
	}
	return nil
}

// crashChild writes objects forever until it is killed.
func crashChild(dir string) {
	t := &testing.T{}
	f := openFixture(t, dir, os.Getenv("OBSCURA_MASTER_KEY"))
	ctx := context.Background()
	fmt.Println("ready")
	for gen := 0; ; gen++ {
		for obj := range 6 {
			// New subjects create new scope keys as we go: key writes crash too.
			ref := Ref{Tenant: "ten_a", Subject: f.kr.SubjectHash(fmt.Sprint("s", gen%4, obj)), Object: fmt.Sprint("obj_", obj)}
			if _, err := f.s.Put(ctx, ref, bytes.NewReader(crashContent(obj, gen))); err != nil {
				fmt.Fprintln(os.Stderr, "put:", err)
				os.Exit(3)
			}
		}
	}
}

func TestCrashDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop skipped in -short mode")
	}
	dir := t.TempDir()
	master := rootkey.GenerateMasterKey()
	rounds, total := 12, 0
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir, "OBSCURA_MASTER_KEY="+master)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
			t.Fatalf("child did not start: %q %v", buf, err)
		}
		time.Sleep(time.Duration(30+rand.IntN(250)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child exited by itself: %v", round, err)
		}
		// Reopen everything and check every object that exists.
		f := openFixture(t, dir, master)
		n := 0
		err = f.s.blobs.List(context.Background(), "t/", func(key string) error {
			parts := strings.Split(key, "/")
			ref := Ref{Tenant: parts[1], Subject: parts[3], Object: parts[5]}
			b, err := f.read(ref)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			n++
			return verifyCrashContent(b)
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		total += n
	}
	if total == 0 {
		t.Fatal("no object survived any round; the check verified nothing")
	}
	t.Logf("%d rounds, %d object checks, all complete and authentic", rounds, total)
}
