package mediabench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/wire"
)

// AnalysisEnv compares an analysis through the HTTP API of the graph serve
// builds (authentication, rate limit, kill switch, audit, consent gate,
// decrypting the stored photo, the extraction guard, the models, feature
// squeezing, hardening, sealing each feature's result) with the same
// analysis called in process on the same photo bytes (decode and models
// only).
type AnalysisEnv struct {
	g       *wire.Graph
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
	b, err := perf.NewServices(ctx, dir, "analysis", eng)
	if err != nil {
		return nil, err
	}
	e, err := analysisEnv(ctx, b, eng, photo)
	if err != nil {
		b.Close()
	}
	return e, err
}

func analysisEnv(ctx context.Context, b *wire.Graph, eng *vision.Engine, photo []byte) (*AnalysisEnv, error) {
	key, rec := auth.Mint(b.Keys, perf.Tenant, auth.AllScopes, time.Now())
	if err := b.Store.CreateAPIKey(ctx, rec); err != nil {
		return nil, err
	}
	as, err := b.Uploads.Ingest(ctx, perf.Tenant, "bench-subject", photo)
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"face_detection", "tagging", "sensitive_content"} {
		if _, err := b.Consents.Grant(ctx, perf.Tenant, "bench-subject", consent.Grant{Purpose: p, Notice: "bench"}); err != nil {
			return nil, err
		}
	}
	h := b.Handler(wire.HTTP{Version: "bench"})
	// The photo as stored (sanitized): what the in-process path analyses too.
	return &AnalysisEnv{g: b, eng: eng, handler: h, key: key, asset: as.ID, photo: photo}, nil
}

// Close flushes the audit log and closes the store.
func (e *AnalysisEnv) Close() error {
	return e.g.Close()
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
