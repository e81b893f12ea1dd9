package storecopy_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/blob/fsblob"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/keyring/rootkey"
	"github.com/obscuraproject/obscura/internal/keyring/shreddir"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/postgres"
	"github.com/obscuraproject/obscura/internal/store/postgres/pgtest"
	"github.com/obscuraproject/obscura/internal/storecopy"
	"github.com/obscuraproject/obscura/internal/wire/core"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestMigrate moves a populated embedded installation into Postgres, then
// opens the target as a node would (same master key, shred keys beside the
// blobs): the photo decrypts, every scope key is keys-v2, the audit chain
// verifies with the installation's key, and every table has the same count.
// Refusals: queued jobs (and not finished ones only), a non-empty target.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Data = dir
	c, err := core.Open(ctx, core.Options{Config: cfg, Clock: clock.System{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Store.CreateTenant(ctx, store.Tenant{ID: "ten_m", Name: "m", CreatedAt: c.Clock.Now()},
		store.APIKey{ID: "key_m", TenantID: "ten_m", SecretHash: []byte{1}, CreatedAt: c.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := c.Keys.InitTenant(ctx, "ten_m"); err != nil {
		t.Fatal(err)
	}
	photo := bytes.Repeat([]byte("not really a jpeg "), 100)
	var refs []sealed.Ref
	for _, who := range []string{"alice", "bob", "carol"} {
		ref := sealed.Ref{Tenant: "ten_m", Subject: c.Keys.SubjectHash(who), Object: "ast_" + who}
		if _, err := c.Objects.Put(ctx, ref, bytes.NewReader(photo)); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
		if err := c.Audit.Append(ctx, audit.Entry{Action: "asset.create", Tenant: "ten_m", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	c.Audit.Close() // flush
	signer, err := c.Keys.TenantSigner(ctx, "", "audit")
	if err != nil {
		t.Fatal(err)
	}

	url := pgtest.URL(t)
	target, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	shred, err := shreddir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	kr2, err := c.Keys.WithShred(shred)
	if err != nil {
		t.Fatal(err)
	}
	// Blobs to another store (the command gives an S3 store; any blob.Store goes).
	blobDir := t.TempDir()
	targetBlobs, err := fsblob.Open(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	opts := storecopy.Options{Source: filepath.Join(dir, core.DBFile), Target: target.Pool(), ScopeKey: kr2.WrapForShred,
		SourceBlobs: c.Blobs, TargetBlobs: targetBlobs}

	// Queued jobs: refused; finished ones are fine (and not copied).
	db, err := sql.Open("sqlite", filepath.Join(dir, core.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE river_job (id INTEGER PRIMARY KEY, state TEXT NOT NULL); INSERT INTO river_job(state) VALUES ('completed'), ('available')`); err != nil {
		t.Fatal(err)
	}
	if _, err := storecopy.Copy(ctx, opts); !errors.Is(err, storecopy.ErrJobsQueued) || !strings.Contains(err.Error(), "drain first") {
		t.Fatalf("Copy with a queued job = %v, want ErrJobsQueued", err)
	}
	if _, err := db.Exec(`UPDATE river_job SET state = 'completed'`); err != nil {
		t.Fatal(err)
	}

	rep, err := storecopy.Copy(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ScopeKeys != 3 || rep.Rows == 0 || len(rep.Tables) < 20 || rep.Blobs != 3 {
		t.Errorf("report %+v: want 3 scope keys re-wrapped and every table", rep)
	}
	for _, tc := range rep.Tables {
		if tc.Source != tc.Target {
			t.Errorf("%s: %d != %d", tc.Table, tc.Source, tc.Target)
		}
		if strings.HasPrefix(tc.Table, "river_") {
			t.Errorf("River table %s was copied", tc.Table)
		}
	}

	// The target, opened as a node opens it.
	root, err := rootkey.LocalRoot(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(ctx, root, target, clock.System{}, c.Log, keyring.Options{Shred: shred})
	if err != nil {
		t.Fatalf("a node on the target: %v", err)
	}
	objs := sealed.New(targetBlobs, kr)
	for _, ref := range refs {
		got, err := objs.ReadAll(ctx, ref, 1<<20)
		if err != nil || !bytes.Equal(got, photo) {
			t.Fatalf("read %s on the target: %d bytes, %v", ref.Object, len(got), err)
		}
		sk, err := target.ScopeKey(ctx, ref.Tenant, ref.Subject, "")
		if err != nil || !bytes.HasPrefix(sk.Wrapped, []byte("osk2")) {
			t.Errorf("scope key on the target is not keys-v2: %x, %v", sk.Wrapped[:4], err)
		}
	}
	ar, err := audit.Verify(ctx, target, signer.PublicKey(), 0)
	if err != nil || ar.Entries < 3 {
		t.Errorf("audit chain on the target: %+v, %v", ar, err)
	}
	// Erasure on the target is keys-v2 destruction.
	if _, err := objs.Shred(ctx, "ten_m", refs[0].Subject, "*"); err != nil {
		t.Fatal(err)
	}
	if _, err := objs.ReadAll(ctx, refs[1], 1<<20); err != nil {
		t.Errorf("a survivor after erasure on the target: %v", err)
	}

	// A second run: the target is not empty.
	if _, err := storecopy.Copy(ctx, opts); !errors.Is(err, storecopy.ErrTargetNotEmpty) {
		t.Errorf("Copy into a populated target = %v, want ErrTargetNotEmpty", err)
	}
	// An empty database but a blob store that holds objects: refused too,
	// and nothing is written to the database.
	fresh, err := postgres.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	opts.Target = fresh.Pool()
	if _, err := storecopy.Copy(ctx, opts); !errors.Is(err, storecopy.ErrTargetNotEmpty) {
		t.Errorf("Copy into a non-empty blob store = %v, want ErrTargetNotEmpty", err)
	}
	if ts, err := fresh.Tenants(ctx); err != nil || len(ts) != 0 {
		t.Errorf("a refused copy wrote tenants: %v, %v", ts, err)
	}
}
