package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/auth"
)

// privacyLinks issues privacy-center links (package web).
type privacyLinks interface {
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

func (a *API) registerPrivacy() {
	if a.d.Privacy == nil {
		return
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-privacy-link", Method: http.MethodPost, Path: "/v1/subjects/{subject}/privacy-link", Tags: []string{"subjects"},
		Summary:  "A short-lived, single-use link into the subject's privacy center",
		Security: secured(auth.ScopeAdmin), DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *PrivacyLinkInput) (*PrivacyLinkOutput, error) {
		tok, exp, err := a.d.Privacy.NewLink(ctx, principal(ctx).TenantID, in.Subject)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &PrivacyLinkOutput{}
		out.Body.URL, out.Body.ExpiresAt = a.d.PublicURL+"/privacy/open/"+tok, exp
		return out, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "revoke-privacy-links", Method: http.MethodDelete, Path: "/v1/subjects/{subject}/privacy-link", Tags: []string{"subjects"},
		Summary:  "Revoke every privacy-center link of the subject; the sessions they opened end",
		Security: secured(auth.ScopeAdmin),
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *PrivacyLinkInput) (*RevokePrivacyLinksOutput, error) {
		n, err := a.d.Privacy.RevokeLinks(ctx, principal(ctx).TenantID, in.Subject)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &RevokePrivacyLinksOutput{}
		out.Body.Revoked = n
		return out, nil
	})
}
