package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// testPlugins: publishers and plugins round-trip, a plugin is replaced by
// name, lists carry no module, a missing one is NotFound, and a plugin
// cannot name an untrusted publisher.
func testPlugins(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.PluginPublisher(ctx, "acme"); !errors.Is(err, fault.NotFound) {
		t.Fatalf("missing publisher: %v", err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	if err := s.PutPluginPublisher(ctx, store.PluginPublisher{Name: "acme", PublicKey: key, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PluginPublisher(ctx, "acme"); err != nil || !bytes.Equal(p.PublicKey, key) || !p.CreatedAt.Equal(t0) {
		t.Fatalf("publisher = %+v, %v", p, err)
	}
	if err := s.PutPluginPublisher(ctx, store.PluginPublisher{Name: "short", PublicKey: []byte{1}, CreatedAt: t0}); err == nil {
		t.Error("a 1-byte public key was stored")
	}
	orphan := store.PluginRecord{Name: "x", Version: "1.0.0", Publisher: "nobody", SHA256: "00", Manifest: []byte("{}"), Module: []byte{0}, InstalledAt: t0}
	if err := s.PutPlugin(ctx, orphan); err == nil {
		t.Error("a plugin of an untrusted publisher was stored")
	}
	p1 := store.PluginRecord{Name: "blur", Version: "1.0.0", Publisher: "acme", SHA256: "aa", Manifest: []byte(`{"v":1}`), Module: []byte("wasm1"), InstalledAt: t0}
	p2 := p1
	p2.Version, p2.SHA256, p2.Module = "1.1.0", "bb", []byte("wasm2")
	for _, p := range []store.PluginRecord{p1, p2, {Name: "art", Version: "0.1.0", Publisher: "acme", SHA256: "cc", Manifest: []byte("{}"), Module: []byte("w"), InstalledAt: t0}} {
		if err := s.PutPlugin(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Plugin(ctx, "blur")
	if err != nil || got.Version != "1.1.0" || got.SHA256 != "bb" || string(got.Module) != "wasm2" || string(got.Manifest) != `{"v":1}` {
		t.Fatalf("Plugin = %+v, %v", got, err)
	}
	list, err := s.Plugins(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "art" || list[1].Name != "blur" || list[1].Module != nil {
		t.Fatalf("Plugins = %+v, %v", list, err)
	}
	if err := s.DeletePlugin(ctx, "blur"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePlugin(ctx, "blur"); !errors.Is(err, fault.NotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.Plugin(ctx, "blur"); !errors.Is(err, fault.NotFound) {
		t.Errorf("deleted plugin: %v", err)
	}
}
