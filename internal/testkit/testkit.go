// Package testkit builds Obscura's real components — SQLite store, local key
// service, filesystem blob store, encrypted object store — in a test's temp
// dir, with a fake clock, so tests across packages share one wiring instead
// of copies. It is imported only by tests.
package testkit

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/wire/core"
)

// Kit is a set of real components in a temp dir: the storage core the
// composition root (internal/wire/core) opens for the server. (The whole
// graph, internal/wire, imports the packages whose tests use the kit.)
type Kit struct {
	Dir     string
	Store   store.Backend
	Keys    *keyring.Keyring
	Clock   *clock.Fake
	Log     *slog.Logger
	Blobs   blob.Store
	Objects *sealed.Store
	Audit   *audit.Log
}

// New builds a Kit whose logs go to log (nil: discarded).
func New(t testing.TB, log *slog.Logger) *Kit {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dir := t.TempDir()
	if err := seed(dir); err != nil { // template.go
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Data = dir
	clk := clock.NewFake(start)
	g, err := core.Open(context.Background(), core.Options{Config: cfg, Clock: clk, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return &Kit{Dir: dir, Store: g.Store, Keys: g.Keys, Clock: clk, Log: log, Blobs: g.Blobs, Objects: g.Objects, Audit: g.Audit}
}

// Tenant creates tenant id with a first API key of scopes (all if none) and
// its first KEK, and returns the API key and its record.
func (k *Kit) Tenant(t testing.TB, id string, scopes ...auth.Scope) (string, store.APIKey) {
	t.Helper()
	if len(scopes) == 0 {
		scopes = auth.AllScopes
	}
	key, rec := auth.Mint(k.Keys, id, scopes, k.Clock.Now())
	ctx := context.Background()
	if err := k.Store.CreateTenant(ctx, store.Tenant{ID: id, Name: "App " + id, CreatedAt: k.Clock.Now()}, rec); err != nil {
		t.Fatal(err)
	}
	if err := k.Keys.InitTenant(ctx, id); err != nil {
		t.Fatal(err)
	}
	return key, rec
}

// Key adds another API key with scopes to tenant id.
func (k *Kit) Key(t testing.TB, id string, scopes ...auth.Scope) (string, store.APIKey) {
	t.Helper()
	key, rec := auth.Mint(k.Keys, id, scopes, k.Clock.Now())
	if err := k.Store.CreateAPIKey(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return key, rec
}

// Photo records photo id of subjectHash in tenant with data as its sealed
// blob (no decoding: a placeholder photo for tests whose engine is a
// double) and returns the record.
func (k *Kit) Photo(t testing.TB, tenant, subjectHash, id string, data string) store.Asset {
	t.Helper()
	ctx := context.Background()
	a := store.Asset{ID: id, TenantID: tenant, SubjectHash: subjectHash, Format: "jpeg", Width: 8, Height: 8, Size: int64(len(data)), CreatedAt: k.Clock.Now()}
	if err := k.Store.CreateAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Objects.Put(ctx, sealed.Ref{Tenant: tenant, Subject: subjectHash, Object: id}, strings.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return a
}
