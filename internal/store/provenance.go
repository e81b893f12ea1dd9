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

// ProvenanceMark links a watermark generation id, stored only as a keyed
// hash, to the generated image it went into: the draft, and the asset the
// draft became once accepted.
type ProvenanceMark struct {
	TenantID    string
	MarkHash    string
	SubjectHash string
	DraftID     string // "" until linked
	AssetID     string // "" until the draft is accepted
	CreatedAt   time.Time
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
	// LinkProvenanceMark sets the draft and/or asset of a mark (empty
	// arguments leave a field as it is); unknown is fault.NotFound.
	LinkProvenanceMark(ctx context.Context, tenantID, markHash, draftID, assetID string) error
	// ProvenanceMark returns a tenant's mark; unknown is fault.NotFound.
	ProvenanceMark(ctx context.Context, tenantID, markHash string) (ProvenanceMark, error)
	// DeleteProvenanceMarks deletes a subject's marks and returns how many.
	DeleteProvenanceMarks(ctx context.Context, tenantID, subjectHash string) (int, error)
	// SetAssetProvenance records what an upload carried (replacing).
	SetAssetProvenance(ctx context.Context, p AssetProvenance) error
	// AssetProvenance returns it; an asset without a record is fault.NotFound.
	AssetProvenance(ctx context.Context, tenantID, assetID string) (AssetProvenance, error)
	// SetWatermarkOff turns a tenant's watermark off (true) or on (false).
	SetWatermarkOff(ctx context.Context, tenantID string, off bool) error
	// WatermarkOff reports the setting (false when never set).
	WatermarkOff(ctx context.Context, tenantID string) (bool, error)
}
