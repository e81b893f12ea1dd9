package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/upload"
)

// uploadService is what the API needs from the ingest pipeline.
type uploadService interface {
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

// AssetIDInput addresses an asset.
type AssetIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

// AssetOutput is an asset's metadata.
type AssetOutput struct{ Body AssetInfo }

// DownloadOutput is a single-use download URL.
type DownloadOutput struct {
	Body struct {
		DownloadURL string    `json:"download_url"`
		ExpiresAt   time.Time `json:"expires_at"`
	}
}

// downloads issues single-use download tokens (assets' and drafts').
type downloads interface {
	NewDownload(ctx context.Context, tenant, id string) (string, time.Time, error)
}

// newDownload is the caller's tenant's single-use download URL for id.
func (a *API) newDownload(ctx context.Context, d downloads, id string) (*DownloadOutput, error) {
	tok, exp, err := d.NewDownload(ctx, principal(ctx).TenantID, id)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	out := &DownloadOutput{}
	out.Body.DownloadURL, out.Body.ExpiresAt = a.d.PublicURL+"/v1/download/"+tok, exp
	return out, nil
}

func (a *API) registerAssets() {
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-upload", Method: http.MethodPost, Path: "/v1/uploads", Tags: []string{"assets"},
		Summary: "Get a short-lived, single-use upload URL", Security: secured(auth.ScopeIngest), DefaultStatus: http.StatusCreated,
		Metadata: map[string]any{"feature": "uploads"},
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnsupportedMediaType},
	}, func(ctx context.Context, in *CreateUploadInput) (*CreateUploadOutput, error) {
		g, err := a.d.Uploads.Create(ctx, principal(ctx).TenantID, upload.Request{
			Subject: in.Body.Subject, ContentType: in.Body.ContentType, MaxBytes: in.Body.MaxBytes,
			TTL: time.Duration(in.Body.TTLSeconds) * time.Second,
		})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &CreateUploadOutput{}
		out.Body.UploadURL, out.Body.UploadID, out.Body.ExpiresAt = a.d.PublicURL+"/v1/upload/"+g.Token, g.UploadID, g.ExpiresAt
		return out, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-asset", Method: http.MethodGet, Path: "/v1/assets/{id}", Tags: []string{"assets"},
		Summary: "An asset's metadata", Security: secured(auth.ScopeIngest),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *AssetIDInput) (*AssetOutput, error) {
		as, err := a.d.Uploads.Asset(ctx, principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &AssetOutput{Body: assetInfo(as)}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-download", Method: http.MethodPost, Path: "/v1/assets/{id}/download", Tags: []string{"assets"},
		Summary: "Get a short-lived, single-use download URL for the sanitized photo", Security: secured(auth.ScopeIngest),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *AssetIDInput) (*DownloadOutput, error) {
		return a.newDownload(ctx, a.d.Uploads, in.ID)
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "delete-asset", Method: http.MethodDelete, Path: "/v1/assets/{id}", Tags: []string{"assets"},
		Summary: "Delete an asset and everything derived from it (results, face drafts, tags, the gallery templates its faces added), then its ciphertext (with its data key) and record", Security: secured(auth.ScopeIngest), DefaultStatus: http.StatusNoContent,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *AssetIDInput) (*struct{}, error) {
		return nil, a.fail(ctx, a.d.Uploads.Delete(ctx, principal(ctx).TenantID, in.ID))
	})

	// The upload and download URLs are plain handlers: they stream, carry no
	// API key, and must check the token before reading a byte of the body.
	a.mux.HandleFunc("PUT /v1/upload/{token}", a.putUpload)
	a.mux.HandleFunc("GET /v1/download/{token}", a.getDownload)
	tokenParam := &huma.Param{Name: "token", In: "path", Required: true, Schema: &huma.Schema{Type: "string", MaxLength: intPtr(upload.MaxTokenLen)}}
	a.huma.OpenAPI().Components.Schemas.Schema(reflectType[Problem](), true, "")
	problem := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/Problem"}}}}
	}
	a.huma.OpenAPI().AddOperation(&huma.Operation{
		OperationID: "put-upload", Method: http.MethodPut, Path: "/v1/upload/{token}", Tags: []string{"assets"},
		Summary:     "Upload the photo (no API key; the URL is the credential and works once)",
		Parameters:  []*huma.Param{tokenParam},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/octet-stream": {}, "image/*": {}}},
		Responses: map[string]*huma.Response{
			"201": {Description: "Stored", Content: map[string]*huma.MediaType{"application/json": {Schema: a.huma.OpenAPI().Components.Schemas.Schema(reflectType[AssetInfo](), true, "")}}},
			"401": problem("token_invalid"), "409": problem("token_used"), "410": problem("token_expired"),
			"413": problem("too_large"), "415": problem("unsupported_type"), "422": problem("image_too_large or image_invalid"),
			"429": problem("rate_limited (per tenant or per client address; Retry-After)"), "503": problem("overloaded (decode queue full; Retry-After), kill_switch, unavailable"),
		},
	})
	a.huma.OpenAPI().AddOperation(&huma.Operation{
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

// limitAddr applies the per-client-address limit of class to a request
// that carries no API key. The address is the TCP peer: behind a reverse
// proxy every client shares the proxy's address, so limit there too.
func (a *API) limitAddr(r *http.Request, class string) error {
	if a.d.Limiter == nil {
		return nil
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return a.d.Limiter.AllowAddr(host, class)
}

// auditPlain records a request to one of the token (no API key) routes.
func (a *API) auditPlain(ctx context.Context, action string, start time.Time, e audit.Entry, err error) {
	e.Action, e.LatencyUS = action, a.d.Clock.Now().Sub(start).Microseconds()
	status := http.StatusOK
	if err != nil {
		p := ProblemFor(err)
		status, e.Code = p.Status, p.Code
	}
	a.finishEntry(ctx, &e, status)
}

func (a *API) putUpload(w http.ResponseWriter, r *http.Request) {
	start := a.d.Clock.Now()
	var asset store.Asset
	var tenant string
	err := a.limitAddr(r, guard.ClassUpload)
	if err == nil {
		tenant, err = a.d.Uploads.TokenTenant(r.PathValue("token"))
	}
	if err == nil && a.d.Kill != nil {
		err = a.d.Kill.Check(tenant, "uploads")
	}
	if err == nil && a.d.Limiter != nil {
		// Per tenant (from the token): upload URLs are cheap to mint, and
		// every upload is decoded.
		err = a.d.Limiter.Allow(tenant, "", guard.ClassUpload)
	}
	if err == nil {
		err = a.intent(r.Context(), audit.Entry{Action: "put-upload.intent", Tenant: tenant, Result: audit.ResultOK})
	}
	if err == nil {
		asset, err = a.d.Uploads.Accept(r.Context(), r.PathValue("token"), r.ContentLength, r.Body)
	}
	e := audit.Entry{Tenant: tenant}
	if err == nil {
		e = audit.Entry{Tenant: asset.TenantID, Subject: asset.SubjectHash, Object: a.d.Keys.HashID("audit-object", asset.ID), Bytes: asset.Size}
	}
	a.auditPlain(r.Context(), "put-upload", start, e, err)
	if err != nil {
		writeProblem(w, a.problem(r.Context(), err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	jsonEncode(w, assetInfo(asset))
}

func (a *API) getDownload(w http.ResponseWriter, r *http.Request) {
	start := a.d.Clock.Now()
	data, f, err := a.d.Uploads.Download(r.Context(), r.PathValue("token"))
	a.auditPlain(r.Context(), "get-download", start, audit.Entry{Bytes: int64(len(data))}, err)
	if err != nil {
		writeProblem(w, a.problem(r.Context(), err))
		return
	}
	writeAttachment(w, f.ContentType(), "attachment", data)
}

// writeAttachment sends a decrypted file once and wipes the buffer.
func writeAttachment(w http.ResponseWriter, ctype, disposition string, data []byte) {
	defer clear(data)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Content-Disposition", disposition)
	w.Write(data)
}
