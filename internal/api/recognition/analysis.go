package recognition

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/jobs"
)

// AnalysisService runs and reads analyses (package analysis).
type AnalysisService interface {
	Check(ctx context.Context, tenant, key, assetID string, features []string) error
	AnalyzeAs(ctx context.Context, tenant, key, assetID string, features []string) (analysis.Result, error)
	Stored(ctx context.Context, tenant, assetID string) (map[string]json.RawMessage, error)
}

// JobQueue queues asynchronous analyses (package jobs).
type JobQueue interface {
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

// Deps are the services the analysis and face operations use.
type Deps struct {
	Analysis AnalysisService
	Jobs     JobQueue
	Faces    FaceService
}

// RegisterAnalysis registers the analyze and job operations.
func RegisterAnalysis(h op.Host, d Deps) {
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "analyze-asset", Method: http.MethodPost, Path: "/v1/assets/{id}/analyze", Tags: []string{"analysis"},
		Summary:     "Analyze a stored photo (faces, tags, sensitive content, text) under the subject's consent",
		Description: "Outputs are hardened: top 5 tags above 0.35, confidences rounded to two decimals, no logits, never an embedding. Each feature's result is stored encrypted under its purpose's key with retention class `analysis`.",
		Security:    op.Secured(auth.ScopeAnalyze),
		Metadata:    map[string]any{"feature": "analyze", "rate_class": guard.ClassAnalyze},
		Extensions:  map[string]any{"x-obscura-purposes": []string{"face_detection", "tagging", "sensitive_content", "text_detection"}},
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *AnalyzeInput) (*AnalyzeOutput, error) {
		tenant, key := op.Principal(ctx).TenantID, op.Principal(ctx).KeyID
		if in.Body.Async {
			if d.Jobs == nil {
				return nil, h.Fail(ctx, fault.New(fault.Unavailable, "asynchronous analysis is not configured"))
			}
			if err := d.Analysis.Check(ctx, tenant, key, in.ID, in.Body.Features); err != nil {
				return nil, h.Fail(ctx, err)
			}
			j, err := d.Jobs.EnqueueAnalyze(ctx, jobs.AnalyzeArgs{Tenant: tenant, Key: key, AssetID: in.ID, Features: in.Body.Features, Webhook: in.Body.Webhook})
			if err != nil {
				return nil, h.Fail(ctx, err)
			}
			return &AnalyzeOutput{Status: http.StatusAccepted, Body: j}, nil
		}
		if in.Body.Webhook != "" {
			return nil, h.Fail(ctx, fault.New(fault.Invalid, "webhook needs async"))
		}
		release, err := h.Admit(ctx)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		defer release()
		res, err := d.Analysis.AnalyzeAs(ctx, tenant, key, in.ID, in.Body.Features)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &AnalyzeOutput{Status: http.StatusOK, Body: res}, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "get-webhook-secret", Method: http.MethodGet, Path: "/v1/tenant/webhook-secret", Tags: []string{"analysis"},
		Summary:  "The tenant's webhook signing secret (HMAC-SHA256 key)",
		Security: op.Secured(auth.ScopeAdmin),
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, _ *struct{}) (*WebhookSecretOutput, error) {
		out := &WebhookSecretOutput{}
		out.Body.Secret = WebhookSecret(h, op.Principal(ctx).TenantID)
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "get-job", Method: http.MethodGet, Path: "/v1/jobs/{id}", Tags: []string{"analysis"},
		Summary:  "An asynchronous analysis job, with its results once completed",
		Security: op.Secured(auth.ScopeAnalyze),
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *JobInput) (*JobOutput, error) {
		if d.Jobs == nil {
			return nil, h.Fail(ctx, fault.New(fault.NotFound, "job not found"))
		}
		tenant := op.Principal(ctx).TenantID
		j, err := d.Jobs.Get(ctx, tenant, in.ID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &JobOutput{}
		out.Body.Job = j
		if j.State == "completed" {
			if out.Body.Results, err = d.Analysis.Stored(ctx, tenant, j.AssetID); err != nil {
				return nil, h.Fail(ctx, err)
			}
		}
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "get-analysis", Method: http.MethodGet, Path: "/v1/assets/{id}/analysis", Tags: []string{"analysis"},
		Summary:  "Stored, unexpired analysis results of a photo",
		Security: op.Secured(auth.ScopeAnalyze),
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *op.AssetIDInput) (*StoredOutput, error) {
		res, err := d.Analysis.Stored(ctx, op.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, h.Fail(ctx, err)
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
