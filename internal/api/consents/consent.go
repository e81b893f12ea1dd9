package consents

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/subject"
)

// ConsentService is what the API needs from the consent service.
type ConsentService interface {
	Grant(ctx context.Context, tenant, subject string, g consent.Grant) (consent.Receipt, error)
	Revoke(ctx context.Context, tenant, subject, purpose string) (consent.Receipt, error)
	List(ctx context.Context, tenant, subject string) ([]consent.State, []consent.Receipt, error)
	PublicKey(ctx context.Context, tenant string) (ed25519.PublicKey, error)
}

// SubjectService is what the API needs for subject rights.
type SubjectService interface {
	Export(ctx context.Context, tenant, subject string) (string, time.Time, error)
	Download(ctx context.Context, token string) ([]byte, error)
	TokenTenant(token string) (string, error)
	Erase(ctx context.Context, tenant, subject string) (subject.Erased, error)
}

// GrantInput grants consent.
type GrantInput struct {
	Subject string `path:"subject" minLength:"1" maxLength:"256"`
	Body    struct {
		Purpose       string     `json:"purpose" maxLength:"64" doc:"A registered purpose, or plugin:<name>"`
		NoticeVersion string     `json:"notice_version" minLength:"1" maxLength:"64" doc:"Version of the notice text the subject saw"`
		ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	}
}

// RevokeInput revokes consent.
type RevokeInput struct {
	Subject string `path:"subject" minLength:"1" maxLength:"256"`
	Purpose string `path:"purpose" maxLength:"64"`
}

// ReceiptOutput is one receipt.
type ReceiptOutput struct{ Body consent.Receipt }

// ConsentsOutput lists states and receipts.
type ConsentsOutput struct {
	Body struct {
		Consents []consent.State   `json:"consents"`
		Receipts []consent.Receipt `json:"receipts" doc:"Oldest first; exactly what obscura consent verify takes"`
	}
}

// PurposesOutput lists the purpose registry.
type PurposesOutput struct {
	Body struct {
		Purposes []consent.Purpose `json:"purposes"`
	}
}

// ConsentKeyOutput is the tenant's receipt-signing public key.
type ConsentKeyOutput struct{ Body consent.PublicKeyDoc }

// ExportOutput is a single-use URL of the export bundle.
type ExportOutput struct {
	Body struct {
		DownloadURL string    `json:"download_url"`
		ExpiresAt   time.Time `json:"expires_at"`
	}
}

// EraseOutput reports an erase.
type EraseOutput struct{ Body subject.Erased }

// Deps are the services the consent, subject-rights and privacy-link
// operations use; nil ones leave their operations out.
type Deps struct {
	Consents ConsentService
	Subjects SubjectService
	Privacy  PrivacyLinks
}

// Resolve implements huma.Resolver.
func (in *GrantInput) Resolve(huma.Context) []error { return op.SubjectErrors(in.Subject) }

// Resolve implements huma.Resolver.
func (in *RevokeInput) Resolve(huma.Context) []error { return op.SubjectErrors(in.Subject) }

// RegisterConsent registers the purpose, consent and subject-rights
// operations.
func RegisterConsent(h op.Host, d Deps) {
	if d.Consents == nil {
		return
	}
	errs := []int{http.StatusUnauthorized, http.StatusForbidden}
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "list-purposes", Method: http.MethodGet, Path: "/v1/purposes", Tags: []string{"consent"},
		Summary: "The purpose registry", Security: op.Secured(auth.ScopeIngest), Errors: errs,
	}, func(ctx context.Context, _ *struct{}) (*PurposesOutput, error) {
		out := &PurposesOutput{}
		out.Body.Purposes = consent.Registry
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "grant-consent", Method: http.MethodPost, Path: "/v1/subjects/{subject}/consents", Tags: []string{"consent"},
		Summary: "Record a subject's consent to a purpose; returns the signed receipt", Security: op.Secured(auth.ScopeAdmin),
		DefaultStatus: http.StatusCreated, Errors: errs, Metadata: map[string]any{op.IntentInHandler: true},
	}, func(ctx context.Context, in *GrantInput) (*ReceiptOutput, error) {
		g := consent.Grant{Purpose: in.Body.Purpose, Notice: in.Body.NoticeVersion}
		if in.Body.ExpiresAt != nil {
			g.ExpiresAt = *in.Body.ExpiresAt
		}
		h.SetAuditPurpose(ctx, in.Body.Purpose) // the purpose is in the body, not the path
		// The intent, with the purpose (metadata only), before anything changes.
		if err := h.Intent(ctx, h.IntentEntry(ctx, "grant-consent", in.Subject, "", in.Body.Purpose)); err != nil {
			return nil, h.Fail(ctx, err)
		}
		r, err := d.Consents.Grant(ctx, op.Principal(ctx).TenantID, in.Subject, g)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &ReceiptOutput{Body: r}, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "revoke-consent", Method: http.MethodDelete, Path: "/v1/subjects/{subject}/consents/{purpose}", Tags: []string{"consent"},
		Summary:  "Revoke consent; returns after what the purpose produced is purged",
		Security: op.Secured(auth.ScopeAdmin), Errors: append(errs, http.StatusNotFound, http.StatusServiceUnavailable),
	}, func(ctx context.Context, in *RevokeInput) (*ReceiptOutput, error) {
		r, err := d.Consents.Revoke(ctx, op.Principal(ctx).TenantID, in.Subject, in.Purpose)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &ReceiptOutput{Body: r}, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "list-consents", Method: http.MethodGet, Path: "/v1/subjects/{subject}/consents", Tags: []string{"consent"},
		Summary: "A subject's consents and receipts", Security: op.Secured(auth.ScopeAdmin), Errors: errs,
	}, func(ctx context.Context, in *op.SubjectInput) (*ConsentsOutput, error) {
		states, rs, err := d.Consents.List(ctx, op.Principal(ctx).TenantID, in.Subject)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &ConsentsOutput{}
		out.Body.Consents, out.Body.Receipts = states, rs
		if out.Body.Receipts == nil {
			out.Body.Receipts = []consent.Receipt{}
		}
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "consent-key", Method: http.MethodGet, Path: "/v1/tenant/consent-key", Tags: []string{"consent"},
		Summary: "The public key that verifies this tenant's consent receipts", Security: op.Secured(auth.ScopeIngest), Errors: errs,
	}, func(ctx context.Context, _ *struct{}) (*ConsentKeyOutput, error) {
		pub, err := d.Consents.PublicKey(ctx, op.Principal(ctx).TenantID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &ConsentKeyOutput{Body: consent.PublicKeyDoc{Alg: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub)}}, nil
	})
	if d.Subjects == nil {
		return
	}
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "export-subject", Method: http.MethodPost, Path: "/v1/subjects/{subject}/export", Tags: []string{"subjects"},
		Summary: "Export everything stored about a subject: a single-use URL of the bundle", Security: op.Secured(auth.ScopeAdmin), Errors: errs,
	}, func(ctx context.Context, in *op.SubjectInput) (*ExportOutput, error) {
		tok, exp, err := d.Subjects.Export(ctx, op.Principal(ctx).TenantID, in.Subject)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &ExportOutput{}
		out.Body.DownloadURL, out.Body.ExpiresAt = h.PublicURL()+"/v1/exports/"+tok, exp
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "erase-subject", Method: http.MethodDelete, Path: "/v1/subjects/{subject}", Tags: []string{"subjects"},
		Summary: "Erase everything about a subject (keys destroyed first); receipts stay", Security: op.Secured(auth.ScopeAdmin), Errors: errs,
	}, func(ctx context.Context, in *op.SubjectInput) (*EraseOutput, error) {
		e, err := d.Subjects.Erase(ctx, op.Principal(ctx).TenantID, in.Subject)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &EraseOutput{Body: e}, nil
	})
	h.Huma().OpenAPI().AddOperation(&huma.Operation{
		OperationID: "get-export", Method: http.MethodGet, Path: "/v1/exports/{token}", Tags: []string{"subjects"},
		Summary:    "Download the export bundle (no API key; works once; docs/spec/export-bundle-v1.md)",
		Parameters: []*huma.Param{{Name: "token", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}}},
		Responses: map[string]*huma.Response{
			"200": {Description: "The bundle", Content: map[string]*huma.MediaType{"application/zip": {}}},
			"401": {Description: "token_invalid"}, "409": {Description: "token_used"}, "410": {Description: "token_expired"},
		},
	})
	h.HandleFunc("GET /v1/exports/{token}", func(w http.ResponseWriter, r *http.Request) {
		start := h.Now()
		tenant, _ := d.Subjects.TokenTenant(r.PathValue("token")) // "" for a token that does not open
		data, err := d.Subjects.Download(r.Context(), r.PathValue("token"))
		h.AuditPlain(r.Context(), "get-export", start, audit.Entry{Tenant: tenant, Bytes: int64(len(data))}, err)
		if err != nil {
			h.WriteProblem(w, r, err)
			return
		}
		op.WriteAttachment(w, "application/zip", `attachment; filename="obscura-export.zip"`, data)
	})
}
