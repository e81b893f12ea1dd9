package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
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

// Deps are the services the tenant, key and kill-switch operations use.
type Deps struct {
	Store interface {
		Tenant(ctx context.Context, id string) (store.Tenant, error)
		APIKey(ctx context.Context, tenant, id string) (store.APIKey, error)
		APIKeys(ctx context.Context, tenant string) ([]store.APIKey, error)
	}
	// Operator performs the key and kill-switch actions; nil leaves those
	// operations out.
	Operator OperatorActions
	// Kill lists the active kill switches; nil leaves the incident
	// operations out.
	Kill interface{ Active() []string }
}

// OperatorActions is what the API needs from the operator service.
type OperatorActions interface {
	CreateKey(ctx context.Context, by operator.By, tenant string, scopes []auth.Scope) (string, store.APIKey, error)
	RevokeKey(ctx context.Context, by operator.By, tenant, id string) (store.APIKey, error)
	SetKillSwitch(ctx context.Context, by operator.By, tenant, feature string, on bool) (string, error)
}

// by is the operator-service actor of an authenticated API request.
func by(ctx context.Context) operator.By {
	return operator.By{Channel: operator.ChannelAPI, Actor: op.Principal(ctx).KeyID}
}

// RegisterTenant registers the tenant and API key operations.
func RegisterTenant(h op.Host, d Deps) {
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "get-tenant", Method: http.MethodGet, Path: "/v1/tenant", Tags: []string{"tenant"},
		Summary: "The caller's tenant", Security: op.Secured(auth.ScopeIngest),
		Errors: []int{http.StatusUnauthorized},
	}, func(ctx context.Context, _ *struct{}) (*TenantOutput, error) {
		t, err := d.Store.Tenant(ctx, op.Principal(ctx).TenantID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &TenantOutput{}
		out.Body.TenantID, out.Body.Name, out.Body.CreatedAt = t.ID, t.Name, t.CreatedAt
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "list-keys", Method: http.MethodGet, Path: "/v1/keys", Tags: []string{"tenant"},
		Summary: "List the tenant's API keys", Security: op.Secured(auth.ScopeAdmin),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, _ *struct{}) (*KeyListOutput, error) {
		ks, err := d.Store.APIKeys(ctx, op.Principal(ctx).TenantID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &KeyListOutput{}
		out.Body.Keys = make([]KeyInfo, 0, len(ks))
		for _, k := range ks {
			out.Body.Keys = append(out.Body.Keys, keyInfo(k))
		}
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "get-key", Method: http.MethodGet, Path: "/v1/keys/{id}", Tags: []string{"tenant"},
		Summary: "One API key's metadata", Security: op.Secured(auth.ScopeAdmin),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *KeyIDInput) (*KeyOutput, error) {
		k, err := d.Store.APIKey(ctx, op.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &KeyOutput{Body: keyInfo(k)}, nil
	})
	if d.Operator == nil {
		return
	}
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "create-key", Method: http.MethodPost, Path: "/v1/keys", Tags: []string{"tenant"},
		Summary: "Create an API key", Security: op.Secured(auth.ScopeAdmin), DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *CreateKeyInput) (*CreateKeyOutput, error) {
		scopes, err := operator.Scopes(in.Body.Scopes)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		plain, rec, err := d.Operator.CreateKey(ctx, by(ctx), op.Principal(ctx).TenantID, scopes)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &CreateKeyOutput{}
		out.Body.KeyInfo, out.Body.APIKey = keyInfo(rec), plain
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "revoke-key", Method: http.MethodDelete, Path: "/v1/keys/{id}", Tags: []string{"tenant"},
		Summary: "Revoke an API key", Security: op.Secured(auth.ScopeAdmin),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, in *KeyIDInput) (*KeyOutput, error) {
		k, err := d.Operator.RevokeKey(ctx, by(ctx), op.Principal(ctx).TenantID, in.ID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &KeyOutput{Body: keyInfo(k)}, nil
	})
}
