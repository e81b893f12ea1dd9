package plugin

import (
	"context"
	"crypto/ed25519"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/tetratelabs/wazero"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// BuiltinPublisher is the installation's own publisher: it signs the
// plugins shipped in the repository (plugins/…), built at setup, with the
// installation's sealed Ed25519 key (keyring use "plugin-publisher").
const BuiltinPublisher = "obscura-local"

// AlertEscape is the alert rule raised for a module that imports anything
// outside the allow-list, and for a run that breaks a limit.
const (
	AlertEscape = "plugin_escape_attempt"
	AlertFailed = "plugin_failed"
)

//go:embed builtin/*.json
var builtinFS embed.FS

// Signer signs with a key that never leaves it (keyring.Signer).
type Signer interface {
	Sign(msg []byte) ([]byte, error)
	PublicKey() ed25519.PublicKey
}

type alerter interface {
	Raise(ctx context.Context, a store.Alert)
}

type auditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Registry is the installation's plugin registry: trusted publishers,
// installed plugins, and their compiled modules.
type Registry struct {
	st     store.Plugins
	rt     *Runtime
	clk    clock.Clock
	alerts alerter  // nil: none
	audit  auditLog // nil: none
	log    *slog.Logger
}

// NewRegistry returns a registry over st, compiling with rt. alerts and
// audit may be nil.
func NewRegistry(st store.Plugins, rt *Runtime, clk clock.Clock, alerts alerter, al auditLog, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{st: st, rt: rt, clk: clk, alerts: alerts, audit: al, log: log.With("component", "plugin")}
}

// Runtime is the registry's runtime.
func (r *Registry) Runtime() *Runtime { return r.rt }

// Trust records a publisher's public key (replacing an earlier one).
func (r *Registry) Trust(ctx context.Context, name string, key ed25519.PublicKey) error {
	if !namePattern.MatchString(name) {
		return fault.New(fault.Invalid, "publisher name must match "+namePattern.String())
	}
	if len(key) != ed25519.PublicKeySize {
		return fault.New(fault.Invalid, "publisher key is not an Ed25519 public key")
	}
	return r.st.PutPluginPublisher(ctx, store.PluginPublisher{Name: name, PublicKey: key, CreatedAt: r.clk.Now()})
}

// Install verifies and installs a plugin: the manifest parses, its
// publisher is trusted, the signature verifies, the module matches the
// signed hash and passes the import allow-list. A module importing
// anything outside the allow-list raises a plugin_escape_attempt alert.
// Every refusal is audited.
func (r *Registry) Install(ctx context.Context, wasm, manifestFile []byte) (Manifest, error) {
	m, err := r.install(ctx, wasm, manifestFile)
	res, code, detail := audit.ResultOK, "", ""
	if err != nil {
		res, code, detail = audit.ResultDenied, "plugin_rejected", "refused"
		var rej *Rejection
		if errors.As(err, &rej) && rej.EscapeAttempt() {
			detail = "escape_attempt"
		}
	}
	model := ""
	if m.Name != "" {
		model = m.Name + "@" + m.Version
	}
	r.record(ctx, audit.Entry{Action: "plugin.install", Result: res, Code: code, Model: model, Bytes: int64(len(wasm)), Detail: detail})
	return m, err
}

func (r *Registry) install(ctx context.Context, wasm, manifestFile []byte) (Manifest, error) {
	s, err := ParseSigned(manifestFile)
	if err != nil {
		return Manifest{}, err
	}
	m := s.Manifest
	pub, err := r.st.PluginPublisher(ctx, m.Publisher)
	if err != nil && !errors.Is(err, fault.NotFound) {
		return m, err
	}
	if err := s.Verify(ed25519.PublicKey(pub.PublicKey), wasm); err != nil {
		return m, err
	}
	if _, err := r.rt.Compile(ctx, wasm); err != nil {
		var rej *Rejection
		if errors.As(err, &rej) && rej.EscapeAttempt() && r.alerts != nil {
			r.alerts.Raise(ctx, store.Alert{Rule: AlertEscape, Severity: "critical",
				Detail: fmt.Sprintf("plugin %s@%s of publisher %s refused at install: imports %s", m.Name, m.Version, m.Publisher, strings.Join(rej.Imports, ", "))})
		}
		return m, err
	}
	err = r.st.PutPlugin(ctx, store.PluginRecord{Name: m.Name, Version: m.Version, Publisher: m.Publisher, SHA256: m.SHA256,
		Manifest: manifestFile, Module: wasm, InstalledAt: r.clk.Now()})
	if err != nil {
		return m, err
	}
	r.log.Info("plugin installed", "plugin", m.Name, "version", m.Version, "publisher", m.Publisher)
	return m, nil
}

// List lists the installed plugins.
func (r *Registry) List(ctx context.Context) ([]Manifest, error) {
	recs, err := r.st.Plugins(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Manifest, 0, len(recs))
	for _, rec := range recs {
		s, err := ParseSigned(rec.Manifest)
		if err != nil {
			return nil, fmt.Errorf("installed plugin %s: %w", rec.Name, err)
		}
		out = append(out, s.Manifest)
	}
	return out, nil
}

// Remove uninstalls a plugin.
func (r *Registry) Remove(ctx context.Context, name string) error {
	rec, err := r.st.Plugin(ctx, name)
	if err != nil {
		return err
	}
	if err := r.st.DeletePlugin(ctx, name); err != nil {
		return err
	}
	r.rt.Forget(ctx, rec.SHA256)
	r.record(ctx, audit.Entry{Action: "plugin.remove", Result: audit.ResultOK, Model: rec.Name + "@" + rec.Version})
	return nil
}

// Loaded is an installed plugin ready to run.
type Loaded struct {
	Manifest Manifest
	Module   wazero.CompiledModule
}

// ErrNotInstalled: no plugin of that name is installed.
var ErrNotInstalled = fault.New(fault.NotFound, "no such plugin")

// Load returns an installed plugin, verifying again that its module
// matches its signed manifest and its publisher's current key.
func (r *Registry) Load(ctx context.Context, name string) (*Loaded, error) {
	if !namePattern.MatchString(name) {
		return nil, ErrNotInstalled
	}
	rec, err := r.st.Plugin(ctx, name)
	if errors.Is(err, fault.NotFound) {
		return nil, ErrNotInstalled
	}
	if err != nil {
		return nil, err
	}
	s, err := ParseSigned(rec.Manifest)
	if err != nil {
		return nil, fmt.Errorf("installed plugin %s: %w", name, err)
	}
	pub, err := r.st.PluginPublisher(ctx, s.Manifest.Publisher)
	if err != nil && !errors.Is(err, fault.NotFound) {
		return nil, err
	}
	if err := s.Verify(ed25519.PublicKey(pub.PublicKey), rec.Module); err != nil {
		return nil, fmt.Errorf("installed plugin %s no longer verifies: %w", name, err)
	}
	cm, err := r.rt.Compile(ctx, rec.Module)
	if err != nil {
		return nil, err
	}
	return &Loaded{Manifest: s.Manifest, Module: cm}, nil
}

// Builtins lists the manifests of the plugins shipped in the repository
// (their sha256 is filled in from the module setup built).
func Builtins() ([]Manifest, error) {
	ents, err := builtinFS.ReadDir("builtin")
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, e := range ents {
		b, err := builtinFS.ReadFile("builtin/" + e.Name())
		if err != nil {
			return nil, err
		}
		var m Manifest
		if err := strictUnmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("builtin manifest %s: %w", e.Name(), err)
		}
		out = append(out, m)
	}
	return out, nil
}

// InstallBuiltins trusts the installation's own publisher key and installs
// every shipped plugin whose module setup built into dir (<name>.wasm),
// signed with that key, unless the same module is already installed.
// Missing modules are skipped (setup has not built them): it returns the
// names it installed.
func (r *Registry) InstallBuiltins(ctx context.Context, key Signer, dir string) ([]string, error) {
	if err := r.Trust(ctx, BuiltinPublisher, key.PublicKey()); err != nil {
		return nil, err
	}
	ms, err := Builtins()
	if err != nil {
		return nil, err
	}
	var done []string
	for _, m := range ms {
		wasm, err := os.ReadFile(filepath.Join(dir, m.Name+".wasm"))
		if errors.Is(err, os.ErrNotExist) {
			r.log.Warn("built-in plugin not built; run scripts/setup.sh", "plugin", m.Name)
			continue
		}
		if err != nil {
			return done, err
		}
		m.SHA256 = SHA256Hex(wasm)
		if rec, err := r.st.Plugin(ctx, m.Name); err == nil && rec.SHA256 == m.SHA256 && rec.Publisher == BuiltinPublisher {
			if s, err := ParseSigned(rec.Manifest); err == nil && s.Verify(key.PublicKey(), rec.Module) == nil {
				continue
			}
		}
		file, err := Sign(m, key)
		if err != nil {
			return done, err
		}
		if _, err := r.Install(ctx, wasm, file); err != nil {
			return done, fmt.Errorf("install built-in plugin %s: %w", m.Name, err)
		}
		done = append(done, m.Name)
	}
	return done, nil
}

func (r *Registry) record(ctx context.Context, e audit.Entry) {
	if r.audit == nil {
		return
	}
	if err := r.audit.Append(ctx, e); err != nil {
		r.log.Error("audit plugin action", "action", e.Action, "err", err)
	}
}

// MarshalList is the JSON a plugin list prints (CLI, API).
func MarshalList(ms []Manifest) ([]byte, error) { return json.MarshalIndent(ms, "", "  ") }

// Notice returns an installed plugin's notice (its manifest's description,
// or a default): what a subject is told when granting plugin:<name>.
// ErrNotInstalled if it is not installed.
func (r *Registry) Notice(ctx context.Context, name string) (string, error) {
	if !namePattern.MatchString(name) {
		return "", ErrNotInstalled
	}
	rec, err := r.st.Plugin(ctx, name)
	if errors.Is(err, fault.NotFound) {
		return "", ErrNotInstalled
	}
	if err != nil {
		return "", err
	}
	s, err := ParseSigned(rec.Manifest)
	if err != nil {
		return "", err
	}
	if s.Manifest.Description != "" {
		return s.Manifest.Description, nil
	}
	return fmt.Sprintf("Run the %q plugin on your photos.", name), nil
}
