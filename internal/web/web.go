// Package web serves Obscura's browser pages from the binary: server-side
// html/template pages, one embedded stylesheet, no scripts and nothing
// loaded from elsewhere (a strict Content-Security-Policy says so).
//
// Two parts exist: the privacy center (privacy.go) and the demo page
// (/demo): upload a photo, choose what
// may be done with it, see faces boxed and tags — so a newcomer sees what
// Obscura does within a minute of `make run`. It is served only to
// loopback clients, runs under its own demo tenant with a fresh subject
// per upload, and goes through the same pipeline as the API: single-use
// ingest (metadata stripped, encrypted), consent receipts, the consent
// gate, hardened outputs.
//
// Every state-changing form checks a double-submit CSRF token (a random
// cookie of fixed length, echoed by the form) and, on every POST, the
// browser's Origin and Sec-Fetch-Site headers. The demo additionally needs
// a loopback Host header (against DNS rebinding) and no proxy headers:
// behind a reverse proxy it is refused, since the proxy connects from
// loopback on behalf of remote clients (a proxy that strips those headers
// and rewrites Host to localhost would expose it; do not do that).
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/samples"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CSP is the Content-Security-Policy of every page: same-origin scripts
// (only the embedded htmx), requests, styles and images; no inline script
// or eval (so htmx's hx-on is inert), no framing, forms post only here.
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// HtmxSHA256 pins the embedded static/htmx.min.js: htmx.org 4.0.1 from
// npm (tarball integrity sha512-oF7JgXhDW9UXCy/k1ZYFUQgzu/rm19ORWPSPNL91vPluB2PB9+MV55tyQdH/w7o2EAbTYUG5SDW1R60mdkdqGg==),
// file dist/htmx.min.js. It only enhances: every page works without it.
const HtmxSHA256 = "a0abb04f2f45a1f89d1d4844023245537e5e6014c87b144553e0607b4cc32130"

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
	Drafts generatedDrafts
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
	Memes        []draftView
	MemeNote     string
	Notice       string
}

// Static serves the embedded stylesheet and htmx under /console/static/.
func (d *Demo) Static() http.Handler {
	static, _ := fs.Sub(staticFS, "static")
	return headers(http.StripPrefix("/console/static/", http.FileServerFS(static)))
}

// Handler serves /demo, /demo/analyze, /demo/photo/{id} and the static
// files under /console/static/.
func (d *Demo) Handler() http.Handler {
	d.tmpl = pageTemplate("templates/demo.html")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo", d.form)
	mux.HandleFunc("POST /demo/analyze", d.analyze)
	mux.HandleFunc("GET /demo/photo/{id}", d.photo)
	mux.HandleFunc("GET /demo/draft/{id}", d.draftImage)
	mux.HandleFunc("POST /demo/drafts", d.draftDecision)
	top := http.NewServeMux()
	top.Handle("GET /console/static/", d.Static()) // public assets, for every client
	top.Handle("/", loopbackOnly(originChecked(headers(mux))))
	return top
}

func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// loopbackOnly refuses every client that is not on this machine: the
// connection must come from a loopback address, the Host header must name
// the loopback (localhost, 127.0.0.0/8, [::1], any port) — a DNS-rebinding
// page on another name that resolves to 127.0.0.1 sends its own name —
// and the request must not have passed a proxy (Forwarded, X-Forwarded-For,
// X-Real-IP): a reverse proxy on this machine connects from loopback on
// behalf of remote clients.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		proxied := r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("X-Real-IP") != ""
		if err != nil || ip == nil || !ip.IsLoopback() || !LoopbackHost(r.Host) || proxied {
			http.Error(w, "the demo is served to this machine only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// LoopbackHost reports whether a Host header value (name or address, with
// an optional port) names this machine's loopback interface.
func LoopbackHost(hostport string) bool {
	h := hostport
	if sh, _, err := net.SplitHostPort(hostport); err == nil {
		h = sh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether a request comes from this site's own pages,
// by the headers browsers set on every form post: Sec-Fetch-Site must be
// same-origin (or none: typed by the user), and Origin, when present, must
// name this host. A request carrying neither (not a current browser) is
// left to the CSRF token.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		// Under Referrer-Policy: no-referrer (our pages send it) Chromium
		// posts a page's own forms with Origin: null; Sec-Fetch-Site, which
		// only the browser sets, then says whether it was the same origin.
		// A null Origin without it (sandboxed frames, redirects) is refused.
		if o == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
			return true
		}
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return false
		}
		public, _ := r.Context().Value(publicOriginKey{}).(string)
		if !strings.EqualFold(u.Host, r.Host) && !strings.EqualFold(u.Scheme+"://"+u.Host, public) {
			return false
		}
	}
	return true
}

type publicOriginKey struct{}

// PublicOrigin lets form posts from publicURL's origin through the origin
// check as well as posts naming the request's own Host: behind a reverse
// proxy that rewrites Host, the browser's Origin is the public URL's.
func PublicOrigin(publicURL string, next http.Handler) http.Handler {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return next
	}
	origin := u.Scheme + "://" + u.Host
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), publicOriginKey{}, origin)))
	})
}

// originChecked refuses every state-changing request (any method but GET
// and HEAD) that does not come from this site's own pages (sameOrigin).
func originChecked(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
			http.Error(w, "cross-origin form posts are refused", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csrfOK checks a form post's double-submit token: a cookie of the length
// newToken makes and an equal form field. An empty or short cookie never
// matches, even with an equally empty field.
func csrfOK(r *http.Request) bool {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || len(ck.Value) < csrfTokenLen || r.ParseForm() != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(ck.Value)) == 1
}

// csrfTokenLen is the length of newToken's output (24 random bytes, base64).
const csrfTokenLen = 32

const csrfCookie = "obscura_csrf"

func newToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

var continueTmpl = template.Must(template.ParseFS(templateFS, "templates/continue.html"))

// signedIn answers a link that has just set a session cookie with a page
// that moves on to next by itself. Not a redirect: a link opened from
// another site (the app's) makes the redirect a cross-site navigation, on
// which the browser does not send a SameSite=Strict cookie; this page's
// own navigation is same-site, so the cookie goes along.
func signedIn(w http.ResponseWriter, title, next string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	continueTmpl.ExecuteTemplate(w, "continue", struct{ Title, Next string }{title, next})
}

// pageTemplate parses the layout with one page and the helpers pages use.
func pageTemplate(page string) *template.Template {
	return template.Must(template.New("layout.html").Funcs(template.FuncMap{
		// plural is "1 photo", "2 photos".
		"plural": func(n int, word string) string {
			if n == 1 {
				return "1 " + word
			}
			return strconv.Itoa(n) + " " + word + "s"
		},
		// shortTime shows an RFC 3339 time to the second, in UTC.
		"shortTime": func(s string) string {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return s
			}
			return t.UTC().Format("2006-01-02 15:04:05")
		},
	}).ParseFS(templateFS, "templates/layout.html", page))
}

type httpsKey struct{}

// BehindHTTPS marks every request as one that reached its client over
// HTTPS — a TLS-terminating proxy in front, the public URL https:// — so
// the pages' cookies are Secure although this server speaks plain HTTP.
func BehindHTTPS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), httpsKey{}, true)))
	})
}

// secure reports whether the request's cookies must be Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || r.Context().Value(httpsKey{}) != nil
}

// csrf returns the demo's CSRF token, setting a fresh cookie if needed.
func csrf(w http.ResponseWriter, r *http.Request) string { return csrfFor(w, r, "/demo") }

// csrfFor is the double-submit CSRF token of the pages under path: a
// random cookie (HttpOnly, SameSite=Strict) that each form echoes.
func csrfFor(w http.ResponseWriter, r *http.Request, path string) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= csrfTokenLen {
		return c.Value
	}
	tok := newToken()
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: path, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	return tok
}

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
	subject := "demo-" + newToken()
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
	sendImage(w, r, a.Format, data, err)
}

// sendImage writes a decrypted image (format "jpeg", "png", …) and clears
// it; an error (gone, not the caller's) answers 404.
func sendImage(w http.ResponseWriter, r *http.Request, format string, img []byte, err error) {
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer clear(img)
	w.Header().Set("Content-Type", "image/"+format)
	w.Write(img)
}
