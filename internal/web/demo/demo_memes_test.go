package demo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/meme"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/web"
)

// fakeMemes is a unit-test double of the meme service and drafts (the
// real ones run in e2e/memes_test.go).
type fakeMemes struct {
	refuse   bool
	asked    int
	accepted []string
}

func (f *fakeMemes) Generate(_ context.Context, tenant, _, assetID string, req meme.Request) ([]meme.Made, error) {
	f.asked++
	if f.refuse {
		return nil, meme.ErrNotEligible
	}
	return []meme.Made{{Draft: draft.Draft{ID: "drf_1", ExpiresAt: time.Unix(0, 0), Caption: &draft.Caption{Top: "TOP LINE", Bottom: "BOTTOM LINE"}}, Template: "t"}}, nil
}

func (f *fakeMemes) List(context.Context, string, string) ([]draft.Draft, error) { return nil, nil }
func (f *fakeMemes) Image(_ context.Context, _, id string) ([]byte, error) {
	if id != "drf_1" {
		return nil, fault.New(fault.NotFound, "draft not found")
	}
	return []byte{0xFF, 0xD8, 0xFF, 0xD9}, nil
}
func (f *fakeMemes) Accept(_ context.Context, _, id string) (store.Asset, error) {
	f.accepted = append(f.accepted, id)
	return store.Asset{ID: "ast_2"}, nil
}
func (f *fakeMemes) Reject(context.Context, string, string) error { return nil }
func (f *fakeMemes) Accepted(context.Context, string, string) ([]store.Generated, error) {
	return nil, nil
}

func postMemes(h http.Handler, tok string) *httptest.ResponseRecorder {
	return postDemo(h, tok, url.Values{"csrf": {tok}, "feature": {"tags"}, "memes": {"yes"}}, []byte("JPEG..."))
}

func TestDemoMemes(t *testing.T) {
	d, c, _ := newDemo()
	m := &fakeMemes{}
	d.Memes, d.Drafts = m, m
	h := d.Handler()
	tok := strings.Repeat("k", 32)
	w := postMemes(h, tok)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `src="/demo/draft/drf_1"`) || !strings.Contains(w.Body.String(), "TOP LINE") {
		t.Fatalf("memes: %d %s", w.Code, w.Body.String())
	}
	if !strings.Contains(strings.Join(c.purposes, ","), "meme_generation") {
		t.Errorf("meme_generation not granted: %v", c.purposes)
	}
	if g := get(h, "/demo/draft/drf_1", "127.0.0.1:1"); g.Code != 200 || g.Header().Get("Content-Type") != "image/jpeg" {
		t.Errorf("draft image: %d", g.Code)
	}
	if g := get(h, "/demo/draft/drf_1", "203.0.113.9:1"); g.Code == 200 {
		t.Error("draft image served to a non-loopback client")
	}
	decide := func(csrfSent string) int {
		r := httptest.NewRequest("POST", "/demo/drafts", strings.NewReader(url.Values{"csrf": {csrfSent}, "draft": {"drf_1"}, "action": {"accept"}}.Encode()))
		r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost:8787"
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: web.CSRFCookie, Value: tok})
		w := serve(h, r)
		return w.Code
	}
	if code := decide("wrong-wrong-wrong-wrong-wrong-wr"); code != http.StatusForbidden || len(m.accepted) != 0 {
		t.Errorf("forged CSRF: %d, accepted %v", code, m.accepted)
	}
	if code := decide(tok); code != 200 || len(m.accepted) != 1 {
		t.Errorf("keep: %d, accepted %v", code, m.accepted)
	}
	m.refuse = true
	if w := postMemes(h, tok); w.Code != 200 || !strings.Contains(w.Body.String(), `id="meme-note"`) {
		t.Errorf("refused photo: %d", w.Code)
	}
}
