package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/operator"
	"github.com/obscuraproject/obscura/internal/store"
)

// TenantOutput describes the caller's tenant.
type TenantOutput struct {
	Body struct {
		TenantID  string    `json:"tenant_id"`
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
}

// KeyInfo is an API key's public metadata; never the secret or its hash.
type KeyInfo struct {
	KeyID     string     `json:"key_id"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func keyInfo(k store.APIKey) KeyInfo {
	ki := KeyInfo{KeyID: k.ID, Scopes: k.Scopes, CreatedAt: k.CreatedAt}
	if k.Revoked() {
		t := k.RevokedAt
		ki.RevokedAt = &t
	}
	if ki.Scopes == nil {
		ki.Scopes = []string{}
	}
	return ki
}

// KeyListOutput lists the tenant's keys.
type KeyListOutput struct {
	Body struct {
		Keys []KeyInfo `json:"keys"`
	}
}

// KeyOutput is one key's metadata.
type KeyOutput struct {
	Body KeyInfo
}

// KeyIDInput addresses one key.
type KeyIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"API key id (key_…)"`
}

// CreateKeyInput asks for a new key.
type CreateKeyInput struct {
	Body struct {
		Scopes []string `json:"scopes" minItems:"1" maxItems:"3" uniqueItems:"true" doc:"Any of admin, analyze, ingest"`
	}
}

// CreateKeyOutput returns the new key, shown this once.
type CreateKeyOutput struct {
	Body struct {
		KeyInfo
		APIKey string `json:"api_key" doc:"The key itself. Shown once; Obscura keeps only a keyed hash."`
	}
}

func (a *API) registerTenant() {
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-tenant", Method: http.MethodGet, Path: "/v1/tenant", Tags: []string{"tenant"},
		Summary: "The caller's tenant", Security: secured(auth.ScopeIngest),
		Errors: []int{http.StatusUnauthorized},
	}, func(ctx context.Context, _ *struct{}) (*TenantOutput, error) {
		t, err := a.d.Store.Tenant(ctx, principal(ctx).TenantID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &TenantOutput{}
		out.Body.TenantID, out.Body.Name, out.Body.CreatedAt = t.ID, t.Name, t.CreatedAt
		return out, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-keys", Method: http.MethodGet, Path: "/v1/keys", Tags: []string{"tenant"},
		Summary: "List the tenant's API keys", Security: secured(auth.ScopeAdmin),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, _ *struct{}) (*KeyListOutput, error) {
		ks, err := a.d.Store.APIKeys(ctx, principal(ctx).TenantID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &KeyListOutput{}
		out.Body.Keys = make([]KeyInfo, 0, len(ks))
		for _, k := range ks {
			out.Body.Keys = append(out.Body.Keys, keyInfo(k))
		}
		return out, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-key", Method: http.MethodGet, Path: "/v1/keys/{id}", Tags: []string{"tenant"},
		Summary: "One API key's metadata", Security: secured(auth.ScopeAdmin),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *KeyIDInput) (*KeyOutput, error) {
		k, err := a.d.Store.APIKey(ctx, principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &KeyOutput{Body: keyInfo(k)}, nil
	})
	if a.d.Operator == nil {
		return
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-key", Method: http.MethodPost, Path: "/v1/keys", Tags: []string{"tenant"},
		Summary: "Create an API key", Security: secured(auth.ScopeAdmin), DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *CreateKeyInput) (*CreateKeyOutput, error) {
		scopes, err := operator.Scopes(in.Body.Scopes)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		plain, rec, err := a.d.Operator.CreateKey(ctx, by(ctx), principal(ctx).TenantID, scopes)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &CreateKeyOutput{}
		out.Body.KeyInfo, out.Body.APIKey = keyInfo(rec), plain
		return out, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "revoke-key", Method: http.MethodDelete, Path: "/v1/keys/{id}", Tags: []string{"tenant"},
		Summary: "Revoke an API key", Security: secured(auth.ScopeAdmin),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *KeyIDInput) (*KeyOutput, error) {
		k, err := a.d.Operator.RevokeKey(ctx, by(ctx), principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &KeyOutput{Body: keyInfo(k)}, nil
	})
}
