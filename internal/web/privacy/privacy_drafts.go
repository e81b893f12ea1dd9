package privacy

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/web"
)

// draftsView lists the subject's drafts and the photos they accepted
// from drafts.
func (p *Privacy) draftsView(ctx context.Context, s session) ([]web.DraftView, map[string]bool, error) {
	if p.Generated == nil {
		return nil, nil, nil
	}
	ds, err := p.Generated.List(ctx, s.tenant, s.subjectHash)
	if err != nil {
		return nil, nil, err
	}
	out := make([]web.DraftView, 0, len(ds))
	for _, d := range ds {
		v := web.DraftView{ID: d.ID, Made: d.Generator.Feature, Expires: d.ExpiresAt.UTC().Format("15:04 MST, 2006-01-02")}
		if d.Caption != nil {
			v.Top, v.Bottom = d.Caption.Top, d.Caption.Bottom
		}
		out = append(out, v)
	}
	gs, err := p.Generated.Accepted(ctx, s.tenant, s.subjectHash)
	if err != nil {
		return nil, nil, err
	}
	kept := map[string]bool{}
	for _, g := range gs {
		kept[g.AssetID] = true
	}
	return out, kept, nil
}

// ownDraft reports whether id is one of the session subject's drafts.
func (p *Privacy) ownDraft(ctx context.Context, s session, id string) bool {
	if p.Generated == nil {
		return false
	}
	ds, err := p.Generated.List(ctx, s.tenant, s.subjectHash)
	return err == nil && slices.ContainsFunc(ds, func(d draft.Draft) bool { return d.ID == id })
}

// draftImage sends one of the session subject's draft images.
func (p *Privacy) draftImage(w http.ResponseWriter, r *http.Request) {
	s, ok := p.session(r)
	if !ok {
		http.Error(w, "session ended", http.StatusUnauthorized)
		return
	}
	id := r.PathValue("id")
	if !p.ownDraft(r.Context(), s, id) {
		http.NotFound(w, r)
		return
	}
	img, err := p.Generated.Image(r.Context(), s.tenant, id)
	web.SendImage(w, r, "jpeg", img, err)
}

// draftDecision accepts or rejects one of the subject's drafts.
func (p *Privacy) draftDecision(w http.ResponseWriter, r *http.Request) {
	s, ok := p.checked(w, r)
	if !ok {
		return
	}
	id, action := r.PostFormValue("draft"), r.PostFormValue("action")
	if action != "accept" && action != "reject" {
		p.view(w, r, s, http.StatusBadRequest, "", "Unknown action.")
		return
	}
	if !p.ownDraft(r.Context(), s, id) {
		p.view(w, r, s, http.StatusNotFound, "", "That draft has expired or is not yours.")
		return
	}
	if p.Audit != nil {
		if err := p.Audit.Append(r.Context(), audit.Entry{Action: "privacy.draft." + action, Tenant: s.tenant, Subject: s.subjectHash,
			Object: p.Hash.HashID("draft", id), Result: audit.ResultOK}); err != nil {
			p.fail(w, err)
			return
		}
	}
	var err error
	notice := "Deleted the draft."
	if action == "accept" {
		_, err = p.Generated.Accept(r.Context(), s.tenant, id)
		notice = "Kept: the meme is now one of your photos."
	} else {
		err = p.Generated.Reject(r.Context(), s.tenant, id)
	}
	switch {
	case errors.Is(err, fault.NotFound):
		p.view(w, r, s, http.StatusNotFound, "", "That draft has expired.")
	case err != nil:
		p.fail(w, err)
	default:
		p.view(w, r, s, http.StatusOK, notice, "")
	}
}
