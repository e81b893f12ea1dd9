package sqlstore

import (
	"context"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// PutPluginPublisher implements store.Plugins.
func (s *Store) PutPluginPublisher(ctx context.Context, p store.PluginPublisher) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO plugin_publishers(name, public_key, created_at) VALUES (?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET public_key = excluded.public_key, created_at = excluded.created_at`,
		p.Name, p.PublicKey, unix(p.CreatedAt))
	return s.classify("put plugin publisher", err)
}

// PluginPublisher implements store.Plugins.
func (s *Store) PluginPublisher(ctx context.Context, name string) (store.PluginPublisher, error) {
	p := store.PluginPublisher{Name: name}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT public_key, created_at FROM plugin_publishers WHERE name = ?`, name).Scan(&p.PublicKey, &at)
	p.CreatedAt = fromUnix(at)
	return p, s.classify("plugin publisher", err)
}

// PutPlugin implements store.Plugins.
func (s *Store) PutPlugin(ctx context.Context, p store.PluginRecord) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO plugins(name, version, publisher, sha256, manifest, module, installed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET version = excluded.version, publisher = excluded.publisher, sha256 = excluded.sha256,
			manifest = excluded.manifest, module = excluded.module, installed_at = excluded.installed_at`,
		p.Name, p.Version, p.Publisher, p.SHA256, p.Manifest, p.Module, unix(p.InstalledAt))
	return s.classify("put plugin", err)
}

// Plugin implements store.Plugins.
func (s *Store) Plugin(ctx context.Context, name string) (store.PluginRecord, error) {
	p := store.PluginRecord{Name: name}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT version, publisher, sha256, manifest, module, installed_at FROM plugins WHERE name = ?`, name).
		Scan(&p.Version, &p.Publisher, &p.SHA256, &p.Manifest, &p.Module, &at)
	p.InstalledAt = fromUnix(at)
	return p, s.classify("plugin", err)
}

// Plugins implements store.Plugins.
func (s *Store) Plugins(ctx context.Context) ([]store.PluginRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, version, publisher, sha256, manifest, installed_at FROM plugins ORDER BY name`)
	if err != nil {
		return nil, s.classify("plugins", err)
	}
	defer rows.Close()
	var out []store.PluginRecord
	for rows.Next() {
		var p store.PluginRecord
		var at int64
		if err := rows.Scan(&p.Name, &p.Version, &p.Publisher, &p.SHA256, &p.Manifest, &at); err != nil {
			return nil, s.classify("plugins", err)
		}
		p.InstalledAt = fromUnix(at)
		out = append(out, p)
	}
	return out, s.classify("plugins", rows.Err())
}

// DeletePlugin implements store.Plugins.
func (s *Store) DeletePlugin(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM plugins WHERE name = ?`, name)
	if err != nil {
		return s.classify("delete plugin", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "not found")
	}
	return nil
}
