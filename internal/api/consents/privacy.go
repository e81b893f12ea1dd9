package consents

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
)

// PrivacyLinks issues privacy-center links (package web).
type PrivacyLinks interface {
	NewLink(ctx context.Context, tenant, subject string) (string, time.Time, error)
	RevokeLinks(ctx context.Context, tenant, subject string) (int, error)
}

// RevokePrivacyLinksOutput counts the links revoked.
type RevokePrivacyLinksOutput struct {
	Body struct {
		Revoked int `json:"revoked" doc:"Links revoked (used or not); their sessions end at once"`
	}
}

// PrivacyLinkInput names the subject.
type PrivacyLinkInput struct {
	Subject string `path:"subject" maxLength:"256"`
}

// PrivacyLinkOutput is the link to hand to the subject.
type PrivacyLinkOutput struct {
	Body struct {
		URL       string    `json:"url" doc:"Open in the subject's browser. Works once, for 5 minutes; it starts a 30-minute session."`
		ExpiresAt time.Time `json:"expires_at"`
	}
}

// Resolve implements huma.Resolver.
func (in *PrivacyLinkInput) Resolve(huma.Context) []error { return op.SubjectErrors(in.Subject) }

// RegisterPrivacy registers the privacy-center link operations.
func RegisterPrivacy(h op.Host, d Deps) {
	if d.Privacy == nil {
		return
	}
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "create-privacy-link", Method: http.MethodPost, Path: "/v1/subjects/{subject}/privacy-link", Tags: []string{"subjects"},
		Summary:  "A short-lived, single-use link into the subject's privacy center",
		Security: op.Secured(auth.ScopeAdmin), DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *PrivacyLinkInput) (*PrivacyLinkOutput, error) {
		tok, exp, err := d.Privacy.NewLink(ctx, op.Principal(ctx).TenantID, in.Subject)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &PrivacyLinkOutput{}
		out.Body.URL, out.Body.ExpiresAt = h.PublicURL()+"/privacy/open/"+tok, exp
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "revoke-privacy-links", Method: http.MethodDelete, Path: "/v1/subjects/{subject}/privacy-link", Tags: []string{"subjects"},
		Summary:  "Revoke every privacy-center link of the subject; the sessions they opened end",
		Security: op.Secured(auth.ScopeAdmin),
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *PrivacyLinkInput) (*RevokePrivacyLinksOutput, error) {
		n, err := d.Privacy.RevokeLinks(ctx, op.Principal(ctx).TenantID, in.Subject)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &RevokePrivacyLinksOutput{}
		out.Body.Revoked = n
		return out, nil
	})
}
