package generated

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/meme"
)

// MemeService makes meme drafts and checks captions (package meme).
type MemeService interface {
	Generate(ctx context.Context, tenant, key, assetID string, req meme.Request) ([]meme.Made, error)
	Check(text string) (bool, []string)
}

// MemesInput asks for meme drafts of a photo.
type MemesInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Count int `json:"count,omitempty" minimum:"1" maximum:"5" doc:"How many drafts (default 3; 1 with your own text)"`
		Text  *struct {
			Top    string `json:"top,omitempty" maxLength:"480" doc:"At most 120 characters"`
			Bottom string `json:"bottom,omitempty" maxLength:"480" doc:"At most 120 characters"`
		} `json:"text,omitempty" doc:"The subject's own caption, checked by the sensitive-attribute filter (422 caption_rejected with categories)"`
		Seed uint64 `json:"seed,omitempty" doc:"Varies the choice among equally fitting captions (same photo, grants and seed: same captions)"`
	}
}

// MemeCaption is a draft's caption.
type MemeCaption struct {
	Top    string `json:"top"`
	Bottom string `json:"bottom"`
}

// MemeDraft is one meme draft made.
type MemeDraft struct {
	DraftID   string      `json:"draft_id"`
	Caption   MemeCaption `json:"caption"`
	Template  string      `json:"template" doc:"The caption library template's id, or \"user\""`
	ExpiresAt time.Time   `json:"expires_at"`
}

// MemesOutput lists the drafts made.
type MemesOutput struct {
	Body struct {
		Drafts []MemeDraft `json:"drafts"`
	}
}

// CaptionCheckInput is text to pre-check.
type CaptionCheckInput struct {
	Body struct {
		Text string `json:"text" maxLength:"2000"`
	}
}

// CaptionCheckOutput is the filter's verdict.
type CaptionCheckOutput struct {
	Body struct {
		Allowed    bool     `json:"allowed"`
		Categories []string `json:"categories" doc:"Sensitive categories the text touches (empty when allowed)"`
	}
}

// RegisterMemes registers the meme operations.
func RegisterMemes(h op.Host, d Deps) {
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "create-memes", Method: http.MethodPost, Path: "/v1/assets/{id}/memes", Tags: []string{"drafts"},
		Summary: "Make meme drafts of a photo",
		Description: "Needs the subject's meme_generation consent. Captions draw on tags only with tagging consent and on text read from the photo " +
			"only with text_detection consent; every caption passes the sensitive-attribute filter. No drafts for photos the safety checks refuse " +
			"(422 meme_unavailable); on photos with faces only person-safe templates. Each draft lives draft_ttl (default 1 h) until accepted or rejected.",
		Security: op.Secured(auth.ScopeAnalyze), Metadata: map[string]any{"feature": "memes", "rate_class": guard.ClassAnalyze},
		Extensions: map[string]any{"x-obscura-purposes": []string{meme.Purpose}}, DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *MemesInput) (*MemesOutput, error) {
		release, err := h.Admit(ctx)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		defer release()
		req := meme.Request{Count: in.Body.Count, Seed: in.Body.Seed}
		if in.Body.Text != nil {
			req.Top, req.Bottom = in.Body.Text.Top, in.Body.Text.Bottom
		}
		made, err := d.Memes.Generate(ctx, op.Principal(ctx).TenantID, op.Principal(ctx).KeyID, in.ID, req)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &MemesOutput{}
		out.Body.Drafts = []MemeDraft{}
		for _, m := range made {
			d := MemeDraft{DraftID: m.Draft.ID, Template: m.Template, ExpiresAt: m.Draft.ExpiresAt}
			if c := m.Draft.Caption; c != nil {
				d.Caption = MemeCaption{Top: c.Top, Bottom: c.Bottom}
			}
			out.Body.Drafts = append(out.Body.Drafts, d)
		}
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "check-caption", Method: http.MethodPost, Path: "/v1/captions/check", Tags: []string{"drafts"},
		Summary:     "Pre-check a caption with the sensitive-attribute filter",
		Description: "The same filter POST /v1/assets/{id}/memes applies to a user's own caption (without the names of tagged people, which need a subject).",
		Security:    op.Secured(auth.ScopeAnalyze), Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *CaptionCheckInput) (*CaptionCheckOutput, error) {
		out := &CaptionCheckOutput{}
		out.Body.Allowed, out.Body.Categories = d.Memes.Check(in.Body.Text)
		if out.Body.Categories == nil {
			out.Body.Categories = []string{}
		}
		return out, nil
	})
}
