package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
)

// KillSwitchInput flips the caller tenant's kill switch.
type KillSwitchInput struct {
	Body struct {
		On      bool   `json:"on"`
		Feature string `json:"feature,omitempty" enum:"analyze,faces,memes,plugins,uploads,federated_learning" doc:"Empty: every feature of this tenant"`
	}
}

// KillSwitchOutput lists the switches that affect the caller's tenant.
type KillSwitchOutput struct {
	Body struct {
		Active []string `json:"active"`
	}
}

// RegisterIncident registers the kill-switch operations.
func RegisterIncident(h op.Host, d Deps) {
	if d.Kill == nil || d.Operator == nil {
		return
	}
	mine := func(ctx context.Context) *KillSwitchOutput {
		out := &KillSwitchOutput{}
		out.Body.Active = []string{}
		t := op.Principal(ctx).TenantID
		for _, sc := range d.Kill.Active() {
			if sc == "global" || strings.HasPrefix(sc, "feature:") || sc == "tenant:"+t || strings.HasPrefix(sc, "tenant:"+t+"/") {
				out.Body.Active = append(out.Body.Active, sc)
			}
		}
		return out
	}
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "set-kill-switch", Method: http.MethodPut, Path: "/v1/admin/kill-switch", Tags: []string{"admin"},
		Summary:  "Stop (or resume) processing for this tenant, or one feature of it; global switches are CLI-only",
		Security: op.Secured(auth.ScopeAdmin), Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *KillSwitchInput) (*KillSwitchOutput, error) {
		if _, err := d.Operator.SetKillSwitch(ctx, by(ctx), op.Principal(ctx).TenantID, in.Body.Feature, in.Body.On); err != nil {
			return nil, h.Fail(ctx, err)
		}
		return mine(ctx), nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "get-kill-switch", Method: http.MethodGet, Path: "/v1/admin/kill-switch", Tags: []string{"admin"},
		Summary: "Kill switches in force for this tenant", Security: op.Secured(auth.ScopeAdmin), Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, _ *struct{}) (*KillSwitchOutput, error) {
		return mine(ctx), nil
	})
}
