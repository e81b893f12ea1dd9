package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/subject"
	"github.com/obscuraproject/obscura/internal/upload"
)

// The privacy center: a subject's own view of what Obscura holds and does
// for an app. The app's backend asks for a short-lived, single-use link
// (POST /v1/subjects/{subject}/privacy-link); opening it sets a session
// cookie (HttpOnly, SameSite=Strict, Secure under TLS) naming the subject
// by keyed hash only, and the pages show each purpose with a toggle (a
// biometric purpose needs its own explicit confirmation), the receipts,
// the photos and face gallery, and "erase everything". Every state change
// is a CSRF-checked form post; pages are scriptless under the same CSP as
// the demo.

// Lifetimes.
const (
	LinkTTL    = 5 * time.Minute
	SessionTTL = 30 * time.Minute
)

const sessionCookie = "obscura_privacy"

type tokenCodec interface {
	Seal(k upload.Kind, cl upload.Claims) (string, error)
	Open(k upload.Kind, tok string, now time.Time) (upload.Claims, error)
}

type linkStore interface {
	CreatePrivacyLink(ctx context.Context, l store.PrivacyLink) error
	ConsumePrivacyLink(ctx context.Context, tenantID, id string, at time.Time) (store.PrivacyLink, error)
	SubjectAssets(ctx context.Context, tenantID, subjectHash string) ([]store.Asset, error)
}

type consents interface {
	GrantHash(ctx context.Context, tenant, h string, g consent.Grant, method string) (consent.Receipt, error)
	RevokeHash(ctx context.Context, tenant, h, purpose, method string) (consent.Receipt, error)
	ListByHash(ctx context.Context, tenant, h string) ([]consent.State, []consent.Receipt, error)
}

type eraser interface {
	EraseHash(ctx context.Context, tenant, h string) (subject.Erased, error)
	Bundle(ctx context.Context, tenant, h string) ([]byte, error)
}

type gallery interface {
	People(ctx context.Context, tenant, subjectHash string) ([]faces.PersonInfo, error)
	Rename(ctx context.Context, tenant, subjectHash, personID, name string) (faces.Person, error)
	DeletePerson(ctx context.Context, tenant, subjectHash, personID string) error
	Accept(ctx context.Context, tenant, suggestionID, person string) (faces.Accepted, error)
	Reject(ctx context.Context, tenant, suggestionID string) error
}

type drafts interface {
	Suggestions(ctx context.Context, tenantID, subjectHash string) ([]store.Suggestion, error)
	Suggestion(ctx context.Context, tenantID, id string) (store.Suggestion, error)
}

type hasher interface {
	SubjectHash(subject string) string
}

// Privacy is the privacy center.
type Privacy struct {
	Tokens   tokenCodec
	Store    linkStore
	Drafts   drafts
	Consents consents
	Subjects eraser
	Gallery  gallery
	Hash     hasher
	Now      func() time.Time
	Log      *slog.Logger
	tmpl     *template.Template
}

// NewLink issues a single-use link token for the tenant's subject.
func (p *Privacy) NewLink(ctx context.Context, tenant, subjectID string) (string, time.Time, error) {
	now := p.Now()
	l := store.PrivacyLink{ID: "pl_" + newToken()[:24], TenantID: tenant, SubjectHash: p.Hash.SubjectHash(subjectID), ExpiresAt: now.Add(LinkTTL)}
	tok, err := p.Tokens.Seal(upload.KindPrivacy, upload.Claims{Tenant: tenant, Subject: l.SubjectHash, ID: l.ID, Expires: l.ExpiresAt.Unix(), Issued: now.Unix()})
	if err != nil {
		return "", time.Time{}, err
	}
	if err := p.Store.CreatePrivacyLink(ctx, l); err != nil {
		return "", time.Time{}, err
	}
	return tok, time.Unix(l.ExpiresAt.Unix(), 0).UTC(), nil
}

// Handler serves /privacy/open/{token}, /privacy and its forms.
func (p *Privacy) Handler() http.Handler {
	p.tmpl = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/privacy.html"))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /privacy/open/{token}", p.open)
	mux.HandleFunc("GET /privacy", p.page)
	mux.HandleFunc("POST /privacy/consent", p.consent)
	mux.HandleFunc("POST /privacy/erase", p.erase)
	mux.HandleFunc("POST /privacy/people", p.people)
	mux.HandleFunc("POST /privacy/suggestions", p.suggestion)
	mux.HandleFunc("POST /privacy/export", p.export)
	return headers(mux)
}

type session struct{ tenant, subjectHash string }

func (p *Privacy) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	cl, err := p.Tokens.Open(upload.KindSession, c.Value, p.Now())
	if err != nil || cl.Subject == "" {
		return session{}, false
	}
	return session{cl.Tenant, cl.Subject}, true
}

func (p *Privacy) open(w http.ResponseWriter, r *http.Request) {
	now := p.Now()
	cl, err := p.Tokens.Open(upload.KindPrivacy, r.PathValue("token"), now)
	if err == nil {
		var l store.PrivacyLink
		l, err = p.Store.ConsumePrivacyLink(r.Context(), cl.Tenant, cl.ID, now)
		if err == nil && l.SubjectHash != cl.Subject {
			err = fault.New(fault.Unauthenticated, "link does not match")
		}
	}
	if err != nil {
		msg := "This link is not valid. Ask the app for a new one."
		switch {
		case errors.Is(err, fault.Expired):
			msg = "This link has expired. Ask the app for a new one."
		case errors.Is(err, fault.Conflict):
			msg = "This link was already used. Ask the app for a new one."
		}
		p.render(w, http.StatusForbidden, privacyPage{Error: msg, Gone: true})
		return
	}
	tok, err := p.Tokens.Seal(upload.KindSession, upload.Claims{Tenant: cl.Tenant, Subject: cl.Subject, ID: "ps_" + newToken()[:24],
		Expires: now.Add(SessionTTL).Unix(), Issued: now.Unix()})
	if err != nil {
		p.fail(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/privacy", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int(SessionTTL.Seconds())})
	http.Redirect(w, r, "/privacy", http.StatusSeeOther)
}

type consentView struct {
	Name, Title, Description string
	Biometric, Granted       bool
}

type privacyPage struct {
	Title    string
	CSRF     string
	Error    string
	Notice   string
	Erased   bool
	Gone     bool // no session: only Error is shown
	Consents []consentView
	Receipts []consent.Receipt
	People   []faces.PersonInfo
	Pending  []store.Suggestion
	Photos   int
}

func (p *Privacy) render(w http.ResponseWriter, status int, pg privacyPage) {
	pg.Title = "Your privacy"
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.tmpl.ExecuteTemplate(w, "layout", pg); err != nil {
		p.Log.Error("render privacy page", "component", "web", "err", err)
	}
}

func (p *Privacy) fail(w http.ResponseWriter, err error) {
	p.Log.Error("privacy center", "component", "web", "err", err)
	p.render(w, http.StatusInternalServerError, privacyPage{Error: "Something went wrong; please try again.", Gone: true})
}

func titleOf(name string) string {
	return strings.ToUpper(name[:1]) + strings.ReplaceAll(name[1:], "_", " ")
}

func (p *Privacy) view(w http.ResponseWriter, r *http.Request, s session, status int, notice, errMsg string) {
	ctx := r.Context()
	states, receipts, err := p.Consents.ListByHash(ctx, s.tenant, s.subjectHash)
	if err != nil {
		p.fail(w, err)
		return
	}
	granted := map[string]bool{}
	for _, st := range states {
		granted[st.Purpose] = st.State == "granted"
	}
	var cv []consentView
	for _, pu := range consent.Registry {
		cv = append(cv, consentView{Name: pu.Name, Title: titleOf(pu.Name), Description: pu.Description, Biometric: pu.Biometric, Granted: granted[pu.Name]})
	}
	slices.Reverse(receipts)
	assets, err := p.Store.SubjectAssets(ctx, s.tenant, s.subjectHash)
	if err != nil {
		p.fail(w, err)
		return
	}
	people, err := p.Gallery.People(ctx, s.tenant, s.subjectHash)
	if err != nil {
		p.fail(w, err)
		return
	}
	pending, err := p.Drafts.Suggestions(ctx, s.tenant, s.subjectHash)
	if err != nil {
		p.fail(w, err)
		return
	}
	p.render(w, status, privacyPage{CSRF: csrfFor(w, r, "/privacy"), Notice: notice, Error: errMsg, Consents: cv, Receipts: receipts,
		People: people, Pending: pending, Photos: len(assets)})
}

func (p *Privacy) page(w http.ResponseWriter, r *http.Request) {
	s, ok := p.session(r)
	if !ok {
		p.render(w, http.StatusUnauthorized, privacyPage{Error: "Your session has ended. Open the privacy link from the app again.", Gone: true})
		return
	}
	p.view(w, r, s, http.StatusOK, "", "")
}

// checked returns the session of a form post whose CSRF token matches.
func (p *Privacy) checked(w http.ResponseWriter, r *http.Request) (session, bool) {
	s, ok := p.session(r)
	if !ok {
		p.render(w, http.StatusUnauthorized, privacyPage{Error: "Your session has ended. Open the privacy link from the app again.", Gone: true})
		return session{}, false
	}
	c, cerr := r.Cookie(csrfCookie)
	if err := r.ParseForm(); err != nil || cerr != nil || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(c.Value)) != 1 {
		p.view(w, r, s, http.StatusForbidden, "", "This form has expired; please try again.")
		return session{}, false
	}
	return s, true
}

func (p *Privacy) consent(w http.ResponseWriter, r *http.Request) {
	s, ok := p.checked(w, r)
	if !ok {
		return
	}
	purpose, action := r.PostFormValue("purpose"), r.PostFormValue("action")
	pu, err := consent.Lookup(purpose)
	if err != nil {
		p.view(w, r, s, http.StatusBadRequest, "", "Unknown purpose.")
		return
	}
	var rc consent.Receipt
	switch action {
	case "grant":
		if pu.Biometric && r.PostFormValue("confirm") != "yes" {
			p.view(w, r, s, http.StatusBadRequest, "", "Face recognition is biometric: tick the box to confirm that you agree.")
			return
		}
		rc, err = p.Consents.GrantHash(r.Context(), s.tenant, s.subjectHash, consent.Grant{Purpose: pu.Name, Notice: "privacy-center-v1"}, "privacy-center")
	case "revoke":
		rc, err = p.Consents.RevokeHash(r.Context(), s.tenant, s.subjectHash, pu.Name, "privacy-center")
	default:
		p.view(w, r, s, http.StatusBadRequest, "", "Unknown action.")
		return
	}
	if err != nil {
		p.fail(w, err)
		return
	}
	p.view(w, r, s, http.StatusOK, "Done. Receipt "+rc.ID+": "+rc.Action+" "+rc.Purpose+".", "")
}

func (p *Privacy) erase(w http.ResponseWriter, r *http.Request) {
	s, ok := p.checked(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		p.view(w, r, s, http.StatusBadRequest, "", "Tick the box to confirm that you want everything erased.")
		return
	}
	if _, err := p.Subjects.EraseHash(r.Context(), s.tenant, s.subjectHash); err != nil {
		p.fail(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/privacy", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	p.render(w, http.StatusOK, privacyPage{Erased: true})
}

// people renames or deletes a person of the subject's gallery.
func (p *Privacy) people(w http.ResponseWriter, r *http.Request) {
	s, ok := p.checked(w, r)
	if !ok {
		return
	}
	id := r.PostFormValue("person")
	var err error
	notice := ""
	switch r.PostFormValue("action") {
	case "rename":
		_, err = p.Gallery.Rename(r.Context(), s.tenant, s.subjectHash, id, r.PostFormValue("name"))
		notice = "Renamed."
	case "delete":
		err = p.Gallery.DeletePerson(r.Context(), s.tenant, s.subjectHash, id)
		notice = "Deleted, with every face template of that person."
	default:
		p.view(w, r, s, http.StatusBadRequest, "", "Unknown action.")
		return
	}
	switch {
	case errors.Is(err, fault.NotFound):
		p.view(w, r, s, http.StatusNotFound, "", "No such person in your gallery.")
	case errors.Is(err, fault.Invalid):
		p.view(w, r, s, http.StatusBadRequest, "", "A name is 1 to 200 characters.")
	case err != nil:
		p.fail(w, err)
	default:
		p.view(w, r, s, http.StatusOK, notice, "")
	}
}

// suggestion accepts or rejects one of the subject's pending face-tag
// suggestions.
func (p *Privacy) suggestion(w http.ResponseWriter, r *http.Request) {
	s, ok := p.checked(w, r)
	if !ok {
		return
	}
	id := r.PostFormValue("suggestion")
	sg, err := p.Drafts.Suggestion(r.Context(), s.tenant, id)
	if err != nil || sg.SubjectHash != s.subjectHash {
		p.view(w, r, s, http.StatusNotFound, "", "That suggestion has expired or is not yours.")
		return
	}
	switch r.PostFormValue("action") {
	case "accept":
		_, err = p.Gallery.Accept(r.Context(), s.tenant, id, r.PostFormValue("name"))
	case "reject":
		err = p.Gallery.Reject(r.Context(), s.tenant, id)
	default:
		p.view(w, r, s, http.StatusBadRequest, "", "Unknown action.")
		return
	}
	switch {
	case errors.Is(err, fault.Invalid):
		p.view(w, r, s, http.StatusBadRequest, "", "Give the person a name (1 to 200 characters).")
	case errors.Is(err, fault.NotFound), errors.Is(err, fault.ConsentRequired):
		p.view(w, r, s, http.StatusNotFound, "", "That suggestion has expired.")
	case err != nil:
		p.fail(w, err)
	default:
		p.view(w, r, s, http.StatusOK, "Done.", "")
	}
}

// export sends the subject's export bundle (zip: photos, consents,
// receipts, manifest) as a download.
func (p *Privacy) export(w http.ResponseWriter, r *http.Request) {
	s, ok := p.checked(w, r)
	if !ok {
		return
	}
	b, err := p.Subjects.Bundle(r.Context(), s.tenant, s.subjectHash)
	if err != nil {
		p.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="obscura-export.zip"`)
	w.Write(b)
}
