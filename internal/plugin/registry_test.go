package plugin

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

type recorder struct {
	mu     sync.Mutex
	alerts []store.Alert
	audit  []audit.Entry
}

func (r *recorder) Raise(_ context.Context, a store.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
}

func (r *recorder) Append(_ context.Context, e audit.Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.audit = append(r.audit, e)
	return nil
}

func newRegistry(t *testing.T) (*Registry, *sqlite.Store, *recorder) {
	t.Helper()
	st, err := sqlitetest.Open(t, "migrated", filepath.Join(t.TempDir(), "obscura.db"), sqlite.Open)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec := &recorder{}
	return NewRegistry(st, newRuntime(t, Config{}), clock.NewFake(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), rec, rec, nil), st, rec
}

func manifestFor(name string, wasm []byte, publisher string) Manifest {
	return Manifest{Format: Format, Name: name, Version: "1.0.0", Publisher: publisher, SHA256: SHA256Hex(wasm), ABI: 1, Capabilities: []string{}}
}

func TestRegistrySupplyChain(t *testing.T) {
	mods := modules(t)
	r, st, rec := newRegistry(t)
	ctx := context.Background()
	key := KeySigner(ed25519.NewKeyFromSeed(make([]byte, 32)))
	other := KeySigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("o", 32))))
	wasm := mods["sticker"]
	file, err := Sign(manifestFor("sticker", wasm, "acme"), key)
	if err != nil {
		t.Fatal(err)
	}
	// Untrusted publisher: refused.
	if _, err := r.Install(ctx, wasm, file); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("untrusted publisher: %v", err)
	}
	if err := r.Trust(ctx, "acme", key.PublicKey()); err != nil {
		t.Fatal(err)
	}
	otherFile, _ := Sign(manifestFor("sticker", wasm, "acme"), other)
	tampered := append([]byte(nil), wasm...)
	tampered[len(tampered)-1] ^= 1
	refusals := []struct {
		name       string
		wasm, file []byte
		want       error
	}{
		{"wrong key", wasm, otherFile, ErrSignature},
		{"altered module", tampered, file, ErrSignature},
		{"altered manifest", wasm, []byte(strings.Replace(string(file), `"1.0.0"`, `"1.0.1"`, 1)), ErrSignature},
		{"unsigned", wasm, []byte(strings.Replace(string(file), `"signature"`, `"signaturex"`, 1)), ErrManifest},
	}
	for _, tt := range refusals {
		if _, err := r.Install(ctx, tt.wasm, tt.file); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// A signed module importing a socket: refused, with an escape alert.
	sock := mods["socket"]
	sockFile, _ := Sign(manifestFor("sock", sock, "acme"), key)
	if _, err := r.Install(ctx, sock, sockFile); !errors.Is(err, ErrRejected) {
		t.Fatalf("socket plugin: %v", err)
	}
	if len(rec.alerts) != 1 || rec.alerts[0].Rule != AlertEscape || !strings.Contains(rec.alerts[0].Detail, "sock_accept") {
		t.Errorf("alerts = %+v, want one %s naming sock_accept", rec.alerts, AlertEscape)
	}
	if list, _ := st.Plugins(ctx); len(list) != 0 {
		t.Fatalf("a refused plugin was stored: %+v", list)
	}
	// Honest install, list, load, remove.
	if _, err := r.Install(ctx, wasm, file); err != nil {
		t.Fatal(err)
	}
	if list, err := r.List(ctx); err != nil || len(list) != 1 || list[0].Name != "sticker" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if _, err := r.Load(ctx, "sticker"); err != nil {
		t.Fatal(err)
	}
	// A publisher key replaced after install: the installed plugin no
	// longer loads.
	if err := r.Trust(ctx, "acme", other.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(ctx, "sticker"); !errors.Is(err, ErrSignature) {
		t.Errorf("load after key change: %v", err)
	}
	if err := r.Remove(ctx, "sticker"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(ctx, "sticker"); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("load after remove: %v", err)
	}
	denied := 0
	for _, e := range rec.audit {
		if e.Action == "plugin.install" && e.Result == audit.ResultDenied {
			denied++
		}
	}
	if denied != 6 {
		t.Errorf("%d denied installs audited, want 6", denied)
	}
}

func TestInstallBuiltins(t *testing.T) {
	mods := modules(t)
	r, _, _ := newRegistry(t)
	ctx := context.Background()
	dir := t.TempDir()
	for _, n := range []string{"face-blur", "sticker"} {
		if err := os.WriteFile(filepath.Join(dir, n+".wasm"), mods[n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := KeySigner(ed25519.NewKeyFromSeed([]byte(strings.Repeat("k", 32))))
	got, err := r.InstallBuiltins(ctx, key, dir)
	if err != nil || len(got) != 2 {
		t.Fatalf("InstallBuiltins = %v, %v", got, err)
	}
	if got, err := r.InstallBuiltins(ctx, key, dir); err != nil || len(got) != 0 {
		t.Errorf("second InstallBuiltins = %v, %v; want nothing new", got, err)
	}
	l, err := r.Load(ctx, "face-blur")
	if err != nil || l.Manifest.Publisher != BuiltinPublisher || l.Manifest.SHA256 != SHA256Hex(mods["face-blur"]) {
		t.Fatalf("face-blur: %+v, %v", l, err)
	}
}
