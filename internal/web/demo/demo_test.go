package demo

import (
	"bytes"
	"context"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/samples"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/web"
)

// Test doubles: the demo's collaborators are exercised for real in e2e
// (TestDemoPageInBrowser); here only the page's own rules are tested.
type fakeIngest struct{ data []byte }

func (f *fakeIngest) Ingest(_ context.Context, tenant, subject string, data []byte) (store.Asset, error) {
	if !bytes.HasPrefix(data, []byte("JPEG")) {
		return store.Asset{}, sanitize.ErrInvalid
	}
	f.data = data
	return store.Asset{ID: "ast_1", TenantID: tenant, Format: "jpeg", Width: 4, Height: 3}, nil
}

func (f *fakeIngest) Asset(_ context.Context, tenant, id string) (store.Asset, error) {
	return store.Asset{ID: id, TenantID: tenant, Format: "jpeg"}, nil
}

type fakeConsent struct{ purposes []string }

func (f *fakeConsent) Grant(_ context.Context, _, _ string, g consent.Grant) (consent.Receipt, error) {
	f.purposes = append(f.purposes, g.Purpose)
	return consent.Receipt{}, nil
}

type fakeAnalysis struct{ features []string }

func (f *fakeAnalysis) Analyze(_ context.Context, _, id string, features []string) (analysis.Result, error) {
	f.features = features
	return analysis.Result{AssetID: id, Width: 4, Height: 3, Faces: []analysis.Face{{}}}, nil
}

func newDemo() (*Demo, *fakeConsent, *fakeAnalysis) {
	c, a := &fakeConsent{}, &fakeAnalysis{}
	return &Demo{Ingest: &fakeIngest{}, Consent: c, Analysis: a, Log: slog.New(slog.DiscardHandler)}, c, a
}

// serve is h's response to r.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func get(h http.Handler, path, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr, r.Host = remote, "127.0.0.1:8787"
	return serve(h, r)
}

func TestDemoIsLoopbackOnlyWithStrictHeaders(t *testing.T) {
	d, _, _ := newDemo()
	h := d.Handler()
	if w := get(h, "/demo", "203.0.113.9:5555"); w.Code != http.StatusForbidden {
		t.Errorf("remote client: %d", w.Code)
	}
	w := get(h, "/demo", "127.0.0.1:5555")
	if w.Code != 200 {
		t.Fatalf("loopback: %d", w.Code)
	}
	if w.Header().Get("Content-Security-Policy") != web.CSP || !strings.Contains(web.CSP, "default-src 'none'") {
		t.Errorf("web.CSP %q", w.Header().Get("Content-Security-Policy"))
	}
	c := w.Result().Cookies()
	if len(c) != 1 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("CSRF cookie %+v", c)
	}
	if w := get(h, "/console/static/style.css", "[::1]:1"); w.Code != 200 || !strings.Contains(w.Body.String(), "color") {
		t.Errorf("stylesheet: %d", w.Code)
	}
}

func post(t *testing.T, h http.Handler, cookie, token string, features []string, photo []byte) *httptest.ResponseRecorder {
	return postDemo(h, cookie, url.Values{"csrf": {token}, "feature": features}, photo)
}

// postDemo posts the demo form from a loopback client: the fields, the
// photo as its file part (none if nil) and cookie as the CSRF cookie (none
// if empty).
func postDemo(h http.Handler, cookie string, fields url.Values, photo []byte) *httptest.ResponseRecorder {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if photo != nil {
		fw, _ := mw.CreateFormFile("photo", "p.jpg")
		fw.Write(photo)
	}
	mw.Close()
	r := httptest.NewRequest("POST", "/demo/analyze", &body)
	r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost:8787"
	r.Header.Set("Content-Type", mw.FormDataContentType())
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: cookie})
	}
	return serve(h, r)
}

func TestDemoAnalyzeChecksCSRFAndConsent(t *testing.T) {
	d, c, a := newDemo()
	h := d.Handler()
	tok := strings.Repeat("k", 32)
	if w := post(t, h, tok, "forged-token-forged-token-forged", []string{"faces"}, []byte("JPEG...")); w.Code != http.StatusForbidden {
		t.Errorf("forged token: %d", w.Code)
	}
	if w := post(t, h, "", tok, []string{"faces"}, []byte("JPEG...")); w.Code != http.StatusForbidden {
		t.Errorf("no cookie: %d", w.Code)
	}
	if len(c.purposes) != 0 || a.features != nil {
		t.Fatalf("a refused form still granted %v / analysed %v", c.purposes, a.features)
	}
	if w := post(t, h, tok, tok, nil, []byte("JPEG...")); w.Code != http.StatusBadRequest {
		t.Errorf("no feature: %d", w.Code)
	}
	if w := post(t, h, tok, tok, []string{"faces"}, []byte("not a photo")); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "not a photo Obscura can read") {
		t.Errorf("bad photo: %d", w.Code)
	}
	c.purposes = nil
	w := post(t, h, tok, tok, []string{"faces", "age", "tags"}, []byte("JPEG..."))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `class="face"`) {
		t.Fatalf("analyze: %d %s", w.Code, w.Body.String())
	}
	// Only known features; each granted its own purpose, nothing else.
	if strings.Join(a.features, ",") != "faces,tags" || strings.Join(c.purposes, ",") != "face_detection,tagging" {
		t.Errorf("features %v, purposes %v", a.features, c.purposes)
	}
}

// TestDemoChecksHostHeader is the regression for /demo trusting only the
// client address: a DNS-rebinding page (its own name resolving to
// 127.0.0.1) and a reverse proxy on this machine both connect from
// loopback.
func TestDemoChecksHostHeader(t *testing.T) {
	d, _, _ := newDemo()
	h := d.Handler()
	for name, tc := range map[string]struct {
		host   string
		header [2]string
		want   int
	}{
		"localhost":       {"localhost:8787", [2]string{}, 200},
		"ipv4":            {"127.0.0.1:8787", [2]string{}, 200},
		"ipv6":            {"[::1]:8787", [2]string{}, 200},
		"rebinding name":  {"attacker.example:8787", [2]string{}, 403},
		"lookalike":       {"localhost.attacker.example", [2]string{}, 403},
		"public address":  {"203.0.113.9:8787", [2]string{}, 403},
		"proxied":         {"localhost:8787", [2]string{"X-Forwarded-For", "198.51.100.7"}, 403},
		"proxied rfc7239": {"localhost:8787", [2]string{"Forwarded", "for=198.51.100.7"}, 403},
	} {
		r := httptest.NewRequest("GET", "/demo", nil)
		r.RemoteAddr, r.Host = "127.0.0.1:5555", tc.host
		if tc.header[0] != "" {
			r.Header.Set(tc.header[0], tc.header[1])
		}
		w := serve(h, r)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", name, w.Code, tc.want)
		}
	}
}

// The demo offers the repository's sample photos (issue 17.12): without a
// file, the chosen sample is what gets ingested; an unknown name is refused.
func TestDemoSamplePhoto(t *testing.T) {
	d, _, _ := newDemo()
	ing := &sampleIngest{}
	d.Ingest = ing
	h := d.Handler()
	if w := get(h, "/demo", "127.0.0.1:5555"); !strings.Contains(w.Body.String(), "<option>astronaut.jpg</option>") {
		t.Errorf("demo form offers no sample photo: %s", w.Body.String())
	}
	tok := strings.Repeat("k", 32)
	send := func(sample string) *httptest.ResponseRecorder {
		return postDemo(h, tok, url.Values{"csrf": {tok}, "feature": {"faces"}, "sample": {sample}}, nil)
	}
	if w := send("../../master.key"); w.Code != http.StatusBadRequest || ing.data != nil {
		t.Errorf("unknown sample: %d, ingested %d bytes", w.Code, len(ing.data))
	}
	want, _ := samples.FS.ReadFile("astronaut.jpg")
	if w := send("astronaut.jpg"); w.Code != 200 || !bytes.Equal(ing.data, want) {
		t.Errorf("sample astronaut.jpg: %d, ingested %d bytes, want %d", w.Code, len(ing.data), len(want))
	}
}

// sampleIngest records what the demo ingests, whatever the bytes.
type sampleIngest struct{ fakeIngest }

func (f *sampleIngest) Ingest(_ context.Context, tenant, subject string, data []byte) (store.Asset, error) {
	f.data = data
	return store.Asset{ID: "ast_1", TenantID: tenant, Format: "jpeg", Width: 4, Height: 3}, nil
}
