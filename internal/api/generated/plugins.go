package generated

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/plugin"
)

// PluginService lists installed plugins and runs one on a photo into a
// draft (package plugin).
type PluginService interface {
	List(ctx context.Context) ([]plugin.Manifest, error)
	Run(ctx context.Context, req plugin.Request) (draft.Draft, error)
}

// PluginInfo is one installed plugin as an app sees it.
type PluginInfo struct {
	Name         string                  `json:"name"`
	Version      string                  `json:"version"`
	Publisher    string                  `json:"publisher"`
	Description  string                  `json:"description,omitempty"`
	Capabilities []string                `json:"capabilities"`
	Params       map[string]plugin.Param `json:"params"`
	Purposes     []string                `json:"purposes" doc:"Consent purposes the subject must grant before it runs"`
	Enabled      bool                    `json:"enabled" doc:"false while a kill switch (plugins, or plugin:<name>) stops it for this tenant"`
}

// PluginsOutput lists installed plugins.
type PluginsOutput struct {
	Body struct {
		Plugins []PluginInfo `json:"plugins"`
	}
}

// RunPluginInput runs a plugin on a photo.
type RunPluginInput struct {
	ID   string `path:"id" maxLength:"64"`
	Name string `path:"name" maxLength:"40" pattern:"^[a-z0-9][a-z0-9_-]{0,39}$"`
	Body struct {
		Params json.RawMessage `json:"params,omitempty" doc:"The plugin's parameters, checked against its manifest's schema"`
	}
}

// RunPluginOutput is the draft the plugin's output became.
type RunPluginOutput struct {
	Status int
	Body   draft.Draft
}

// RegisterPlugins registers the plugin operations.
func RegisterPlugins(h op.Host, d Deps) {
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "list-plugins", Method: http.MethodGet, Path: "/v1/plugins", Tags: []string{"plugins"},
		Summary:  "Installed plugins: signed WebAssembly effects that run in a sandbox",
		Security: op.Secured(auth.ScopeAnalyze),
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, _ *struct{}) (*PluginsOutput, error) {
		ms, err := d.Plugins.List(ctx)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &PluginsOutput{}
		out.Body.Plugins = []PluginInfo{}
		tenant := op.Principal(ctx).TenantID
		for _, m := range ms {
			ps := []string{plugin.Purpose(m.Name)}
			if m.HasFaces() {
				ps = append(ps, plugin.FaceDetectionPurpose)
			}
			enabled := d.Kill == nil || (d.Kill.Check(tenant, "plugins") == nil && d.Kill.Check(tenant, plugin.Feature(m.Name)) == nil)
			caps := m.Capabilities
			if caps == nil {
				caps = []string{}
			}
			out.Body.Plugins = append(out.Body.Plugins, PluginInfo{Name: m.Name, Version: m.Version, Publisher: m.Publisher, Description: m.Description,
				Capabilities: caps, Params: m.Params, Purposes: ps, Enabled: enabled})
		}
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "run-plugin", Method: http.MethodPost, Path: "/v1/assets/{id}/plugins/{name}", Tags: []string{"plugins"},
		Summary: "Run an installed plugin on a stored photo; its output becomes a draft",
		Description: "Needs the subject's consent for `plugin:<name>`, and `face_detection` too if the plugin declares the faces capability. " +
			"The plugin runs in a WebAssembly sandbox with no filesystem, network, environment or clock, under memory, time and output limits; " +
			"a run that breaks one answers `422 plugin_failed` and raises an alert. The output is re-encoded from its pixels and sealed as a draft of purpose `plugin:<name>`.",
		Security:      op.Secured(auth.ScopeAnalyze),
		DefaultStatus: http.StatusCreated,
		Metadata:      map[string]any{"feature": "plugins", "rate_class": guard.ClassAnalyze},
		Extensions:    map[string]any{"x-obscura-purposes": []string{"plugin:<name>", "face_detection"}},
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity,
			http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *RunPluginInput) (*RunPluginOutput, error) {
		p := op.Principal(ctx)
		if d.Kill != nil {
			if err := d.Kill.Check(p.TenantID, plugin.Feature(in.Name)); err != nil {
				return nil, h.Fail(ctx, err)
			}
		}
		release, err := h.Admit(ctx)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		defer release()
		d, err := d.Plugins.Run(ctx, plugin.Request{Tenant: p.TenantID, Key: p.KeyID, AssetID: in.ID, Plugin: in.Name, Params: in.Body.Params})
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &RunPluginOutput{Status: http.StatusCreated, Body: d}, nil
	})
}
