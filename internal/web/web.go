// Package web is what Obscura's browser pages share: the embedded layout,
// stylesheet and htmx (no scripts or anything loaded from elsewhere; a
// strict Content-Security-Policy says so), the security headers, the
// same-origin and double-submit CSRF checks every state-changing form
// passes, the loopback-only gate, and the view types more than one page
// shows. The pages themselves are its subpackages: the privacy center
// (web/privacy, a subject's own data behind a single-use link), the
// operator console (web/console) and the loopback-only demo (web/demo).
//
// Every state-changing form checks a double-submit CSRF token (a random
// cookie of fixed length, echoed by the form) and, on every POST, the
// browser's Origin and Sec-Fetch-Site headers.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/upload"
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

// Static serves the embedded stylesheet and htmx under /console/static/.
func Static() http.Handler {
	static, _ := fs.Sub(staticFS, "static")
	return Headers(http.StripPrefix("/console/static/", http.FileServerFS(static)))
}

// Headers sets every page's security headers: the CSP, nosniff, no
// referrer, no caching.
func Headers(next http.Handler) http.Handler {
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
func LoopbackOnly(next http.Handler) http.Handler {
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
func OriginChecked(next http.Handler) http.Handler {
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
func CSRFOK(r *http.Request) bool {
	ck, err := r.Cookie(CSRFCookie)
	if err != nil || len(ck.Value) < CSRFTokenLen || r.ParseForm() != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(ck.Value)) == 1
}

// CSRFTokenLen is the length of newToken's output (24 random bytes, base64).
const CSRFTokenLen = 32

// CSRFCookie is the name of the double-submit CSRF cookie.
const CSRFCookie = "obscura_csrf"

// NewToken is 24 random bytes, base64url: CSRF tokens, subject and link
// ids.
func NewToken() string {
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
func SignedIn(w http.ResponseWriter, title, next string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	continueTmpl.ExecuteTemplate(w, "continue", struct{ Title, Next string }{title, next})
}

// PageTemplate parses the layout, the helpers pages use and the named
// files of pages (the page, and any templates it includes).
func PageTemplate(pages fs.FS, names ...string) *template.Template {
	return template.Must(template.Must(template.New("layout.html").Funcs(template.FuncMap{
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
	}).ParseFS(templateFS, "templates/layout.html")).ParseFS(pages, names...))
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
func Secure(r *http.Request) bool {
	return r.TLS != nil || r.Context().Value(httpsKey{}) != nil
}

// csrfFor is the double-submit CSRF token of the pages under path: a
// random cookie (HttpOnly, SameSite=Strict) that each form echoes.
func CSRFFor(w http.ResponseWriter, r *http.Request, path string) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= CSRFTokenLen {
		return c.Value
	}
	tok := NewToken()
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: tok, Path: path, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: Secure(r)})
	return tok
}

// sendImage writes a decrypted image (format "jpeg", "png", …) and clears
// it; an error (gone, not the caller's) answers 404.
func SendImage(w http.ResponseWriter, r *http.Request, format string, img []byte, err error) {
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer clear(img)
	w.Header().Set("Content-Type", "image/"+format)
	w.Write(img)
}

// TokenCodec seals and opens the single-use link and session tokens
// (package upload's token format).
type TokenCodec interface {
	Seal(k upload.Kind, cl upload.Claims) (string, error)
	Open(k upload.Kind, tok string, now time.Time) (upload.Claims, error)
}

// GeneratedDrafts is what the pages need of drafts (package draft): the
// subject sees, accepts and rejects their generated images.
type GeneratedDrafts interface {
	List(ctx context.Context, tenant, subjectHash string) ([]draft.Draft, error)
	Image(ctx context.Context, tenant, id string) ([]byte, error)
	Accept(ctx context.Context, tenant, id string) (store.Asset, error)
	Reject(ctx context.Context, tenant, id string) error
	Accepted(ctx context.Context, tenant, subjectHash string) ([]store.Generated, error)
}

// DraftView is one pending draft on a page.
type DraftView struct {
	ID, Top, Bottom, Made, Expires string
}

// SessionTTL is how long a page session (privacy center, console) lasts.
const SessionTTL = 30 * time.Minute

// AuditLog is what the pages need from the audit log.
type AuditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}
