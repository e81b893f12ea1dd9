package generated

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/store"
)

// DraftService keeps generated images until their subject decides
// (package draft).
type DraftService interface {
	List(ctx context.Context, tenant, subjectHash string) ([]draft.Draft, error)
	NewDownload(ctx context.Context, tenant, id string) (string, time.Time, error)
	Accept(ctx context.Context, tenant, id string) (store.Asset, error)
	Reject(ctx context.Context, tenant, id string) error
}

// DraftsOutput lists a subject's drafts.
type DraftsOutput struct {
	Body struct {
		Drafts []draft.Draft `json:"drafts"`
	}
}

// DraftIDInput names a draft.
type DraftIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

// AcceptDraftOutput is the asset a draft became.
type AcceptDraftOutput struct {
	Body struct {
		AssetID string `json:"asset_id"`
	}
}

// Deps are the services the generated-image operations use; nil ones
// leave their operations out.
type Deps struct {
	Drafts     DraftService
	Memes      MemeService
	Plugins    PluginService
	Provenance ProvenanceService
	// Kill is the incident kill switch (per plugin); nil means none.
	Kill interface {
		Check(tenant, feature string) error
	}
}

// RegisterDrafts registers the draft operations.
func RegisterDrafts(h op.Host, d Deps) {
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "list-drafts", Method: http.MethodGet, Path: "/v1/subjects/{subject}/drafts", Tags: []string{"drafts"},
		Summary:     "A subject's drafts: generated images (memes, plugin outputs) waiting to be accepted or rejected",
		Description: "Each draft expires after draft_ttl (default 1 h). Revoking the purpose that made it, deleting its source photo or erasing the subject removes it.",
		Security:    op.Secured(auth.ScopeAnalyze), Errors: errs,
	}, func(ctx context.Context, in *op.SubjectInput) (*DraftsOutput, error) {
		ds, err := d.Drafts.List(ctx, op.Principal(ctx).TenantID, h.HashID("subject", in.Subject))
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &DraftsOutput{}
		out.Body.Drafts = ds
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "create-draft-download", Method: http.MethodPost, Path: "/v1/drafts/{id}/download", Tags: []string{"drafts"},
		Summary:  "Get a short-lived, single-use download URL for a draft's image (as for assets)",
		Security: op.Secured(auth.ScopeAnalyze), Errors: errs,
	}, func(ctx context.Context, in *DraftIDInput) (*op.DownloadOutput, error) {
		return op.NewDownload(ctx, h, d.Drafts, in.ID)
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "accept-draft", Method: http.MethodPost, Path: "/v1/drafts/{id}/accept", Tags: []string{"drafts"},
		Summary: "Accept a draft: its exact image becomes an ordinary asset of the subject, marked generated",
		Description: "The asset is the subject's own approved picture: it stays when the purpose that made it is revoked or its source photo is deleted, " +
			"and goes with erasure. It is linked to its source photo only by a keyed reference.",
		Security: op.Secured(auth.ScopeAnalyze), DefaultStatus: http.StatusCreated, Errors: errs,
	}, func(ctx context.Context, in *DraftIDInput) (*AcceptDraftOutput, error) {
		as, err := d.Drafts.Accept(ctx, op.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &AcceptDraftOutput{}
		out.Body.AssetID = as.ID
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "reject-draft", Method: http.MethodPost, Path: "/v1/drafts/{id}/reject", Tags: []string{"drafts"},
		Summary:  "Reject a draft: its image, caption and record are deleted",
		Security: op.Secured(auth.ScopeAnalyze), DefaultStatus: http.StatusNoContent, Errors: errs,
	}, func(ctx context.Context, in *DraftIDInput) (*struct{}, error) {
		return nil, h.Fail(ctx, d.Drafts.Reject(ctx, op.Principal(ctx).TenantID, in.ID))
	})
}
