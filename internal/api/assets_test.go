package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/alert"
	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/api/photos"
	"github.com/obscuraproject/obscura/internal/api/recognition"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/blob/fsblob"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/egress"
	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/guard/squeeze"
	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/jobs"
	"github.com/obscuraproject/obscura/internal/meme"
	"github.com/obscuraproject/obscura/internal/operator"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/subject"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/textfilter"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/web/privacy"
)

type uploadEnv struct {
	api        *API
	st         store.Backend
	auditPub   ed25519.PublicKey
	srv        *httptest.Server
	clk        *clock.Fake
	keys       map[string]string // tenant name → admin key
	dir        string
	client     *http.Client
	analysis   *analysis.Service
	faces      *faces.Service
	jobs       *jobs.Queue
	alerts     *alert.Engine
	extraction *guard.Extraction
	drafts     *draft.Service
	memes      *meme.Service
}

func newUploadEnv(t *testing.T) *uploadEnv {
	t.Helper()
	ctx := context.Background()
	k := testkit.New(t, nil)
	st, kr, clk, log := k.Store, k.Keys, k.Clock, k.Log
	up := upload.New(upload.DefaultConfig(), st, k.Objects, kr, upload.NewCodec(kr.TokenAEAD()), clk)
	e := &uploadEnv{clk: clk, keys: map[string]string{}, dir: k.Dir, client: &http.Client{}}
	kinds := derived.New(k.Objects, st, clk)
	cs := consent.New(st, kr, kinds, clk, log)
	subjects := subject.New(st, k.Objects, kinds, kr, upload.NewCodec(kr.TokenAEAD()), clk, time.Minute)
	signer, err := kr.TenantSigner(ctx, "", "audit")
	if err != nil {
		t.Fatal(err)
	}
	al := audit.New(st, signer, clk, log, audit.Options{CheckpointEvery: 5})
	t.Cleanup(func() { al.Close() })
	kill := incident.NewSwitches(st, clk, log)
	if err := kill.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	e.st, e.auditPub = st, signer.PublicKey()
	// The extraction guard with a small volume limit, so a test can reach
	// it; the PRADA figures are measured in package guard.
	xcfg := guard.DefaultExtraction
	xcfg.MaxPerHour, xcfg.BlockAfter = 30, 3
	e.alerts = alert.New(alert.DefaultConfig(), st, clk, log)
	e.extraction = guard.NewExtraction(xcfg, clk, func(f guard.Flag) {
		e.alerts.Raise(context.Background(), store.Alert{Rule: alert.RuleExtraction, Severity: f.State, TenantID: f.Tenant, Detail: f.Detail()})
	})
	squeezer := squeeze.New()
	onAdv := func(ctx context.Context, tenant, key string, score float64) {
		e.alerts.Raise(ctx, store.Alert{Rule: alert.RuleAdversarial, Severity: "warning", TenantID: tenant, Detail: "squeeze"})
	}
	e.analysis = analysis.New(analysis.Deps{Guard: e.extraction, Thumbnail: guard.Thumbnail, Engine: testEngine(t), Assets: up, Objects: k.Objects, Consent: cs, Results: st,
		Audit: al, Hash: kr, Clock: clk, Log: log})
	q, err := jobs.Open(ctx, filepath.Join(k.Dir, "obscura.db"), jobs.Options{StartWorker: true, PollEvery: 20 * time.Millisecond,
		Log: log, Analyzer: e.analysis, WebhookSecret: func(t string) []byte { return []byte(recognition.WebhookSecret(kr, t)) }, Egress: loopbackEgress(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	e.jobs = q
	e.faces = faces.New(faces.Deps{Guard: e.extraction, Thumbnail: guard.Thumbnail,
		Squeezer: squeezer, OnAdversarial: onAdv, Engine: testEngine(t), Assets: up, Objects: k.Objects, Consent: cs, Store: st, Hash: kr,
		Audit: al, Clock: clk, Log: log})
	e.drafts = draft.New(draft.Deps{Store: st, Objects: k.Objects, Hash: kr, Audit: al, Clock: clk, Log: log, Downloads: up})
	up.WithObjectSource(draft.IDPrefix, e.drafts)
	tf, err := textfilter.New()
	if err != nil {
		t.Fatal(err)
	}
	if e.memes, err = meme.New(meme.Deps{Engine: testEngine(t), Assets: up, Photos: k.Objects, Consent: cs, Drafts: e.drafts,
		Filter: meme.TextFilter{F: tf}, Untrusted: textfilter.Untrusted, Audit: al, Hash: kr, Clock: clk, Log: log}); err != nil {
		t.Fatal(err)
	}
	up.WithDerived(kinds.Register(e.analysis, e.faces, e.drafts, subject.Links{Store: st}, cs, upload.Photos{Records: st, Objects: k.Objects}))
	privacy := &privacy.Privacy{Tokens: upload.NewCodec(kr.TokenAEAD()), Store: st, Drafts: st, Consents: cs, Subjects: subjects, Gallery: e.faces, Hash: kr, Photos: up, Results: e.analysis, Audit: al, Now: clk.Now, Log: log, Generated: e.drafts}
	a := New(Deps{Store: st, Keys: kr, Auth: auth.New(st, kr, clk), Clock: clk, Log: log, Registry: prometheus.NewRegistry(), Version: "t",
		Uploads: up, Consents: cs, Subjects: subjects, Audit: al, AuditReader: st, Kill: kill,
		Limiter:     guard.NewLimiter(guard.Limits{Classes: map[string]guard.Limit{"api": {PerSecond: 5, Burst: 60}}}, clk),
		Alerts:      alert.New(alert.Config{FailedAuthBurst: alert.Threshold{Floor: 3, Multiple: 2}, QuerySpike: alert.Threshold{Floor: 1e9}, MassExport: alert.Threshold{Floor: 1e9}, Alpha: 0.2}, st, clk, log),
		AlertReader: st, Analysis: e.analysis, Faces: e.faces, Jobs: e.jobs, Drafts: e.drafts, Memes: e.memes,
		Privacy: privacy, Operator: operator.New(st, kr, kill, al, clk, log), Analytics: newTestAnalytics(t, st, cs, up, clk, log, nil)})
	e.api = a
	pages := privacy.Handler()
	top := http.NewServeMux()
	top.Handle("/privacy/", pages)
	top.Handle("/privacy", pages)
	top.Handle("/", a.Handler())
	e.srv = httptest.NewServer(top)
	t.Cleanup(e.srv.Close)
	a.d.PublicURL = e.srv.URL
	for _, name := range []string{"a", "b"} {
		e.keys[name], _ = k.Tenant(t, "ten_"+name)
	}
	return e
}

func (e *uploadEnv) req(t *testing.T, method, url, key, ctype string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	r, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	res, err := e.client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func (e *uploadEnv) uploadURL(t *testing.T, tenant, ctype string, extra string) string {
	t.Helper()
	code, _, b := e.req(t, "POST", e.srv.URL+"/v1/uploads", e.keys[tenant], "application/json",
		[]byte(`{"subject":"user-42","content_type":"`+ctype+`"`+extra+`}`))
	if code != 201 {
		t.Fatalf("create upload: %d %s", code, b)
	}
	var out struct {
		UploadURL string `json:"upload_url"`
	}
	json.Unmarshal(b, &out)
	if !strings.HasPrefix(out.UploadURL, e.srv.URL+"/v1/upload/ut1.") {
		t.Fatalf("upload_url %q", out.UploadURL)
	}
	return out.UploadURL
}

func photo(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 31)
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	return buf.Bytes()
}

func codeOf(t *testing.T, b []byte) string {
	var p Problem
	json.Unmarshal(b, &p)
	return p.Code
}

func TestUploadFlow(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	pic := photo(t, 64, 48)
	url := e.uploadURL(t, "a", "image/jpeg", "")
	code, _, b := e.req(t, "PUT", url, "", "image/jpeg", pic)
	if code != 201 {
		t.Fatalf("PUT: %d %s", code, b)
	}
	var asset photos.AssetInfo
	json.Unmarshal(b, &asset)
	if asset.Width != 64 || asset.Height != 48 || asset.Format != "jpeg" || !strings.HasPrefix(asset.AssetID, "ast_") {
		t.Fatalf("asset %s", b)
	}
	if strings.Contains(string(b), "user-42") {
		t.Error("response names the subject")
	}
	// Replay of the same URL.
	if code, _, b := e.req(t, "PUT", url, "", "image/jpeg", pic); code != 409 || codeOf(t, b) != "token_used" {
		t.Errorf("replay: %d %s", code, b)
	}
	// Metadata and download (single use).
	code, _, b = e.req(t, "GET", e.srv.URL+"/v1/assets/"+asset.AssetID, e.keys["a"], "", nil)
	if code != 200 {
		t.Fatalf("get asset: %d %s", code, b)
	}
	code, _, b = e.req(t, "POST", e.srv.URL+"/v1/assets/"+asset.AssetID+"/download", e.keys["a"], "", nil)
	var dl struct {
		DownloadURL string `json:"download_url"`
	}
	json.Unmarshal(b, &dl)
	if code != 200 || !strings.Contains(dl.DownloadURL, "/v1/download/dt1.") {
		t.Fatalf("download url: %d %s", code, b)
	}
	code, hdr, got := e.req(t, "GET", dl.DownloadURL, "", "", nil)
	if code != 200 || hdr.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("download: %d %s", code, hdr.Get("Content-Type"))
	}
	if _, err := jpeg.Decode(bytes.NewReader(got)); err != nil {
		t.Errorf("downloaded photo does not decode: %v", err)
	}
	if code, _, b := e.req(t, "GET", dl.DownloadURL, "", "", nil); code != 409 || codeOf(t, b) != "token_used" {
		t.Errorf("download replay: %d %s", code, b)
	}
	// An upload token is not a download token.
	if code, _, b := e.req(t, "GET", e.srv.URL+"/v1/download/"+strings.TrimPrefix(url, e.srv.URL+"/v1/upload/"), "", "", nil); code != 401 || codeOf(t, b) != "token_invalid" {
		t.Errorf("upload token as download: %d %s", code, b)
	}
	// Tenant B sees exactly a missing id.
	for _, m := range []struct{ method, path string }{{"GET", ""}, {"POST", "/download"}, {"DELETE", ""}} {
		c1, _, b1 := e.req(t, m.method, e.srv.URL+"/v1/assets/"+asset.AssetID+m.path, e.keys["b"], "", nil)
		c2, _, b2 := e.req(t, m.method, e.srv.URL+"/v1/assets/ast_doesnotexist"+m.path, e.keys["b"], "", nil)
		if c1 != 404 || c1 != c2 || !bytes.Equal(b1, b2) {
			t.Errorf("%s%s cross-tenant %d %s vs missing %d %s", m.method, m.path, c1, b1, c2, b2)
		}
	}
	// Delete: record and ciphertext gone.
	if code, _, b := e.req(t, "DELETE", e.srv.URL+"/v1/assets/"+asset.AssetID, e.keys["a"], "", nil); code != 204 {
		t.Fatalf("delete: %d %s", code, b)
	}
	if code, _, _ := e.req(t, "GET", e.srv.URL+"/v1/assets/"+asset.AssetID, e.keys["a"], "", nil); code != 404 {
		t.Errorf("after delete: %d", code)
	}
	var left []string
	blobs, _ := fsblob.Open(filepath.Join(e.dir, "blobs"))
	blobs.List(context.Background(), "", func(k string) error { left = append(left, k); return nil })
	if len(left) != 0 {
		t.Errorf("blobs left after delete: %v", left)
	}
}

func TestUploadRejects(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	pic := photo(t, 32, 32)
	bomb := append([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xEA, 0x60, 0xEA, 0x60, 1, 1, 0x11, 0}, 0xFF, 0xD9)
	tests := []struct {
		name   string
		ctype  string
		extra  string
		mutate func(url string) string
		before func()
		body   []byte
		status int
		code   string
	}{
		{name: "tampered token", ctype: "image/jpeg", mutate: func(u string) string { return u[:len(u)-2] + "AA" }, body: pic, status: 401, code: "token_invalid"},
		{name: "garbage token", ctype: "image/jpeg", mutate: func(u string) string { return e.srv.URL + "/v1/upload/garbage" }, body: pic, status: 401, code: "token_invalid"},
		{name: "expired", ctype: "image/jpeg", before: func() { e.clk.Advance(61 * time.Second) }, body: pic, status: 410, code: "token_expired"},
		{name: "too large by stream", ctype: "image/jpeg", extra: `,"max_bytes":100`, body: pic, status: 413, code: "too_large"},
		{name: "wrong real type", ctype: "image/png", body: pic, status: 415, code: "unsupported_type"},
		{name: "not an image", ctype: "image/jpeg", body: []byte("#!/bin/sh\nrm -rf /\n"), status: 415, code: "unsupported_type"},
		{name: "decompression bomb", ctype: "image/jpeg", body: bomb, status: 422, code: "image_too_large"},
		{name: "truncated", ctype: "image/jpeg", body: pic[:len(pic)/2], status: 422, code: "image_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := e.uploadURL(t, "a", tt.ctype, tt.extra)
			if tt.mutate != nil {
				url = tt.mutate(url)
			}
			if tt.before != nil {
				tt.before()
			}
			code, hdr, b := e.req(t, "PUT", url, "", "image/jpeg", tt.body)
			if code != tt.status || codeOf(t, b) != tt.code || hdr.Get("Content-Type") != "application/problem+json" {
				t.Errorf("got %d %s, want %d %s", code, b, tt.status, tt.code)
			}
		})
	}
	// Too large by header: rejected before the token is spent.
	url := e.uploadURL(t, "a", "image/jpeg", `,"max_bytes":100`)
	if code, _, b := e.req(t, "PUT", url, "", "image/jpeg", pic); code != 413 || codeOf(t, b) != "too_large" {
		t.Errorf("by header: %d %s", code, b)
	}
	for _, bad := range []string{`{"subject":"","content_type":"image/jpeg"}`, `{"subject":"x","content_type":"image/gif"}`,
		`{"subject":"x","content_type":"image/jpeg","max_bytes":999999999999}`, `{"subject":"x","content_type":"image/jpeg","ttl_seconds":301}`} {
		if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/uploads", e.keys["a"], "application/json", []byte(bad)); code < 400 || code > 499 {
			t.Errorf("POST %s = %d %s", bad, code, b)
		}
	}
	if code, _, _ := e.req(t, "POST", e.srv.URL+"/v1/uploads", "", "application/json", []byte(`{"subject":"x","content_type":"image/jpeg"}`)); code != 401 {
		t.Errorf("POST without key = %d", code)
	}
}

func TestConcurrentPutsExactlyOneWins(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	pic := photo(t, 32, 32)
	url := e.uploadURL(t, "a", "image/jpeg", "")
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := http.NewRequest("PUT", url, bytes.NewReader(pic))
			res, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[201] != 1 || count[409] != n-1 {
		t.Errorf("status counts %v, want one 201 and %d 409", count, n-1)
	}
}

// loopbackEgress allow-lists loopback, where the tests' webhook receivers
// listen (production allows public addresses only).
func loopbackEgress(t testing.TB) *egress.Policy {
	p, err := egress.NewPolicy([]string{"127.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
