package store

import (
	"context"
	"time"
)

// ProvenanceCert is a certificate the provenance service issued: the
// installation CA (TenantID "") or a tenant's claim-signing certificate, by
// version. The private keys stay in the key service; only DER is stored.
type ProvenanceCert struct {
	TenantID  string
	Version   int
	Serial    string // hex
	DER       []byte
	CreatedAt time.Time
	RevokedAt time.Time // zero while valid
}

// ProvenanceMark records that a watermark generation id was issued, stored
// only as a keyed hash; nothing in it names a subject or an image (the
// asset a draft became is found through its generated mark, which goes
// with the asset).
type ProvenanceMark struct {
	TenantID  string
	MarkHash  string
	CreatedAt time.Time
}

// AssetProvenance records what an upload carried before ingest stripped
// it: a valid Obscura manifest, a watermark of this tenant.
type AssetProvenance struct {
	TenantID  string
	AssetID   string
	Manifest  bool
	Watermark bool
}

// Provenance stores provenance certificates, watermark marks and what
// uploads carried.
type Provenance interface {
	// AddProvenanceCert stores a new certificate version; an existing
	// (tenant, version) is fault.Conflict.
	AddProvenanceCert(ctx context.Context, c ProvenanceCert) error
	// ProvenanceCerts lists every certificate, by tenant then version.
	ProvenanceCerts(ctx context.Context) ([]ProvenanceCert, error)
	// RevokeProvenanceCert marks a version revoked (idempotent); unknown is
	// fault.NotFound.
	RevokeProvenanceCert(ctx context.Context, tenantID string, version int, at time.Time) error
	// RecordProvenanceMark stores a new mark; a duplicate is fault.Conflict.
	RecordProvenanceMark(ctx context.Context, m ProvenanceMark) error
	// ProvenanceMark returns a tenant's mark; unknown is fault.NotFound.
	ProvenanceMark(ctx context.Context, tenantID, markHash string) (ProvenanceMark, error)
	// GeneratedAssetByGenerationID returns the id of the tenant's asset
	// accepted from a draft with this watermark generation id (Generated);
	// none is fault.NotFound.
	GeneratedAssetByGenerationID(ctx context.Context, tenantID, generationID string) (string, error)
	// SetAssetProvenance records what an upload carried (replacing).
	SetAssetProvenance(ctx context.Context, p AssetProvenance) error
	// AssetProvenance returns it; an asset without a record is fault.NotFound.
	AssetProvenance(ctx context.Context, tenantID, assetID string) (AssetProvenance, error)
	// SetWatermarkOff turns a tenant's watermark off (true) or on (false).
	SetWatermarkOff(ctx context.Context, tenantID string, off bool) error
	// WatermarkOff reports the setting (false when never set).
	WatermarkOff(ctx context.Context, tenantID string) (bool, error)
}
