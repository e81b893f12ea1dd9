package genstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/sqlstore"
)

var _ store.Provenance = (*Generators)(nil)

// AddProvenanceCert implements store.Provenance.
func (s *Generators) AddProvenanceCert(ctx context.Context, c store.ProvenanceCert) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO provenance_certs(tenant_id, version, serial, der, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.TenantID, c.Version, c.Serial, c.DER, sqlstore.Unix(c.CreatedAt), sqlstore.Unix(c.RevokedAt))
	return s.c.Classify("add provenance cert", err)
}

// ProvenanceCerts implements store.Provenance.
func (s *Generators) ProvenanceCerts(ctx context.Context) ([]store.ProvenanceCert, error) {
	rows, err := s.c.R.QueryContext(ctx, `SELECT tenant_id, version, serial, der, created_at, revoked_at FROM provenance_certs ORDER BY tenant_id, version`)
	if err != nil {
		return nil, s.c.Classify("provenance certs", err)
	}
	defer rows.Close()
	var out []store.ProvenanceCert
	for rows.Next() {
		var c store.ProvenanceCert
		var created, revoked int64
		if err := rows.Scan(&c.TenantID, &c.Version, &c.Serial, &c.DER, &created, &revoked); err != nil {
			return nil, s.c.Classify("provenance certs", err)
		}
		c.CreatedAt, c.RevokedAt = sqlstore.FromUnix(created), sqlstore.FromUnix(revoked)
		out = append(out, c)
	}
	return out, s.c.Classify("provenance certs", rows.Err())
}

// RevokeProvenanceCert implements store.Provenance.
func (s *Generators) RevokeProvenanceCert(ctx context.Context, tenantID string, version int, at time.Time) error {
	res, err := s.c.W.ExecContext(ctx, `UPDATE provenance_certs SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END
		WHERE tenant_id = ? AND version = ?`, sqlstore.Unix(at), tenantID, version)
	if err != nil {
		return s.c.Classify("revoke provenance cert", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "no such provenance certificate")
	}
	return nil
}

// RecordProvenanceMark implements store.Provenance.
func (s *Generators) RecordProvenanceMark(ctx context.Context, m store.ProvenanceMark) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO provenance_marks(tenant_id, mark_hash, created_at) VALUES (?, ?, ?)`,
		m.TenantID, m.MarkHash, sqlstore.Unix(m.CreatedAt))
	return s.c.Classify("record provenance mark", err)
}

// ProvenanceMark implements store.Provenance.
func (s *Generators) ProvenanceMark(ctx context.Context, tenantID, markHash string) (store.ProvenanceMark, error) {
	m := store.ProvenanceMark{TenantID: tenantID, MarkHash: markHash}
	var created int64
	err := s.c.R.QueryRowContext(ctx, `SELECT created_at FROM provenance_marks WHERE tenant_id = ? AND mark_hash = ?`,
		tenantID, markHash).Scan(&created)
	m.CreatedAt = sqlstore.FromUnix(created)
	return m, s.c.Classify("provenance mark", err)
}

// GeneratedAssetByGenerationID implements store.Provenance.
func (s *Generators) GeneratedAssetByGenerationID(ctx context.Context, tenantID, generationID string) (string, error) {
	var id string
	err := s.c.R.QueryRowContext(ctx, `SELECT asset_id FROM generated_assets WHERE tenant_id = ? AND generation_id = ? AND generation_id != ''
		ORDER BY created_at LIMIT 1`, tenantID, generationID).Scan(&id)
	return id, s.c.Classify("generated asset by generation id", err)
}

// SetAssetProvenance implements store.Provenance.
func (s *Generators) SetAssetProvenance(ctx context.Context, p store.AssetProvenance) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO asset_provenance(asset_id, tenant_id, manifest, watermark) VALUES (?, ?, ?, ?)
		ON CONFLICT(asset_id) DO UPDATE SET manifest = excluded.manifest, watermark = excluded.watermark`,
		p.AssetID, p.TenantID, p.Manifest, p.Watermark)
	return s.c.Classify("set asset provenance", err)
}

// AssetProvenance implements store.Provenance.
func (s *Generators) AssetProvenance(ctx context.Context, tenantID, assetID string) (store.AssetProvenance, error) {
	p := store.AssetProvenance{TenantID: tenantID, AssetID: assetID}
	err := s.c.R.QueryRowContext(ctx, `SELECT manifest, watermark FROM asset_provenance WHERE tenant_id = ? AND asset_id = ?`,
		tenantID, assetID).Scan(&p.Manifest, &p.Watermark)
	return p, s.c.Classify("asset provenance", err)
}

// SetWatermarkOff implements store.Provenance.
func (s *Generators) SetWatermarkOff(ctx context.Context, tenantID string, off bool) error {
	_, err := s.c.W.ExecContext(ctx, `INSERT INTO provenance_settings(tenant_id, watermark_off) VALUES (?, ?)
		ON CONFLICT(tenant_id) DO UPDATE SET watermark_off = excluded.watermark_off`, tenantID, off)
	return s.c.Classify("set watermark setting", err)
}

// WatermarkOff implements store.Provenance.
func (s *Generators) WatermarkOff(ctx context.Context, tenantID string) (bool, error) {
	var off bool
	err := s.c.R.QueryRowContext(ctx, `SELECT watermark_off FROM provenance_settings WHERE tenant_id = ?`, tenantID).Scan(&off)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return off, s.c.Classify("watermark setting", err)
}
