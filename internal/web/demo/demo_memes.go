package demo

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/meme"
	"github.com/obscuraproject/obscura/internal/web"
)

// memeMaker makes meme drafts (package meme).
type memeMaker interface {
	Generate(ctx context.Context, tenant, key, assetID string, req meme.Request) ([]meme.Made, error)
}

// demoMemes grants meme_generation to the demo subject and makes three
// drafts of the photo; the page shows them to keep or delete.
func (d *Demo) demoMemes(ctx context.Context, subject, assetID string) ([]web.DraftView, string, error) {
	if _, err := d.Consent.Grant(ctx, DemoTenant, subject, consent.Grant{Purpose: meme.Purpose, Notice: "demo"}); err != nil {
		return nil, "", err
	}
	made, err := d.Memes.Generate(ctx, DemoTenant, "", assetID, meme.Request{Count: meme.DefaultCount})
	if errors.Is(err, meme.ErrNotEligible) || errors.Is(err, meme.ErrNoCaption) {
		return nil, "No meme drafts for this photo (its safety checks, part of meme suggestions, refused it).", nil
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]web.DraftView, 0, len(made))
	for _, m := range made {
		v := web.DraftView{ID: m.Draft.ID, Made: "meme", Expires: m.Draft.ExpiresAt.UTC().Format("15:04 MST")}
		if c := m.Draft.Caption; c != nil {
			v.Top, v.Bottom = c.Top, c.Bottom
		}
		out = append(out, v)
	}
	return out, "", nil
}

// draftImage sends a demo draft's image.
func (d *Demo) draftImage(w http.ResponseWriter, r *http.Request) {
	if d.Drafts == nil {
		http.NotFound(w, r)
		return
	}
	img, err := d.Drafts.Image(r.Context(), DemoTenant, r.PathValue("id"))
	web.SendImage(w, r, "jpeg", img, err)
}

// draftDecision keeps or deletes a demo draft.
func (d *Demo) draftDecision(w http.ResponseWriter, r *http.Request) {
	tok := csrf(w, r)
	if sent := r.PostFormValue("csrf"); subtle.ConstantTimeCompare([]byte(sent), []byte(tok)) != 1 || sent == "" {
		d.render(w, http.StatusForbidden, page{CSRF: tok, Error: "This form has expired; please try again."})
		return
	}
	if d.Drafts == nil {
		http.NotFound(w, r)
		return
	}
	var err error
	notice := "Deleted the draft."
	switch id := r.PostFormValue("draft"); r.PostFormValue("action") {
	case "accept":
		_, err = d.Drafts.Accept(r.Context(), DemoTenant, id)
		notice = "Kept: the meme is now a photo of the demo subject, marked generated."
	case "reject":
		err = d.Drafts.Reject(r.Context(), DemoTenant, id)
	default:
		d.render(w, http.StatusBadRequest, page{CSRF: tok, Error: "Unknown action."})
		return
	}
	if err != nil {
		d.render(w, http.StatusNotFound, page{CSRF: tok, Error: "That draft has expired."})
		return
	}
	d.render(w, http.StatusOK, page{CSRF: tok, Notice: notice})
}
