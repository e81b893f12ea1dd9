package wire

import (
	"context"
	"os"
	"path/filepath"

	"github.com/obscuraproject/obscura/internal/plugin"
)

// openPlugins builds the plugin runtime (compiled modules cached under the
// data dir) and the installation's plugin registry.
func (g *Graph) openPlugins(ctx context.Context, getenv func(string) string) error {
	cfg := g.Config
	rt, err := plugin.NewRuntime(ctx, plugin.Config{Timeout: cfg.PluginTimeout, MaxMemory: int64(cfg.PluginMaxMemoryMB) << 20,
		Concurrency: cfg.PluginConcurrency, CacheDir: filepath.Join(cfg.Data, "plugin-cache")})
	if err != nil {
		return err
	}
	g.Plugins = plugin.NewRegistry(g.Store, rt, g.Clock, g.Alerts, g.Audit, g.Log)
	g.pluginDir = PluginDir(getenv)
	return nil
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
