package models

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/obscuraproject/obscura/internal/fault"
)

// fakePackage builds a tarball holding one file, and a manifest pinning both.
func fakePackage(t *testing.T, content []byte) ([]byte, Manifest) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "package/evil/../../escape", Mode: 0o644, Size: 4, Typeflag: tar.TypeReg})
	tw.Write([]byte("evil"))
	tw.WriteHeader(&tar.Header{Name: "package/model.onnx", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	tw.Write(content)
	tw.Close()
	gz.Close()
	sri := sha512.Sum512(buf.Bytes())
	sum := sha256.Sum256(content)
	m := Manifest{Version: 1,
		Packages: []Package{{Name: "fake", Version: "1.0.0", Integrity: "sha512-" + base64.StdEncoding.EncodeToString(sri[:])}},
		Files:    []File{{Name: "model.onnx", Package: "fake", Path: "package/model.onnx", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}}}
	return buf.Bytes(), m
}

func TestFetchVerifyLoad(t *testing.T) {
	content := []byte("pretend this is an ONNX graph")
	tgz, m := fakePackage(t, content)
	served := tgz
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(served) }))
	defer srv.Close()
	m.Packages[0].Tarball = srv.URL + "/fake.tgz"
	dir := t.TempDir()
	ctx := context.Background()
	if err := m.Fetch(ctx, srv.Client(), filepath.Join(dir, "cache"), filepath.Join(dir, "models"), nil, func(string) {}); err != nil {
		t.Fatal(err)
	}
	got, err := m.Load(filepath.Join(dir, "models"), "model.onnx")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("Load = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
		t.Fatal("an archive path escaped the models dir")
	}
	// One byte altered on disk: Verify and Load refuse it.
	p := filepath.Join(dir, "models", "model.onnx")
	b, _ := os.ReadFile(p)
	b[3] ^= 1
	os.WriteFile(p, b, 0o644)
	sts, err := m.Verify(filepath.Join(dir, "models"))
	if !errors.Is(err, ErrMismatch) || sts[0].OK {
		t.Errorf("Verify after tampering: %+v, %v", sts, err)
	}
	if _, err := m.Load(filepath.Join(dir, "models"), "model.onnx"); !errors.Is(err, ErrMismatch) || !errors.Is(err, fault.Unavailable) {
		t.Errorf("Load after tampering: %v", err)
	}
	// Fetch repairs it from the verified cached tarball.
	if err := m.Fetch(ctx, srv.Client(), filepath.Join(dir, "cache"), filepath.Join(dir, "models"), nil, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Load(filepath.Join(dir, "models"), "model.onnx"); err != nil {
		t.Errorf("after repair: %v", err)
	}
	// A registry serving other bytes under the pinned name is refused, nothing installed.
	served = append(bytes.Clone(tgz[:len(tgz)-1]), tgz[len(tgz)-1]^1)
	fresh := t.TempDir()
	err = m.Fetch(ctx, srv.Client(), filepath.Join(fresh, "cache"), filepath.Join(fresh, "models"), nil, func(string) {})
	if !errors.Is(err, ErrMismatch) {
		t.Errorf("substituted tarball: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fresh, "models", "model.onnx")); err == nil {
		t.Error("a file from a tarball that failed its integrity was installed")
	}
	if _, err := m.Load(filepath.Join(fresh, "models"), "model.onnx"); !errors.Is(err, ErrMissing) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := m.Load(dir, "nope"); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown name: %v", err)
	}
}

// TestPinnedManifestIsInstalled checks the real supply chain that make setup installs.
func TestPinnedManifestIsInstalled(t *testing.T) {
	m := Pinned()
	if len(m.Files) < 2 || len(m.Packages) < 2 {
		t.Fatalf("manifest: %+v", m)
	}
	sts, err := m.Verify(DefaultDir(os.Getenv))
	if err != nil {
		t.Fatalf("pinned files not installed or altered (run make setup-test): %v %+v", err, sts)
	}
}

// TestDerivedFiles: a converter's output is installed only when it matches
// its pin; a converter that produces other bytes stops Fetch.
func TestDerivedFiles(t *testing.T) {
	content := []byte("source weights")
	tgz, m := fakePackage(t, content)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(tgz) }))
	defer srv.Close()
	m.Packages[0].Tarball = srv.URL + "/fake.tgz"
	want := bytes.ToUpper(content)
	sum := sha256.Sum256(want)
	m.Files = append(m.Files, File{Name: "model.converted", Convert: &Conversion{Tool: "upper", Sources: []string{"model.onnx"}}, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(want))})
	upper := func(_ context.Context, src [][]byte, _ json.RawMessage) ([]byte, error) {
		return bytes.ToUpper(src[0]), nil
	}
	lower := func(_ context.Context, src [][]byte, _ json.RawMessage) ([]byte, error) {
		return bytes.ToLower(src[0]), nil
	}
	dir := t.TempDir()
	ctx := context.Background()
	err := m.Fetch(ctx, srv.Client(), filepath.Join(dir, "cache"), filepath.Join(dir, "bad"), map[string]Converter{"upper": lower}, func(string) {})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("converter with other output: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad", "model.converted")); err == nil {
		t.Fatal("a mismatching converted file was installed")
	}
	if err := m.Fetch(ctx, srv.Client(), filepath.Join(dir, "cache"), filepath.Join(dir, "bad"), nil, func(string) {}); !errors.Is(err, ErrUnknown) {
		t.Fatalf("missing converter: %v", err)
	}
	if err := m.Fetch(ctx, srv.Client(), filepath.Join(dir, "cache"), filepath.Join(dir, "good"), map[string]Converter{"upper": upper}, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Load(filepath.Join(dir, "good"), "model.converted"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("converted = %q, %v", got, err)
	}
}
