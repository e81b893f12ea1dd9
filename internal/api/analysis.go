package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/jobs"
)

// analysisService runs and reads analyses (package analysis).
type analysisService interface {
	Check(ctx context.Context, tenant, key, assetID string, features []string) error
	AnalyzeAs(ctx context.Context, tenant, key, assetID string, features []string) (analysis.Result, error)
	Stored(ctx context.Context, tenant, assetID string) (map[string]json.RawMessage, error)
}

// jobQueue queues asynchronous analyses (package jobs).
type jobQueue interface {
	EnqueueAnalyze(ctx context.Context, args jobs.AnalyzeArgs) (jobs.Job, error)
	Get(ctx context.Context, tenant, id string) (jobs.Job, error)
}

// AnalyzeInput is the analyze request.
type AnalyzeInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Features []string `json:"features" minItems:"1" maxItems:"4" uniqueItems:"true" doc:"Each needs its purpose granted by the photo's subject: faces → face_detection, tags → tagging, sensitive → sensitive_content, text → text_detection" enum:"faces,tags,sensitive,text"`
		Async    bool     `json:"async,omitempty" doc:"Queue the analysis and answer 202 with a job; fetch it with GET /v1/jobs/{id}"`
		Webhook  string   `json:"webhook,omitempty" maxLength:"2000" doc:"With async: POST a signed notification here when the job ends (https, or http to loopback). Header Obscura-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t.body)>; secret from GET /v1/tenant/webhook-secret. The body names the job, never results."`
	}
}

// AnalyzeOutput is a hardened analysis result, or (async) the queued job.
type AnalyzeOutput struct {
	Status int
	Body   any
}

// JobInput names a job.
type JobInput struct {
	ID string `path:"id" maxLength:"40" doc:"Opaque job id (job_…)"`
}

// JobOutput is a job and, once completed, the stored results.
type JobOutput struct {
	Body struct {
		jobs.Job
		Results map[string]json.RawMessage `json:"results,omitempty" doc:"When completed: the asset's stored results by feature"`
	}
}

// StoredOutput holds an asset's stored results by feature.
type StoredOutput struct {
	Body struct {
		AssetID string                     `json:"asset_id"`
		Results map[string]json.RawMessage `json:"results" doc:"Unexpired results by feature; a purpose revoked since is gone"`
	}
}

func (a *API) registerAnalysis() {
	huma.Register(a.huma, huma.Operation{
		OperationID: "analyze-asset", Method: http.MethodPost, Path: "/v1/assets/{id}/analyze", Tags: []string{"analysis"},
		Summary:     "Analyze a stored photo (faces, tags, sensitive content, text) under the subject's consent",
		Description: "Outputs are hardened: top 5 tags above 0.35, confidences rounded to two decimals, no logits, never an embedding. Each feature's result is stored encrypted under its purpose's key with retention class `analysis`.",
		Security:    secured(auth.ScopeAnalyze),
		Metadata:    map[string]any{"feature": "analyze", "rate_class": guard.ClassAnalyze},
		Extensions:  map[string]any{"x-obscura-purposes": []string{"face_detection", "tagging", "sensitive_content", "text_detection"}},
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *AnalyzeInput) (*AnalyzeOutput, error) {
		tenant, key := principal(ctx).TenantID, principal(ctx).KeyID
		if in.Body.Async {
			if a.d.Jobs == nil {
				return nil, a.fail(ctx, fault.New(fault.Unavailable, "asynchronous analysis is not configured"))
			}
			if err := a.d.Analysis.Check(ctx, tenant, key, in.ID, in.Body.Features); err != nil {
				return nil, a.fail(ctx, err)
			}
			j, err := a.d.Jobs.EnqueueAnalyze(ctx, jobs.AnalyzeArgs{Tenant: tenant, Key: key, AssetID: in.ID, Features: in.Body.Features, Webhook: in.Body.Webhook})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &AnalyzeOutput{Status: http.StatusAccepted, Body: j}, nil
		}
		if in.Body.Webhook != "" {
			return nil, a.fail(ctx, fault.New(fault.Invalid, "webhook needs async"))
		}
		release, err := a.admit(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		defer release()
		res, err := a.d.Analysis.AnalyzeAs(ctx, tenant, key, in.ID, in.Body.Features)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &AnalyzeOutput{Status: http.StatusOK, Body: res}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-webhook-secret", Method: http.MethodGet, Path: "/v1/tenant/webhook-secret", Tags: []string{"analysis"},
		Summary:  "The tenant's webhook signing secret (HMAC-SHA256 key)",
		Security: secured(auth.ScopeAdmin),
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, _ *struct{}) (*WebhookSecretOutput, error) {
		out := &WebhookSecretOutput{}
		out.Body.Secret = WebhookSecret(a.d.Keys, principal(ctx).TenantID)
		return out, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-job", Method: http.MethodGet, Path: "/v1/jobs/{id}", Tags: []string{"analysis"},
		Summary:  "An asynchronous analysis job, with its results once completed",
		Security: secured(auth.ScopeAnalyze),
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *JobInput) (*JobOutput, error) {
		if a.d.Jobs == nil {
			return nil, a.fail(ctx, fault.New(fault.NotFound, "job not found"))
		}
		tenant := principal(ctx).TenantID
		j, err := a.d.Jobs.Get(ctx, tenant, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &JobOutput{}
		out.Body.Job = j
		if j.State == "completed" {
			if out.Body.Results, err = a.d.Analysis.Stored(ctx, tenant, j.AssetID); err != nil {
				return nil, a.fail(ctx, err)
			}
		}
		return out, nil
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

// WebhookSecretOutput holds the tenant's webhook secret.
type WebhookSecretOutput struct {
	Body struct {
		Secret string `json:"secret"`
	}
}

// WebhookSecret derives a tenant's webhook signing secret from the
// installation's keyed PRF (domain-separated from id hashing).
func WebhookSecret(k interface {
	HashID(domain, id string) string
}, tenant string) string {
	return k.HashID("webhook-secret", tenant)
}
