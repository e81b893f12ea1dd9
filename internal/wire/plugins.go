package wire

import (
	"context"
	"os"
	"path/filepath"

	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/pipeline"
	"github.com/obscuraproject/obscura/internal/plugin"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// openPlugins builds the plugin runtime (compiled modules cached under the
// data dir), the installation's plugin registry and, with an engine, the
// runner that takes a plugin through the consented run into a draft.
func (g *Graph) openPlugins(ctx context.Context, getenv func(string) string, eng Vision) error {
	cfg := g.Config
	rt, err := plugin.NewRuntime(ctx, plugin.Config{Timeout: cfg.PluginTimeout, MaxMemory: int64(cfg.PluginMaxMemoryMB) << 20,
		Concurrency: cfg.PluginConcurrency, CacheDir: filepath.Join(cfg.Data, "plugin-cache")})
	if err != nil {
		return err
	}
	g.Plugins = plugin.NewRegistry(g.Store, rt, g.Clock, g.Alerts, g.Audit, g.Log)
	g.pluginDir = PluginDir(getenv)
	g.Consents.PluginNotice = g.Plugins.Notice
	if eng == nil {
		return nil
	}
	// Photos are decoded where analysis decodes them (the sandboxed worker
	// in serve), at the engine's decode size.
	run := pipeline.New(pipeline.Deps{Decoder: eng, Assets: g.Uploads, Photos: g.Objects, Consent: g.Consents, Audit: g.Audit,
		Clock: g.Clock, Guard: g.Extraction, Thumbnail: guard.Thumbnail})
	g.PluginRuns = plugin.NewRunner(plugin.RunnerDeps{Registry: g.Plugins, Pipeline: run, Faces: engineFaces{eng}, Drafts: g.Drafts,
		Hash: g.Keys, Alerts: g.Alerts, Audit: g.Audit, Clock: g.Clock, Log: g.Log})
	return nil
}

// engineFaces finds faces with the engine's detector (BlazeFace), boxes in
// full-size pixels.
type engineFaces struct{ eng Vision }

func (e engineFaces) DetectFaces(ctx context.Context, p *picture.Picture) ([]plugin.Box, error) {
	res, err := e.eng.AnalyzePicture(ctx, p, []string{vision.Faces})
	if err != nil {
		return nil, err
	}
	out := make([]plugin.Box, 0, len(res.Faces))
	for _, f := range res.Faces {
		out = append(out, plugin.Box{X: int(f.Box.X), Y: int(f.Box.Y), W: int(f.Box.W + 0.999), H: int(f.Box.H + 0.999)})
	}
	return out, nil
}

// PluginDir is where setup builds the shipped plugins: $OBSCURA_PLUGINS,
// else $OBSCURA_CACHE/plugins (or the user cache dir's obscura/plugins).
func PluginDir(getenv func(string) string) string {
	if d := getenv("OBSCURA_PLUGINS"); d != "" {
		return d
	}
	if c := getenv("OBSCURA_CACHE"); c != "" {
		return filepath.Join(c, "plugins")
	}
	if c, err := os.UserCacheDir(); err == nil {
		return filepath.Join(c, "obscura", "plugins")
	}
	return "plugins"
}

// InstallBuiltinPlugins installs (or updates) the shipped plugins that
// setup built, signed with the installation's own publisher key (sealed
// in the keyring, use "plugin-publisher"). Called when serve starts.
func (g *Graph) InstallBuiltinPlugins(ctx context.Context) error {
	key, err := g.Keys.TenantSigner(ctx, "", "plugin-publisher")
	if err != nil {
		return err
	}
	done, err := g.Plugins.InstallBuiltins(ctx, key, g.pluginDir)
	if len(done) > 0 {
		g.Log.Info("installed built-in plugins", "component", "wire", "plugins", done)
	}
	return err
}
