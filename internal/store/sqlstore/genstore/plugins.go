package genstore

import (
	"context"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

// PutPluginPublisher implements store.Plugins.
func (s *Generators) PutPluginPublisher(ctx context.Context, p store.PluginPublisher) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO plugin_publishers(name, public_key, created_at) VALUES (?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET public_key = excluded.public_key, created_at = excluded.created_at`,
		p.Name, p.PublicKey, sqlstore.Unix(p.CreatedAt))
	return s.c.Classify("put plugin publisher", err)
}

// PluginPublisher implements store.Plugins.
func (s *Generators) PluginPublisher(ctx context.Context, name string) (store.PluginPublisher, error) {
	p := store.PluginPublisher{Name: name}
	var at int64
	err := s.c.R.QueryRowContext(ctx, `SELECT public_key, created_at FROM plugin_publishers WHERE name = ?`, name).Scan(&p.PublicKey, &at)
	p.CreatedAt = sqlstore.FromUnix(at)
	return p, s.c.Classify("plugin publisher", err)
}

// PutPlugin implements store.Plugins.
func (s *Generators) PutPlugin(ctx context.Context, p store.PluginRecord) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO plugins(name, version, publisher, sha256, manifest, module, installed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET version = excluded.version, publisher = excluded.publisher, sha256 = excluded.sha256,
			manifest = excluded.manifest, module = excluded.module, installed_at = excluded.installed_at`,
		p.Name, p.Version, p.Publisher, p.SHA256, p.Manifest, p.Module, sqlstore.Unix(p.InstalledAt))
	return s.c.Classify("put plugin", err)
}

// Plugin implements store.Plugins.
func (s *Generators) Plugin(ctx context.Context, name string) (store.PluginRecord, error) {
	p := store.PluginRecord{Name: name}
	var at int64
	err := s.c.R.QueryRowContext(ctx, `SELECT version, publisher, sha256, manifest, module, installed_at FROM plugins WHERE name = ?`, name).
		Scan(&p.Version, &p.Publisher, &p.SHA256, &p.Manifest, &p.Module, &at)
	p.InstalledAt = sqlstore.FromUnix(at)
	return p, s.c.Classify("plugin", err)
}

// Plugins implements store.Plugins.
func (s *Generators) Plugins(ctx context.Context) ([]store.PluginRecord, error) {
	rows, err := s.c.R.QueryContext(ctx, `SELECT name, version, publisher, sha256, manifest, installed_at FROM plugins ORDER BY name`)
	if err != nil {
		return nil, s.c.Classify("plugins", err)
	}
	defer rows.Close()
	var out []store.PluginRecord
	for rows.Next() {
		var p store.PluginRecord
		var at int64
		if err := rows.Scan(&p.Name, &p.Version, &p.Publisher, &p.SHA256, &p.Manifest, &at); err != nil {
			return nil, s.c.Classify("plugins", err)
		}
		p.InstalledAt = sqlstore.FromUnix(at)
		out = append(out, p)
	}
	return out, s.c.Classify("plugins", rows.Err())
}

// DeletePlugin implements store.Plugins.
func (s *Generators) DeletePlugin(ctx context.Context, name string) error {
	res, err := s.c.W.ExecContext(ctx, `DELETE FROM plugins WHERE name = ?`, name)
	if err != nil {
		return s.c.Classify("delete plugin", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "not found")
	}
	return nil
}
