package photos

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/upload"
)

// UploadService is what the API needs from the ingest pipeline.
type UploadService interface {
	Create(ctx context.Context, tenant string, req upload.Request) (upload.Grant, error)
	Accept(ctx context.Context, token string, contentLength int64, body io.Reader) (store.Asset, error)
	Asset(ctx context.Context, tenant, id string) (store.Asset, error)
	NewDownload(ctx context.Context, tenant, id string) (string, time.Time, error)
	Download(ctx context.Context, token string) ([]byte, sanitize.Format, error)
	TokenTenant(token string) (string, error)
	Delete(ctx context.Context, tenant, id string) error
}

// CreateUploadInput asks for an upload URL.
type CreateUploadInput struct {
	Body struct {
		Subject     string `json:"subject" minLength:"1" maxLength:"256" doc:"The app's opaque id of the photo's owner; stored only as a keyed hash"`
		ContentType string `json:"content_type" enum:"image/jpeg,image/png,image/webp,image/heic,image/heif"`
		MaxBytes    int64  `json:"max_bytes,omitempty" minimum:"1" doc:"Upper bound of the body size (default 25 MiB, at most 50 MiB)"`
		TTLSeconds  int    `json:"ttl_seconds,omitempty" minimum:"1" maximum:"300" doc:"Lifetime of the URL (default 60)"`
	}
}

// CreateUploadOutput is a single-use upload URL.
type CreateUploadOutput struct {
	Body struct {
		UploadURL string    `json:"upload_url" doc:"PUT the photo here, without an API key. Works once."`
		UploadID  string    `json:"upload_id"`
		ExpiresAt time.Time `json:"expires_at"`
	}
}

// AssetInfo is an asset's metadata. It never includes the subject.
type AssetInfo struct {
	AssetID   string    `json:"asset_id"`
	Format    string    `json:"format" enum:"jpeg,png,webp"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	Size      int64     `json:"size" doc:"Bytes of the sanitized photo"`
	CreatedAt time.Time `json:"created_at"`
}

func assetInfo(a store.Asset) AssetInfo {
	return AssetInfo{AssetID: a.ID, Format: a.Format, Width: a.Width, Height: a.Height, Size: a.Size, CreatedAt: a.CreatedAt}
}

// AssetOutput is an asset's metadata.
type AssetOutput struct{ Body AssetInfo }

// Deps are the services the asset operations use.
type Deps struct {
	Uploads UploadService
	// Kill and Limiter guard the plain upload route (the huma operations
	// pass the core's middleware); nil means none.
	Kill interface {
		Check(tenant, feature string) error
	}
	Limiter interface {
		Allow(tenant, key, class string) error
	}
}

// RegisterAssets registers the upload, asset and download operations.
func RegisterAssets(h op.Host, d Deps) {
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "create-upload", Method: http.MethodPost, Path: "/v1/uploads", Tags: []string{"assets"},
		Summary: "Get a short-lived, single-use upload URL", Security: op.Secured(auth.ScopeIngest), DefaultStatus: http.StatusCreated,
		Metadata: map[string]any{"feature": "uploads"},
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnsupportedMediaType},
	}, func(ctx context.Context, in *CreateUploadInput) (*CreateUploadOutput, error) {
		g, err := d.Uploads.Create(ctx, op.Principal(ctx).TenantID, upload.Request{
			Subject: in.Body.Subject, ContentType: in.Body.ContentType, MaxBytes: in.Body.MaxBytes,
			TTL: time.Duration(in.Body.TTLSeconds) * time.Second,
		})
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &CreateUploadOutput{}
		out.Body.UploadURL, out.Body.UploadID, out.Body.ExpiresAt = h.PublicURL()+"/v1/upload/"+g.Token, g.UploadID, g.ExpiresAt
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "get-asset", Method: http.MethodGet, Path: "/v1/assets/{id}", Tags: []string{"assets"},
		Summary: "An asset's metadata", Security: op.Secured(auth.ScopeIngest),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *op.AssetIDInput) (*AssetOutput, error) {
		as, err := d.Uploads.Asset(ctx, op.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &AssetOutput{Body: assetInfo(as)}, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "create-download", Method: http.MethodPost, Path: "/v1/assets/{id}/download", Tags: []string{"assets"},
		Summary: "Get a short-lived, single-use download URL for the sanitized photo", Security: op.Secured(auth.ScopeIngest),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *op.AssetIDInput) (*op.DownloadOutput, error) {
		return op.NewDownload(ctx, h, d.Uploads, in.ID)
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "delete-asset", Method: http.MethodDelete, Path: "/v1/assets/{id}", Tags: []string{"assets"},
		Summary: "Delete an asset and everything derived from it (results, face drafts, tags, the gallery templates its faces added), then its ciphertext (with its data key) and record", Security: op.Secured(auth.ScopeIngest), DefaultStatus: http.StatusNoContent,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *op.AssetIDInput) (*struct{}, error) {
		return nil, h.Fail(ctx, d.Uploads.Delete(ctx, op.Principal(ctx).TenantID, in.ID))
	})

	// The upload and download URLs are plain handlers: they stream, carry no
	// API key, and must check the token before reading a byte of the body.
	h.HandleFunc("PUT /v1/upload/{token}", func(w http.ResponseWriter, r *http.Request) { putUpload(h, d, w, r) })
	h.HandleFunc("GET /v1/download/{token}", func(w http.ResponseWriter, r *http.Request) { getDownload(h, d, w, r) })
	tokenParam := &huma.Param{Name: "token", In: "path", Required: true, Schema: &huma.Schema{Type: "string", MaxLength: intPtr(upload.MaxTokenLen)}}
	problem := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/Problem"}}}}
	}
	h.Huma().OpenAPI().AddOperation(&huma.Operation{
		OperationID: "put-upload", Method: http.MethodPut, Path: "/v1/upload/{token}", Tags: []string{"assets"},
		Summary:     "Upload the photo (no API key; the URL is the credential and works once)",
		Parameters:  []*huma.Param{tokenParam},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/octet-stream": {}, "image/*": {}}},
		Responses: map[string]*huma.Response{
			"201": {Description: "Stored", Content: map[string]*huma.MediaType{"application/json": {Schema: h.Huma().OpenAPI().Components.Schemas.Schema(reflect.TypeFor[AssetInfo](), true, "")}}},
			"401": problem("token_invalid"), "409": problem("token_used"), "410": problem("token_expired"),
			"413": problem("too_large"), "415": problem("unsupported_type"), "422": problem("image_too_large or image_invalid"),
			"429": problem("rate_limited (per tenant or per client address; Retry-After)"), "503": problem("overloaded (decode queue full; Retry-After), kill_switch, unavailable"),
		},
	})
	h.Huma().OpenAPI().AddOperation(&huma.Operation{
		OperationID: "get-download", Method: http.MethodGet, Path: "/v1/download/{token}", Tags: []string{"assets"},
		Summary:    "Download the sanitized photo (no API key; works once)",
		Parameters: []*huma.Param{tokenParam},
		Responses: map[string]*huma.Response{
			"200": {Description: "The photo", Content: map[string]*huma.MediaType{"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
			"401": problem("token_invalid"), "409": problem("token_used"), "410": problem("token_expired"),
		},
	})
}

func intPtr(i int) *int { return &i }

func putUpload(h op.Host, d Deps, w http.ResponseWriter, r *http.Request) {
	start := h.Now()
	var asset store.Asset
	var tenant string
	err := h.LimitAddr(r, guard.ClassUpload)
	if err == nil {
		tenant, err = d.Uploads.TokenTenant(r.PathValue("token"))
	}
	if err == nil && d.Kill != nil {
		err = d.Kill.Check(tenant, "uploads")
	}
	if err == nil && d.Limiter != nil {
		// Per tenant (from the token): upload URLs are cheap to mint, and
		// every upload is decoded.
		err = d.Limiter.Allow(tenant, "", guard.ClassUpload)
	}
	if err == nil {
		err = h.Intent(r.Context(), audit.Entry{Action: "put-upload.intent", Tenant: tenant, Result: audit.ResultOK})
	}
	if err == nil {
		asset, err = d.Uploads.Accept(r.Context(), r.PathValue("token"), r.ContentLength, r.Body)
	}
	e := audit.Entry{Tenant: tenant}
	if err == nil {
		e = audit.Entry{Tenant: asset.TenantID, Subject: asset.SubjectHash, Object: h.HashID("audit-object", asset.ID), Bytes: asset.Size}
	}
	h.AuditPlain(r.Context(), "put-upload", start, e, err)
	if err != nil {
		h.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(assetInfo(asset))
}

func getDownload(h op.Host, d Deps, w http.ResponseWriter, r *http.Request) {
	start := h.Now()
	data, f, err := d.Uploads.Download(r.Context(), r.PathValue("token"))
	h.AuditPlain(r.Context(), "get-download", start, audit.Entry{Bytes: int64(len(data))}, err)
	if err != nil {
		h.WriteProblem(w, r, err)
		return
	}
	op.WriteAttachment(w, f.ContentType(), "attachment", data)
}
