// Package privacy is the privacy center: a subject's own view of what Obscura holds and does
// for an app. The app's backend asks for a short-lived, single-use link
// (POST /v1/subjects/{subject}/privacy-link); opening it sets a session
// cookie (HttpOnly, SameSite=Strict, Secure under TLS) naming the subject
// by keyed hash only, and the pages show each purpose with a toggle (a
// biometric purpose needs its own explicit confirmation), the receipts,
// the photos and face gallery, and "erase everything". Every state change
// is a CSRF-checked form post; pages are scriptless under the same CSP as
// the demo. A session ends when its subject is erased or the app revokes
// the subject's links (DELETE /v1/subjects/{subject}/privacy-link).
package privacy

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/subject"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// LinkTTL is how long a privacy-center link can be opened.
const LinkTTL = 5 * time.Minute

const sessionCookie = "obscura_privacy"

type linkStore interface {
	CreatePrivacyLink(ctx context.Context, l store.PrivacyLink) error
	ConsumePrivacyLink(ctx context.Context, tenantID, id string, at time.Time) (store.PrivacyLink, error)
	PrivacyLinkLive(ctx context.Context, tenantID, id string) (bool, error)
	RevokePrivacyLinks(ctx context.Context, tenantID, subjectHash string, at time.Time) (int, error)
	SubjectAssets(ctx context.Context, tenantID, subjectHash string) ([]store.Asset, error)
	Asset(ctx context.Context, tenantID, id string) (store.Asset, error)
	FaceTags(ctx context.Context, tenantID, subjectHash, personID string) ([]store.FaceTag, error)
}

// photoStore reads and deletes a subject's photos (deleting takes what was
// derived from the photo with it).
type photoStore interface {
	Photo(ctx context.Context, a store.Asset) ([]byte, error)
	Delete(ctx context.Context, tenant, id string) error
}

// derivedReader opens a photo's stored analysis results, by feature.
type derivedReader interface {
	StoredResults(ctx context.Context, tenant, assetID string) ([]analysis.StoredResult, error)
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
	HashID(domain, id string) string
}

// Privacy is the privacy center.
type Privacy struct {
	Tokens   web.TokenCodec
	Store    linkStore
	Drafts   drafts
	Consents consents
	Subjects eraser
	Gallery  gallery
	Hash     hasher
	Photos   photoStore
	Results  derivedReader
	Audit    web.AuditLog
	Now      func() time.Time
	Log      *slog.Logger
	tmpl     *template.Template
	// Generated, when set, shows the subject's drafts (generated images)
	// to accept or reject, and marks the photos they kept from drafts.
	Generated web.GeneratedDrafts
}

// NewLink issues a single-use link token for the tenant's subject.
func (p *Privacy) NewLink(ctx context.Context, tenant, subjectID string) (string, time.Time, error) {
	now := p.Now()
	l := store.PrivacyLink{ID: "pl_" + web.NewToken()[:24], TenantID: tenant, SubjectHash: p.Hash.SubjectHash(subjectID), ExpiresAt: now.Add(LinkTTL)}
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
	p.tmpl = web.PageTemplate(templateFS, "templates/privacy.html")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /privacy/open/{token}", p.open)
	mux.HandleFunc("GET /privacy", p.page)
	mux.HandleFunc("POST /privacy/consent", p.consent)
	mux.HandleFunc("POST /privacy/erase", p.erase)
	mux.HandleFunc("POST /privacy/people", p.people)
	mux.HandleFunc("POST /privacy/suggestions", p.suggestion)
	mux.HandleFunc("POST /privacy/export", p.export)
	mux.HandleFunc("GET /privacy/photo/{id}", p.photo)
	mux.HandleFunc("POST /privacy/photos/delete", p.deletePhoto)
	mux.HandleFunc("GET /privacy/draft/{id}", p.draftImage)
	mux.HandleFunc("POST /privacy/drafts", p.draftDecision)
	return web.OriginChecked(web.Headers(mux))
}

// RevokeLinks revokes every privacy-center link of the tenant's subject,
// used or not: the sessions they opened end at their next request.
func (p *Privacy) RevokeLinks(ctx context.Context, tenant, subjectID string) (int, error) {
	if err := upload.ValidSubject(subjectID); err != nil {
		return 0, err
	}
	return p.Store.RevokePrivacyLinks(ctx, tenant, p.Hash.SubjectHash(subjectID), p.Now())
}

type session struct{ tenant, subjectHash string }

// session returns the request's session: a valid session token whose
// link is still live. The link's record goes when its subject is erased
// (the registry's privacy_links kind) and is marked when the app revokes
// it, so either ends the session at once.
func (p *Privacy) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	cl, err := p.Tokens.Open(upload.KindSession, c.Value, p.Now())
	if err != nil || cl.Subject == "" {
		return session{}, false
	}
	live, err := p.Store.PrivacyLinkLive(r.Context(), cl.Tenant, cl.ID)
	if err != nil {
		p.Log.Error("privacy session check", "component", "web", "err", err)
		return session{}, false // fail closed
	}
	if !live {
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
	// The session names the link that opened it: it lives while the link does.
	tok, err := p.Tokens.Seal(upload.KindSession, upload.Claims{Tenant: cl.Tenant, Subject: cl.Subject, ID: cl.ID,
		Expires: now.Add(web.SessionTTL).Unix(), Issued: now.Unix()})
	if err != nil {
		p.fail(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/privacy", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: web.Secure(r), MaxAge: int(web.SessionTTL.Seconds())})
	web.SignedIn(w, "Your privacy", "/privacy")
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
	Pending  []pendingView
	Photos   []photoView
	// PhotoCount is every photo's; Photos is one page of them, newest
	// first, with the numbers of the pages around it (0: none).
	PhotoCount           int
	NewerPage, OlderPage int
	// Drafts are the subject's generated images waiting for a decision.
	Drafts []web.DraftView
}

// PhotosPerPage is how many photos the privacy center shows at a time.
const PhotosPerPage = 20

// pendingView is a face waiting for the subject's answer, with what is
// needed to show just that face: the photo's size and the face's box,
// widened by half on each side (an SVG viewBox: no inline style).
type pendingView struct {
	ID, AssetID string
	Width       int
	Height      int
	X, Y, W, H  int
}

// photoView is one of the subject's photos and, in plain words, what
// Obscura derived from it and keeps.
type photoView struct {
	ID, Format, Created string
	Width, Height       int
	Size                string
	Derived             []string
	Tagged              []string
	Pending             int
	// Generated: a meme (or plugin output) the subject kept from a draft.
	Generated bool
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
	names := map[string]string{}
	for _, pe := range people {
		names[pe.ID] = pe.Name
	}
	sizes := map[string]store.Asset{}
	for _, a := range assets {
		sizes[a.ID] = a
	}
	// Tags and pending faces by photo, read once for the whole page.
	tags, err := p.Store.FaceTags(ctx, s.tenant, s.subjectHash, "")
	if err != nil {
		p.fail(w, err)
		return
	}
	tagged, waiting := map[string][]string{}, map[string]int{}
	for _, t := range tags {
		if n, ok := names[t.PersonID]; ok && !slices.Contains(tagged[t.AssetID], n) {
			tagged[t.AssetID] = append(tagged[t.AssetID], n)
		}
	}
	faces := make([]pendingView, 0, len(pending))
	for _, sg := range pending {
		waiting[sg.AssetID]++
		a := sizes[sg.AssetID]
		m := sg.Box.W / 2
		x, y := max(0, sg.Box.X-m), max(0, sg.Box.Y-m)
		faces = append(faces, pendingView{ID: sg.ID, AssetID: sg.AssetID, Width: a.Width, Height: a.Height, X: x, Y: y,
			W: min(a.Width, sg.Box.X+sg.Box.W+m) - x, H: min(a.Height, sg.Box.Y+sg.Box.H+m) - y})
	}
	// Newest first, a page at a time: each photo's results are opened to
	// describe them, so a page is bounded however many photos there are.
	slices.Reverse(assets)
	pages := max(1, (len(assets)+PhotosPerPage-1)/PhotosPerPage)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = min(max(page, 1), pages)
	shown := assets[(page-1)*PhotosPerPage : min(len(assets), page*PhotosPerPage)]
	drafts, kept, err := p.draftsView(ctx, s)
	if err != nil {
		p.fail(w, err)
		return
	}
	photos := make([]photoView, 0, len(shown))
	for _, a := range shown {
		v, err := p.photoView(ctx, a)
		if err != nil {
			p.fail(w, err)
			return
		}
		v.Tagged, v.Pending, v.Generated = tagged[a.ID], waiting[a.ID], kept[a.ID]
		photos = append(photos, v)
	}
	pg := privacyPage{CSRF: web.CSRFFor(w, r, "/privacy"), Notice: notice, Error: errMsg, Consents: cv, Receipts: receipts,
		People: people, Pending: faces, Photos: photos, PhotoCount: len(assets), Drafts: drafts}
	if page > 1 {
		pg.NewerPage = page - 1
	}
	if page < pages {
		pg.OlderPage = page + 1
	}
	p.render(w, status, pg)
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
	if !web.CSRFOK(r) {
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

// photoView describes one photo: its record and each stored result in
// plain words, with how long it is kept.
func (p *Privacy) photoView(ctx context.Context, a store.Asset) (photoView, error) {
	pv := photoView{ID: a.ID, Format: strings.ToUpper(a.Format), Created: a.CreatedAt.UTC().Format("2006-01-02 15:04 MST"),
		Width: a.Width, Height: a.Height, Size: fmt.Sprintf("%.1f MB", float64(a.Size)/1e6)}
	stored, err := p.Results.StoredResults(ctx, a.TenantID, a.ID)
	if err != nil {
		return pv, err
	}
	for _, r := range stored {
		pv.Derived = append(pv.Derived, describe(r.Feature, r.Body)+" Kept until "+r.ExpiresAt.UTC().Format("2006-01-02")+".")
	}
	return pv, nil
}

// describe puts a stored result in plain words. It shows the subject
// their own data; nothing here is logged.
func describe(feature string, raw json.RawMessage) string {
	switch feature {
	case "tags":
		var ts []analysis.Tag
		if json.Unmarshal(raw, &ts) == nil {
			if len(ts) == 0 {
				return "Tags: none found."
			}
			labels := make([]string, len(ts))
			for i, t := range ts {
				labels[i] = t.Label
			}
			return "Tags: " + strings.Join(labels, ", ") + "."
		}
	case "faces":
		var fs []analysis.Face
		if json.Unmarshal(raw, &fs) == nil {
			return fmt.Sprintf("Faces found: %d (where they are only; not who they are).", len(fs))
		}
	case "sensitive":
		var sv analysis.Sensitive
		if json.Unmarshal(raw, &sv) == nil {
			return "Sensitive-content rating: " + sv.Label + "."
		}
	case "text":
		var ls []analysis.TextLine
		if json.Unmarshal(raw, &ls) == nil {
			if len(ls) == 0 {
				return "Text read: none."
			}
			quoted := make([]string, 0, 3)
			for _, l := range ls[:min(3, len(ls))] {
				t := l.Text
				if len(t) > 60 {
					t = strings.ToValidUTF8(t[:60], "") + "…"
				}
				quoted = append(quoted, "“"+t+"”")
			}
			more := ""
			if len(ls) > 3 {
				more = fmt.Sprintf(" and %d more lines", len(ls)-3)
			}
			return fmt.Sprintf("Text read: %s%s.", strings.Join(quoted, ", "), more)
		}
	}
	return "A result of " + feature + "."
}

// ownPhoto returns the session subject's photo, or false.
func (p *Privacy) ownPhoto(ctx context.Context, s session, id string) (store.Asset, bool) {
	a, err := p.Store.Asset(ctx, s.tenant, id)
	if err != nil || subtle.ConstantTimeCompare([]byte(a.SubjectHash), []byte(s.subjectHash)) != 1 {
		return store.Asset{}, false
	}
	return a, true
}

// photo sends one of the session subject's own photos.
func (p *Privacy) photo(w http.ResponseWriter, r *http.Request) {
	s, ok := p.session(r)
	if !ok {
		http.Error(w, "session ended", http.StatusUnauthorized)
		return
	}
	a, ok := p.ownPhoto(r.Context(), s, r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	data, err := p.Photos.Photo(r.Context(), a)
	if err != nil {
		p.Log.Error("privacy photo", "component", "web", "err", err)
		http.Error(w, "photo unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/"+a.Format)
	w.Write(data)
}

// deletePhoto deletes one of the subject's photos with what was derived
// from it.
func (p *Privacy) deletePhoto(w http.ResponseWriter, r *http.Request) {
	s, ok := p.checked(w, r)
	if !ok {
		return
	}
	a, ok := p.ownPhoto(r.Context(), s, r.PostFormValue("photo"))
	if !ok {
		p.view(w, r, s, http.StatusNotFound, "", "No such photo of yours.")
		return
	}
	// Audited before it happens: if the audit log cannot take it, the
	// photo stays.
	if p.Audit != nil {
		if err := p.Audit.Append(r.Context(), audit.Entry{Action: "privacy.photo.delete", Tenant: s.tenant, Subject: s.subjectHash,
			Object: p.Hash.HashID("asset", a.ID), Result: audit.ResultOK}); err != nil {
			p.fail(w, fmt.Errorf("audit privacy photo delete: %w", err))
			return
		}
	}
	if err := p.Photos.Delete(r.Context(), s.tenant, a.ID); err != nil {
		p.fail(w, err)
		return
	}
	p.view(w, r, s, http.StatusOK, "Deleted the photo and everything derived from it.", "")
}
