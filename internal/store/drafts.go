package store

import (
	"context"
	"time"
)

// Draft records one generated image waiting for its subject's decision
// (package draft): which source photo and purpose it came from, what made
// it and when it expires. The image and its caption are a sealed object
// named by ID under the purpose's scope key; no content is in the record.
type Draft struct {
	ID          string
	TenantID    string
	SubjectHash string
	// SourceAsset is the photo it was generated from ("" if none).
	SourceAsset string
	// Purpose is the consent purpose that allowed it (meme_generation,
	// plugin:<name>); its scope key seals the draft.
	Purpose string
	// Feature is the generator's feature ("meme", "plugin").
	Feature   string
	Retention string
	Size      int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Generated marks an asset that a subject accepted from a draft: what made
// it and a keyed reference to its source photo (never the source's id).
// It goes with its asset (deleting the asset deletes it).
type Generated struct {
	AssetID     string
	TenantID    string
	SubjectHash string
	Feature     string
	Name        string
	Version     string
	SourceRef   string
	// GenerationID is the watermark's generation id ("" if none).
	GenerationID string
	CreatedAt    time.Time
}

// Drafts stores draft records and the generated marks of accepted drafts.
type Drafts interface {
	// PutDraft records a draft whose sealed object is already written.
	PutDraft(ctx context.Context, d Draft) error
	// Draft returns the tenant's draft or fault.NotFound.
	Draft(ctx context.Context, tenantID, id string) (Draft, error)
	// SubjectDrafts lists the subject's drafts, oldest first.
	SubjectDrafts(ctx context.Context, tenantID, subjectHash string) ([]Draft, error)
	// AssetDrafts lists the drafts generated from one photo.
	AssetDrafts(ctx context.Context, tenantID, assetID string) ([]Draft, error)
	// ExpiredDrafts lists up to limit drafts expired at t, across tenants.
	ExpiredDrafts(ctx context.Context, t time.Time, limit int) ([]Draft, error)
	// DeleteDraft removes a draft record; a missing one is fault.NotFound.
	DeleteDraft(ctx context.Context, tenantID, id string) error
	// AcceptDraft atomically stores a's record with its generated mark,
	// clears a's pending mark and deletes the draft record: a draft
	// accepted twice (even concurrently) is fault.NotFound the second time
	// and nothing is stored.
	AcceptDraft(ctx context.Context, draftID string, a Asset, g Generated) error
	// SubjectGenerated lists the generated marks of the subject's assets.
	SubjectGenerated(ctx context.Context, tenantID, subjectHash string) ([]Generated, error)
}
