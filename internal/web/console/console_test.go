package console

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	ops "github.com/obscuraproject/obscura/internal/operator"
	"github.com/obscuraproject/obscura/internal/web"
	"github.com/obscuraproject/obscura/internal/web/demo"
	"github.com/obscuraproject/obscura/internal/web/privacy"

	aeadsubtle "github.com/tink-crypto/tink-go/v2/aead/subtle"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/upload"
)

// serve is h's response to r.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestConsoleRefusesWithoutSessionOrCSRF(t *testing.T) {
	c := &Console{Log: slog.New(slog.DiscardHandler), Now: time.Now}
	h := c.Handler()
	for _, path := range []string{"/console/kill-switch", "/console/keys/revoke", "/console/keys/create", "/console/kek", "/console/verify", "/console/purge", "/console/forensic"} {
		r := httptest.NewRequest("POST", path, strings.NewReader("on=true&feature=analyze"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := serve(h, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d", path, w.Code)
		}
		if w.Header().Get("Content-Security-Policy") != web.CSP {
			t.Errorf("%s: no web.CSP", path)
		}
	}
	r := httptest.NewRequest("POST", "/console/login", strings.NewReader("key=obs_x"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := serve(h, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("login without CSRF token: %d", w.Code)
	}
}

// fakeLinks is the console-link table of a test: single use, like the store.
type fakeLinks struct{ used map[string]bool }

func (f *fakeLinks) CreateConsoleLink(_ context.Context, id string, _ time.Time) error {
	f.used[id] = false
	return nil
}

func (f *fakeLinks) ConsumeConsoleLink(_ context.Context, id string, _ time.Time) (time.Time, error) {
	used, ok := f.used[id]
	switch {
	case !ok:
		return time.Time{}, fault.New(fault.NotFound, "no link")
	case used:
		return time.Time{}, fault.New(fault.Conflict, "used")
	}
	f.used[id] = true
	return time.Time{}, nil
}

type fakeAudit struct{ entries []audit.Entry }

func (f *fakeAudit) Append(_ context.Context, e audit.Entry) error {
	f.entries = append(f.entries, e)
	return nil
}

// linkConsoleStore is a console store is only console links; enough to
// open links (a real store is used by e2e TestInstallationConsole).
type linkConsoleStore struct {
	consoleStore
	links *fakeLinks
}

func (s linkConsoleStore) CreateConsoleLink(ctx context.Context, id string, t time.Time) error {
	return s.links.CreateConsoleLink(ctx, id, t)
}

func (s linkConsoleStore) ConsoleLinkLive(_ context.Context, id string) (bool, error) {
	return s.links.used[id], nil
}

func (s linkConsoleStore) ConsumeConsoleLink(ctx context.Context, id string, t time.Time) (time.Time, error) {
	return s.links.ConsumeConsoleLink(ctx, id, t)
}

func TestConsoleLinkSingleUseShortLivedAndOnlyForTheInstallation(t *testing.T) {
	a, err := aeadsubtle.NewAESGCM(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	codec := upload.NewCodec(a)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	links := &fakeLinks{used: map[string]bool{}}
	al := &fakeAudit{}
	c := &Console{Tokens: codec, Store: linkConsoleStore{links: links}, Audit: al, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	h := c.Handler()
	// open returns the status, the operator-session cookies set, and the page.
	open := func(tok string) (int, []*http.Cookie, string) {
		w := serve(h, httptest.NewRequest("GET", "/console/open/"+tok, nil))
		var session []*http.Cookie
		for _, c := range w.Result().Cookies() {
			if c.Name == operatorCookie {
				session = append(session, c)
			}
		}
		return w.Code, session, w.Body.String()
	}
	tok, _, exp, err := IssueConsoleLink(context.Background(), codec, links, now)
	if err != nil || !exp.Equal(now.Add(ConsoleLinkTTL)) || !strings.HasPrefix(tok, "cl1.") {
		t.Fatalf("IssueConsoleLink = %q, %v, %v", tok, exp, err)
	}
	if code, cookies, body := open(tok); code != http.StatusOK || !strings.Contains(body, `<meta http-equiv="refresh" content="0;url=/console">`) || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("first open: %d %+v", code, cookies)
	}
	if len(al.entries) != 1 || al.entries[0].Action != "console.login" || al.entries[0].Detail != "installation" || !strings.HasPrefix(al.entries[0].Actor, "cl_") {
		t.Errorf("audit %+v", al.entries)
	}
	if code, cookies, body := open(tok); code != http.StatusForbidden || len(cookies) != 0 || !strings.Contains(body, "already used") {
		t.Errorf("second open: %d %v", code, cookies)
	}
	late, _, _, _ := IssueConsoleLink(context.Background(), codec, links, now)
	now = now.Add(ConsoleLinkTTL)
	if code, cookies, body := open(late); code != http.StatusForbidden || len(cookies) != 0 || !strings.Contains(body, "expired") {
		t.Errorf("expired link: %d %v", code, cookies)
	}
	// A token of another kind, or a tenant's, opens nothing.
	priv, _ := codec.Seal(upload.KindPrivacy, upload.Claims{Tenant: "*", ID: "cl_x", Expires: now.Add(time.Minute).Unix()})
	tenantLink, _ := codec.Seal(upload.KindConsoleLink, upload.Claims{Tenant: "ten_a", ID: "cl_y", Expires: now.Add(time.Minute).Unix()})
	links.used["cl_y"] = false
	for name, tk := range map[string]string{"privacy link": priv, "tenant's link": tenantLink, "garbage": "cl1.AAAA"} {
		if code, cookies, _ := open(tk); code != http.StatusForbidden || len(cookies) != 0 {
			t.Errorf("%s: %d %v", name, code, cookies)
		}
	}
	if links.used["cl_y"] {
		t.Error("a tenant's console link was consumed")
	}
}

// TestCookiesSecureBehindHTTPS: behind a TLS-terminating proxy (public
// URL https://) the pages' cookies are Secure; on plain HTTP they are not
// (the browser would drop them).
func TestCookiesSecureBehindHTTPS(t *testing.T) {
	c := &Console{Log: slog.New(slog.DiscardHandler), Now: time.Now}
	for _, tt := range []struct {
		h    http.Handler
		want bool
	}{{c.Handler(), false}, {web.BehindHTTPS(c.Handler()), true}} {
		w := serve(tt.h, httptest.NewRequest("GET", "/console", nil))
		cs := w.Result().Cookies()
		if len(cs) != 1 || cs[0].Name != web.CSRFCookie || cs[0].Secure != tt.want {
			t.Errorf("cookies %+v, want Secure=%v", cs, tt.want)
		}
	}
}

func (s linkConsoleStore) Tenants(context.Context) ([]store.Tenant, error) { return nil, nil }
func (s linkConsoleStore) Alerts(context.Context, string, int) ([]store.Alert, error) {
	return nil, nil
}
func (s linkConsoleStore) AuditTail(context.Context, string, int64, int) ([]store.AuditRecord, error) {
	return nil, nil
}

// failingAudit refuses appends once down is set.
type failingAudit struct {
	fakeAudit
	down bool
}

func (f *failingAudit) Append(ctx context.Context, e audit.Entry) error {
	if f.down {
		return errors.New("audit store down")
	}
	return f.fakeAudit.Append(ctx, e)
}

type countingKill struct{ sets int }

func (k *countingKill) Set(context.Context, string, string, bool) (string, error) {
	k.sets++
	return "global", nil
}
func (k *countingKill) Active() []string { return nil }

// TestConsoleChangesNothingUnaudited: when the audit log cannot take the
// intent, a console change is refused with 503 and not made.
func TestConsoleChangesNothingUnaudited(t *testing.T) {
	a, _ := aeadsubtle.NewAESGCM(bytes.Repeat([]byte{9}, 32))
	codec := upload.NewCodec(a)
	links := &fakeLinks{used: map[string]bool{}}
	al, kill := &failingAudit{}, &countingKill{}
	c := &Console{Tokens: codec, Store: linkConsoleStore{links: links}, Audit: al, Kill: kill, Log: slog.New(slog.DiscardHandler), Now: time.Now,
		Operator: ops.New(nil, nil, kill, al, clock.System{}, slog.New(slog.DiscardHandler))}
	h := c.Handler()
	tok, _, _, _ := IssueConsoleLink(context.Background(), codec, links, time.Now())
	w := serve(h, httptest.NewRequest("GET", "/console/open/"+tok, nil))
	var session *http.Cookie
	for _, ck := range w.Result().Cookies() {
		if ck.Name == operatorCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session")
	}
	post := func() int {
		r := httptest.NewRequest("POST", "/console/kill-switch", strings.NewReader("csrf="+strings.Repeat("c", 32)+"&on=true"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(session)
		r.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: strings.Repeat("c", 32)})
		w := serve(h, r)
		return w.Code
	}
	if code := post(); code != 200 || kill.sets != 1 {
		t.Fatalf("with the audit log up: %d, %d sets", code, kill.sets)
	}
	al.down = true
	if code := post(); code != http.StatusServiceUnavailable || kill.sets != 1 {
		t.Errorf("with the audit log down: %d, %d sets (want 503, still 1)", code, kill.sets)
	}
}

// countingAuth counts sign-in attempts that got past the form checks.
type countingAuth struct{ calls int }

func (a *countingAuth) Authenticate(context.Context, string) (auth.Principal, error) {
	a.calls++
	return auth.Principal{}, fault.New(fault.Unauthenticated, "no")
}

// TestCSRFEmptyCookieAndField is the regression for an empty CSRF cookie
// with an empty form field passing the double-submit check on
// /console/login (and every other form).
func TestCSRFEmptyCookieAndField(t *testing.T) {
	au := &countingAuth{}
	c := &Console{Auth: au, Audit: &fakeAudit{}, Log: slog.New(slog.DiscardHandler), Now: time.Now}
	h := c.Handler()
	for name, tc := range map[string]struct{ cookie, field string }{
		"empty both":   {"", ""},
		"short both":   {"abc", "abc"},
		"empty cookie": {"", strings.Repeat("c", 32)},
	} {
		r := httptest.NewRequest("POST", "/console/login", strings.NewReader("key=obs_x&csrf="+tc.field))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Cookie", web.CSRFCookie+"="+tc.cookie)
		w := serve(h, r)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, w.Code)
		}
	}
	if au.calls != 0 {
		t.Errorf("%d sign-ins reached the authenticator", au.calls)
	}
}

// TestFormsRefuseCrossOrigin: every state-changing form of the console,
// the privacy center and the demo refuses a post whose Origin or
// Sec-Fetch-Site says it came from another site, even with a valid token.
func TestFormsRefuseCrossOrigin(t *testing.T) {
	au := &countingAuth{}
	// A demo without collaborators: a post that got through would reach
	// its nil consent service and fail the test.
	d := &demo.Demo{Log: slog.New(slog.DiscardHandler)}
	handlers := map[string]http.Handler{
		"/console/login":  (&Console{Auth: au, Audit: &fakeAudit{}, Log: slog.New(slog.DiscardHandler), Now: time.Now}).Handler(),
		"/console/logout": (&Console{Log: slog.New(slog.DiscardHandler), Now: time.Now}).Handler(),
		"/privacy/erase":  (&privacy.Privacy{Log: slog.New(slog.DiscardHandler)}).Handler(),
		"/demo/analyze":   d.Handler(),
	}
	tok := strings.Repeat("k", 32)
	for path, h := range handlers {
		for name, hdr := range map[string][2]string{
			"evil origin":     {"Origin", "https://evil.example"},
			"null origin":     {"Origin", "null"},
			"other port":      {"Origin", "http://localhost:9999"},
			"cross-site":      {"Sec-Fetch-Site", "cross-site"},
			"same-site other": {"Sec-Fetch-Site", "same-site"},
		} {
			r := httptest.NewRequest("POST", path, strings.NewReader("key=obs_x&feature=tags&csrf="+tok))
			r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost:8787"
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: tok})
			r.Header.Set(hdr[0], hdr[1])
			w := serve(h, r)
			if w.Code != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", path, name, w.Code)
			}
			if w.Result().Header.Get("Set-Cookie") != "" && path == "/console/logout" {
				t.Errorf("%s %s: cookie changed", path, name)
			}
		}
	}
	if au.calls != 0 {
		t.Errorf("refused posts still acted: %d sign-ins", au.calls)
	}
	// The same post from this origin gets past the origin check.
	r := httptest.NewRequest("POST", "/console/login", strings.NewReader("key=obs_x&csrf="+tok))
	r.Host = "localhost:8787"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://localhost:8787")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: tok})
	w := httptest.NewRecorder()
	handlers["/console/login"].ServeHTTP(w, r)
	if au.calls != 1 {
		t.Errorf("same-origin sign-in: %d, authenticator calls %d", w.Code, au.calls)
	}
}

// TestPublicOriginBehindProxy: behind a proxy that rewrites Host, a post
// from the public URL's origin passes; another origin still does not.
func TestPublicOriginBehindProxy(t *testing.T) {
	au := &countingAuth{}
	h := web.PublicOrigin("https://photos.example.com", (&Console{Auth: au, Audit: &fakeAudit{}, Log: slog.New(slog.DiscardHandler), Now: time.Now}).Handler())
	tok := strings.Repeat("k", 32)
	for origin, want := range map[string]bool{"https://photos.example.com": true, "https://evil.example": false, "http://photos.example.com": false} {
		r := httptest.NewRequest("POST", "/console/login", strings.NewReader("key=obs_x&csrf="+tok))
		r.Host = "127.0.0.1:8787"
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", origin)
		r.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: tok})
		before := au.calls
		w := serve(h, r)
		if got := au.calls > before; got != want {
			t.Errorf("origin %s: reached sign-in %v, want %v (%d)", origin, got, want, w.Code)
		}
	}
}
