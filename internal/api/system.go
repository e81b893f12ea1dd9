package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// HealthOutput is the body of /healthz and /readyz.
type HealthOutput struct {
	Body struct {
		Status  string `json:"status" example:"ok"`
		Version string `json:"version,omitempty"`
	}
}

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

func (a *API) registerSystem() {
	huma.Register(a.huma, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"system"},
		Summary: "Liveness: the process is up",
	}, func(ctx context.Context, _ *struct{}) (*HealthOutput, error) {
		out := &HealthOutput{}
		out.Body.Status, out.Body.Version = "ok", a.d.Version
		return out, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"system"},
		Summary: "Readiness: the store and the key service are usable, and the store and the blob directory can be written",
		Errors:  []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*HealthOutput, error) {
		if err := a.d.Store.Ping(ctx); err != nil {
			return nil, a.fail(ctx, err)
		}
		if err := a.d.Keys.Ping(ctx); err != nil {
			return nil, a.fail(ctx, err)
		}
		for _, probe := range a.d.Ready {
			if err := probe(ctx); err != nil {
				return nil, a.fail(ctx, err)
			}
		}
		out := &HealthOutput{}
		out.Body.Status = "ready"
		return out, nil
	})
}
