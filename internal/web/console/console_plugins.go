package console

import (
	"context"
	"slices"

	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/plugin"
)

// pluginLister lists the installed plugins (package plugin's registry).
type pluginLister interface {
	List(ctx context.Context) ([]plugin.Manifest, error)
}

// consolePlugin is one installed plugin as the console shows it.
type consolePlugin struct {
	Name, Version, Publisher, Feature string
	Faces                             bool
	// Disabled: a kill switch stops it for the page's scope (the tenant, or
	// the whole installation).
	Disabled bool
}

// loadPlugins lists the installed plugins with whether each is stopped
// for tenant ("" = the installation): disabling one is the kill switch
// feature plugin:<name> (the existing kill-switch form).
func (c *Console) loadPlugins(ctx context.Context, tenant string, pg *consolePage) error {
	if c.Plugins == nil {
		return nil
	}
	ms, err := c.Plugins.List(ctx)
	if err != nil {
		return err
	}
	active := c.Kill.Active()
	for _, m := range ms {
		f := plugin.Feature(m.Name)
		sc, err := incident.Scope(tenant, f)
		if err != nil {
			return err
		}
		all, _ := incident.Scope(tenant, "plugins")
		pg.Plugins = append(pg.Plugins, consolePlugin{Name: m.Name, Version: m.Version, Publisher: m.Publisher, Feature: f, Faces: m.HasFaces(),
			Disabled: slices.Contains(active, sc) || slices.Contains(active, all) || slices.Contains(active, "feature:"+f)})
	}
	return nil
}
