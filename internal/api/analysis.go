package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/auth"
)

// analysisService runs and reads analyses (package analysis).
type analysisService interface {
	Analyze(ctx context.Context, tenant, assetID string, features []string) (analysis.Result, error)
	Stored(ctx context.Context, tenant, assetID string) (map[string]json.RawMessage, error)
}

// AnalyzeInput is the analyze request.
type AnalyzeInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Features []string `json:"features" minItems:"1" maxItems:"4" uniqueItems:"true" doc:"Each needs its purpose granted by the photo's subject: faces → face_detection, tags → tagging, sensitive → sensitive_content, text → text_detection" enum:"faces,tags,sensitive,text"`
	}
}

// AnalyzeOutput is a hardened analysis result.
type AnalyzeOutput struct{ Body analysis.Result }

// StoredOutput holds an asset's stored results by feature.
type StoredOutput struct {
	Body struct {
		AssetID string                     `json:"asset_id"`
		Results map[string]json.RawMessage `json:"results" doc:"Unexpired results by feature; a purpose revoked since is gone"`
	}
}

func (a *API) registerAnalysis() {
	if a.d.Analysis == nil {
		return
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "analyze-asset", Method: http.MethodPost, Path: "/v1/assets/{id}/analyze", Tags: []string{"analysis"},
		Summary:     "Analyze a stored photo (faces, tags, sensitive content, text) under the subject's consent",
		Description: "Outputs are hardened: top 5 tags above 0.35, confidences rounded to two decimals, no logits, never an embedding. Each feature's result is stored encrypted under its purpose's key with retention class `analysis`.",
		Security:    secured(auth.ScopeAnalyze),
		Metadata:    map[string]any{"feature": "analyze"},
		Extensions:  map[string]any{"x-obscura-purposes": []string{"face_detection", "tagging", "sensitive_content", "text_detection"}},
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *AnalyzeInput) (*AnalyzeOutput, error) {
		res, err := a.d.Analysis.Analyze(ctx, principal(ctx).TenantID, in.ID, in.Body.Features)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &AnalyzeOutput{Body: res}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-analysis", Method: http.MethodGet, Path: "/v1/assets/{id}/analysis", Tags: []string{"analysis"},
		Summary:  "Stored, unexpired analysis results of a photo",
		Security: secured(auth.ScopeAnalyze),
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *AssetIDInput) (*StoredOutput, error) {
		res, err := a.d.Analysis.Stored(ctx, principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &StoredOutput{}
		out.Body.AssetID, out.Body.Results = in.ID, res
		return out, nil
	})
}
