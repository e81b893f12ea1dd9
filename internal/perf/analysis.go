package perf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/api"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/vision"
)

// AnalysisEnv compares an analysis through the HTTP API (authentication,
// rate limit, audit, consent gate, decrypting the stored photo, the
// models, hardening, sealing each feature's result) with the same
// analysis called in process on the same photo bytes (decode and models
// only).
type AnalysisEnv struct {
	b       *benchServices
	audit   *audit.Log
	eng     *vision.Engine
	handler http.Handler
	key     string
	asset   string
	photo   []byte
}

// AnalysisFeatures are what both paths run.
var AnalysisFeatures = []string{vision.Faces, vision.Tags, vision.Sensitive}

// NewAnalysisEnv wires the stack in dir with the vision engine eng.
func NewAnalysisEnv(ctx context.Context, dir string, eng *vision.Engine, photo []byte) (*AnalysisEnv, error) {
	b, err := newBenchServices(ctx, dir, "analysis.db")
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	clk := clock.System{}
	key, rec := auth.Mint(b.kr, "ten_bench", auth.AllScopes, time.Now())
	if err := b.st.CreateAPIKey(ctx, rec); err != nil {
		return nil, err
	}
	signer, err := b.kr.TenantSigner(ctx, "", "audit")
	if err != nil {
		return nil, err
	}
	al := audit.New(b.st, signer, clk, log, audit.Options{})
	up := upload.New(upload.DefaultConfig(), b.st, b.objects, b.kr, upload.NewCodec(b.kr.TokenAEAD()), clk)
	as, err := up.Ingest(ctx, "ten_bench", "bench-subject", photo)
	if err != nil {
		return nil, err
	}
	reg := derived.New(b.objects, b.st, clk)
	cs := consent.New(b.st, b.kr, reg, clk, log)
	for _, p := range []string{"face_detection", "tagging", "sensitive_content"} {
		if _, err := cs.Grant(ctx, "ten_bench", "bench-subject", consent.Grant{Purpose: p, Notice: "bench"}); err != nil {
			return nil, err
		}
	}
	an := analysis.New(analysis.Deps{Engine: eng, Assets: up, Objects: b.objects, Consent: cs, Results: b.st, Audit: al, Hash: b.kr, Clock: clk, Log: log})
	reg.Register(an, cs, upload.Photos{Records: b.st, Objects: b.objects})
	up.WithDerived(reg)
	h := api.New(api.Deps{Store: b.st, Keys: b.kr, Auth: auth.New(b.st, b.kr, clk), Clock: clk, Log: log,
		Registry: prometheus.NewRegistry(), Version: "bench", Audit: al, AuditReader: b.st, Uploads: up, Consents: cs, Analysis: an,
		Limiter: guard.NewLimiter(guard.Limits{Classes: map[string]guard.Limit{"api": {PerSecond: 1e9, Burst: 1e9}, "analyze": {PerSecond: 1e9, Burst: 1e9}}}, clk)}).Handler()
	// The photo as stored (sanitized): what the in-process path analyses too.
	return &AnalysisEnv{b: b, audit: al, eng: eng, handler: h, key: key, asset: as.ID, photo: photo}, nil
}

// Close flushes the audit log and closes the store.
func (e *AnalysisEnv) Close() error {
	e.audit.Close()
	return e.b.st.Close()
}

// HTTP runs one analysis through the API.
func (e *AnalysisEnv) HTTP() error {
	body := []byte(`{"features":["faces","tags","sensitive"]}`)
	r := httptest.NewRequest(http.MethodPost, "/v1/assets/"+e.asset+"/analyze", bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+e.key)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		return fmt.Errorf("analyze over HTTP: %d %s", w.Code, w.Body.String())
	}
	return nil
}

// InProcess runs the same analysis on the same photo in process.
func (e *AnalysisEnv) InProcess(ctx context.Context) error {
	_, err := e.eng.Analyze(ctx, e.photo, AnalysisFeatures)
	return err
}

// AnalysisRow is the HTTP-vs-in-process figure.
type AnalysisRow struct {
	HTTPMs      float64 `json:"http_ms"`
	InProcessMs float64 `json:"in_process_ms"`
	Ratio       float64 `json:"ratio"` // http / in-process
}

// RunAnalysis measures both paths on a real sample photo.
func RunAnalysis(ctx context.Context, dir string, eng *vision.Engine, photo []byte) (AnalysisRow, error) {
	e, err := NewAnalysisEnv(ctx, dir, eng, photo)
	if err != nil {
		return AnalysisRow{}, err
	}
	defer e.Close()
	var ferr error
	h := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if err := e.HTTP(); err != nil {
				ferr = err
			}
		}
	})
	p := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if err := e.InProcess(ctx); err != nil {
				ferr = err
			}
		}
	})
	if ferr != nil {
		return AnalysisRow{}, ferr
	}
	hm, pm := float64(h.NsPerOp())/1e6, float64(p.NsPerOp())/1e6
	return AnalysisRow{HTTPMs: hm, InProcessMs: pm, Ratio: hm / pm}, nil
}
