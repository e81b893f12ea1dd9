// Package demo is the demo page (/demo): upload a photo, choose what may
// be done with it, see faces boxed and tags — so a newcomer sees what
// Obscura does within a minute of `make run`. It is served only to
// loopback clients, runs under its own demo tenant with a fresh subject
// per upload, and goes through the same pipeline as the API: single-use
// ingest (metadata stripped, encrypted), consent receipts, the consent
// gate, hardened outputs.
//
// Besides the CSRF token and origin check every page has (package web),
// the demo needs a loopback Host header (against DNS rebinding) and no
// proxy headers: behind a reverse proxy it is refused, since the proxy
// connects from loopback on behalf of remote clients (a proxy that strips
// those headers and rewrites Host to localhost would expose it; do not do
// that).
package demo

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/samples"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// DemoTenant is the tenant the demo page works under.
const DemoTenant = "ten_demo"

// maxUpload bounds a demo upload.
const maxUpload = 25 << 20

type ingester interface {
	Ingest(ctx context.Context, tenant, subject string, data []byte) (store.Asset, error)
	Asset(ctx context.Context, tenant, id string) (store.Asset, error)
}

type granter interface {
	Grant(ctx context.Context, tenant, subject string, g consent.Grant) (consent.Receipt, error)
}

type analyzer interface {
	Analyze(ctx context.Context, tenant, assetID string, features []string) (analysis.Result, error)
}

type photoReader interface {
	Photo(ctx context.Context, a store.Asset) ([]byte, error)
}

// Demo is the demo page.
type Demo struct {
	Ingest   ingester
	Consent  granter
	Analysis analyzer
	Photos   photoReader
	Log      *slog.Logger
	tmpl     *template.Template
	// Memes and Drafts, when set, offer meme drafts of the photo, to keep
	// or delete.
	Memes  memeMaker
	Drafts web.GeneratedDrafts
}

// purposeChoice is one checkbox of the demo form.
type purposeChoice struct {
	Feature, Purpose, Label, Explain string
}

var choices = []purposeChoice{
	{"faces", "face_detection", "Find faces", "where faces are, without identifying anyone"},
	{"tags", "tagging", "Tag objects", "label what is in the photo"},
	{"sensitive", "sensitive_content", "Check for sensitive content", "nudity or suggestive content"},
	{"text", "text_detection", "Read text", "signs, captions, notes"},
}

type page struct {
	Title    string
	CSRF     string
	Error    string
	Purposes []purposeChoice
	Result   *analysis.Result
	Samples  []string // the sample photos the demo offers (package samples)
	// MemesOffered shows the meme choice; Memes are the drafts made,
	// MemeNote says why there are none; Notice confirms a decision.
	MemesOffered bool
	Memes        []web.DraftView
	MemeNote     string
	Notice       string
}

// Handler serves /demo, /demo/analyze, /demo/photo/{id} and the static
// files under /console/static/.
func (d *Demo) Handler() http.Handler {
	d.tmpl = web.PageTemplate(templateFS, "templates/demo.html")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo", d.form)
	mux.HandleFunc("POST /demo/analyze", d.analyze)
	mux.HandleFunc("GET /demo/photo/{id}", d.photo)
	mux.HandleFunc("GET /demo/draft/{id}", d.draftImage)
	mux.HandleFunc("POST /demo/drafts", d.draftDecision)
	top := http.NewServeMux()
	top.Handle("GET /console/static/", web.Static()) // public assets, for every client
	top.Handle("/", web.LoopbackOnly(web.OriginChecked(web.Headers(mux))))
	return top
}

// csrf returns the demo's CSRF token, setting a fresh cookie if needed.
func csrf(w http.ResponseWriter, r *http.Request) string { return web.CSRFFor(w, r, "/demo") }

func (d *Demo) render(w http.ResponseWriter, status int, p page) {
	p.Title, p.Purposes, p.Samples = "Demo", choices, samples.Names
	p.MemesOffered = d.Memes != nil
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := d.tmpl.ExecuteTemplate(w, "layout", p); err != nil {
		d.Log.Error("render demo page", "component", "web", "err", err)
	}
}

func (d *Demo) form(w http.ResponseWriter, r *http.Request) {
	d.render(w, http.StatusOK, page{CSRF: csrf(w, r)})
}

// errMessage is what the page says about an error: stable, no internals.
func errMessage(err error) string {
	switch {
	case errors.Is(err, sanitize.ErrInvalid), errors.Is(err, fault.Unsupported), errors.Is(err, fault.Invalid):
		return "That file is not a photo Obscura can read (JPEG, PNG, WebP or HEIC)."
	case errors.Is(err, fault.TooLarge):
		return "That photo is too large."
	case errors.Is(err, fault.InputRejected):
		return "This photo looks deliberately perturbed to fool the models, so it was not analysed."
	}
	return "Something went wrong; the server log has the details."
}

func (d *Demo) analyze(w http.ResponseWriter, r *http.Request) {
	tok := csrf(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		d.render(w, http.StatusBadRequest, page{CSRF: tok, Error: "The upload could not be read (at most 25 MiB)."})
		return
	}
	if sent := r.FormValue("csrf"); subtle.ConstantTimeCompare([]byte(sent), []byte(tok)) != 1 || sent == "" {
		d.render(w, http.StatusForbidden, page{CSRF: tok, Error: "This form has expired; please try again."})
		return
	}
	var features []string
	for _, f := range r.MultipartForm.Value["feature"] {
		if slices.ContainsFunc(choices, func(c purposeChoice) bool { return c.Feature == f }) && !slices.Contains(features, f) {
			features = append(features, f)
		}
	}
	if len(features) == 0 {
		d.render(w, http.StatusBadRequest, page{CSRF: tok, Error: "Choose at least one thing Obscura may do."})
		return
	}
	var data []byte
	file, _, err := r.FormFile("photo")
	switch name := r.FormValue("sample"); {
	case err == nil:
		defer file.Close()
		data, err = io.ReadAll(io.LimitReader(file, maxUpload+1))
	case slices.Contains(samples.Names, name):
		data, err = samples.FS.ReadFile(name) // one of the repository's openly licensed photos
	default:
		d.render(w, http.StatusBadRequest, page{CSRF: tok, Error: "Choose a photo to upload."})
		return
	}
	if err != nil || len(data) > maxUpload {
		d.render(w, http.StatusRequestEntityTooLarge, page{CSRF: tok, Error: "That photo is too large."})
		return
	}
	ctx := r.Context()
	subject := "demo-" + web.NewToken()
	for _, c := range choices {
		if slices.Contains(features, c.Feature) {
			if _, err := d.Consent.Grant(ctx, DemoTenant, subject, consent.Grant{Purpose: c.Purpose, Notice: "demo"}); err != nil {
				d.fail(w, tok, err)
				return
			}
		}
	}
	as, err := d.Ingest.Ingest(ctx, DemoTenant, subject, data)
	if err != nil {
		d.fail(w, tok, err)
		return
	}
	res, err := d.Analysis.Analyze(ctx, DemoTenant, as.ID, features)
	if err != nil {
		d.fail(w, tok, err)
		return
	}
	pg := page{CSRF: tok, Result: &res}
	if d.Memes != nil && r.FormValue("memes") == "yes" {
		if pg.Memes, pg.MemeNote, err = d.demoMemes(ctx, subject, as.ID); err != nil {
			d.fail(w, tok, err)
			return
		}
	}
	d.render(w, http.StatusOK, pg)
}

func (d *Demo) fail(w http.ResponseWriter, tok string, err error) {
	status := http.StatusUnprocessableEntity
	msg := errMessage(err)
	if strings.HasPrefix(msg, "Something") {
		status = http.StatusInternalServerError
		d.Log.Error("demo", "component", "web", "err", err)
	}
	d.render(w, status, page{CSRF: tok, Error: msg})
}

func (d *Demo) photo(w http.ResponseWriter, r *http.Request) {
	a, err := d.Ingest.Asset(r.Context(), DemoTenant, r.PathValue("id"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	data, err := d.Photos.Photo(r.Context(), a)
	web.SendImage(w, r, a.Format, data, err)
}
