package upload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
)

type photoRecords interface {
	Asset(ctx context.Context, tenantID, id string) (store.Asset, error)
	DeleteAsset(ctx context.Context, tenantID, id string) error
	SubjectAssets(ctx context.Context, tenantID, subjectHash string) ([]store.Asset, error)
	DeleteSubjectAssets(ctx context.Context, tenantID, subjectHash string) error
}

// Photos is the subjects' stored photos as a kind of the derived-data
// registry (package derived): registered last, so a photo goes after
// everything derived from it.
type Photos struct {
	Records photoRecords
	Objects objectStore
	// MaxBytes bounds one photo read for export (default 2 × DefaultConfig's MaxBytes).
	MaxBytes int64
}

var _ derived.Kind = Photos{}

// Name implements derived.Kind.
func (Photos) Name() string { return "photos" }

// ForgetAsset implements derived.Kind: the ciphertext (its data key lives
// only in the envelope), then the record. Idempotent.
func (p Photos) ForgetAsset(ctx context.Context, tenant, assetID string) error {
	a, err := p.Records.Asset(ctx, tenant, assetID)
	if errors.Is(err, fault.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := p.Objects.Delete(ctx, sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Object: a.ID}); err != nil && !errors.Is(err, fault.NotFound) {
		return fmt.Errorf("delete photo: %w", err)
	}
	if err := p.Records.DeleteAsset(ctx, tenant, assetID); err != nil && !errors.Is(err, fault.NotFound) {
		return err
	}
	return nil
}

// ForgetPurpose implements derived.Kind: photos are the subject's own,
// not any purpose's; revoking a purpose keeps them.
func (Photos) ForgetPurpose(context.Context, string, string, string) error { return nil }

// ForgetSubject implements derived.Kind: every photo record of the
// subject (the ciphertext went with the subject's keys).
func (p Photos) ForgetSubject(ctx context.Context, tenant, subjectHash string) error {
	as, err := p.Records.SubjectAssets(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	for _, a := range as {
		if err := p.Objects.Delete(ctx, sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Object: a.ID}); err != nil && !errors.Is(err, fault.NotFound) {
			return fmt.Errorf("delete photo: %w", err)
		}
	}
	return p.Records.DeleteSubjectAssets(ctx, tenant, subjectHash)
}

// PhotoMeta is photos/<id>.json of an export bundle.
type PhotoMeta struct {
	AssetID   string    `json:"asset_id"`
	Format    string    `json:"format"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	CreatedAt time.Time `json:"created_at"`
}

var photoExt = map[string]string{"jpeg": "jpg", "png": "png", "webp": "webp"}

// Export implements derived.Kind: photos/<id>.<ext> (decrypted, the
// sanitized photo) and photos/<id>.json.
func (p Photos) Export(ctx context.Context, tenant, subjectHash string, b derived.Bundle) error {
	as, err := p.Records.SubjectAssets(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	limit := p.MaxBytes
	if limit == 0 {
		limit = 2 * DefaultConfig().MaxBytes
	}
	for _, a := range as {
		data, err := p.Objects.ReadAll(ctx, sealed.Ref{Tenant: tenant, Subject: subjectHash, Object: a.ID}, limit)
		if err != nil {
			return fmt.Errorf("export photo: %w", err)
		}
		ext := photoExt[a.Format]
		if ext == "" {
			ext = a.Format
		}
		err = b.Add("photos/"+a.ID+"."+ext, data)
		clear(data)
		if err != nil {
			return err
		}
		meta, err := json.MarshalIndent(PhotoMeta{AssetID: a.ID, Format: a.Format, Width: a.Width, Height: a.Height, CreatedAt: a.CreatedAt}, "", "  ")
		if err != nil {
			return err
		}
		if err := b.Add("photos/"+a.ID+".json", meta); err != nil {
			return err
		}
	}
	return nil
}

// Held implements derived.Kind: the subject's photo records.
func (p Photos) Held(ctx context.Context, tenant, subjectHash string) (int, error) {
	as, err := p.Records.SubjectAssets(ctx, tenant, subjectHash)
	return len(as), err
}
