package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"math"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/pipeline"
	"github.com/obscuraproject/obscura/internal/plugin/wasmhost"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Purpose is the consent purpose of a plugin: "plugin:<name>".
func Purpose(name string) string { return "plugin:" + name }

// FaceDetectionPurpose is the extra purpose a plugin that declares the
// faces capability needs.
const FaceDetectionPurpose = "face_detection"

// Feature is the kill-switch feature of one plugin ("plugins" stops all).
func Feature(name string) string { return "plugin:" + name }

// OutputQuality is the JPEG quality plugin outputs are re-encoded at.
const OutputQuality = 90

// faceDetector finds faces (vision.Engine through a small adapter in
// internal/wire): boxes in the picture's full-size pixels.
type faceDetector interface {
	DetectFaces(ctx context.Context, p *picture.Picture) ([]Box, error)
}

// drafts seals outputs (package draft).
type drafts interface {
	Create(ctx context.Context, in draft.CreateInput) (draft.Draft, error)
	Reject(ctx context.Context, tenant, id string) error
}

// consentedRun is the consented run (package pipeline).
type consentedRun interface {
	Run(ctx context.Context, req pipeline.Request, g pipeline.Generator) (pipeline.Output, error)
}

type hasher interface {
	HashID(kind, id string) string
}

// RunnerDeps are a Runner's collaborators.
type RunnerDeps struct {
	Registry *Registry
	Pipeline consentedRun
	Faces    faceDetector // nil: plugins declaring faces are refused (unavailable)
	Drafts   drafts
	Hash     hasher
	Alerts   alerter  // nil: none
	Audit    auditLog // nil: none
	Clock    clock.Clock
	Log      *slog.Logger
}

// Runner runs an installed plugin on a subject's photo through the
// consented run and seals its output as a draft.
type Runner struct{ d RunnerDeps }

// NewRunner returns a Runner.
func NewRunner(d RunnerDeps) *Runner {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.Log = d.Log.With("component", "plugin")
	return &Runner{d: d}
}

// Request is one run.
type Request struct {
	Tenant, Key, AssetID string
	Plugin               string
	Params               []byte
}

// ErrFacesUnavailable: the plugin needs faces and this server runs
// without the face detector.
var ErrFacesUnavailable = fault.New(fault.Unavailable, "face detection is not available on this server")

// Run runs the plugin: parameters checked against its schema, then the
// consented run (guard, asset, consent for plugin:<name> and, when it
// declares faces, face_detection — before any pixel is decrypted),
// face detection if declared, the sandboxed run, the output re-encoded
// from its pixels (nothing but pixels survives) and sealed as a draft of
// purpose plugin:<name>. A run that breaks a limit raises a
// plugin_failed alert and is audited; nothing is stored.
func (r *Runner) Run(ctx context.Context, req Request) (draft.Draft, error) {
	l, err := r.d.Registry.Load(ctx, req.Plugin)
	if err != nil {
		return draft.Draft{}, err
	}
	params, err := l.Manifest.CheckParams(req.Params)
	if err != nil {
		return draft.Draft{}, err
	}
	if l.Manifest.HasFaces() && r.d.Faces == nil {
		return draft.Draft{}, ErrFacesUnavailable
	}
	g := &generator{r: r, l: l, params: params, tenant: req.Tenant}
	out, err := r.d.Pipeline.Run(ctx, pipeline.Request{Tenant: req.Tenant, Key: req.Key, AssetID: req.AssetID}, g)
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			r.failed(ctx, req, l.Manifest, f)
		}
		return draft.Draft{}, err
	}
	return out.(*runOutput).draft, nil
}

// failed raises the alert and audits a run that broke a limit.
func (r *Runner) failed(ctx context.Context, req Request, m Manifest, f *Failure) {
	model := m.Name + "@" + m.Version
	r.d.Log.Warn("plugin run failed", "plugin", m.Name, "reason", f.Reason)
	if r.d.Alerts != nil {
		rule, sev := AlertFailed, "warning"
		if f.Reason != wasmhost.ReasonStatus && f.Reason != wasmhost.ReasonNoOutput {
			rule, sev = AlertEscape, "high" // a limit broken: memory, time, runOutput, log, trap
		}
		r.d.Alerts.Raise(ctx, store.Alert{Rule: rule, Severity: sev, TenantID: req.Tenant,
			Detail: fmt.Sprintf("plugin %s contained: %s", model, f.Reason)})
	}
	if r.d.Audit != nil {
		e := audit.Entry{Action: "plugin.run", Tenant: req.Tenant, Actor: req.Key, Object: r.d.Hash.HashID("asset", req.AssetID),
			Purpose: Purpose(m.Name), Result: audit.ResultDenied, Code: "plugin_failed", Model: model, Detail: f.Reason}
		if err := r.d.Audit.Append(ctx, e); err != nil {
			r.d.Log.Error("audit plugin failure", "err", err)
		}
	}
}

// generator is one run's pipeline.Generator.
type generator struct {
	r      *Runner
	l      *Loaded
	params []byte
	tenant string
}

func (g *generator) Purposes() []string {
	ps := []string{Purpose(g.l.Manifest.Name)}
	if g.l.Manifest.HasFaces() {
		ps = append(ps, FaceDetectionPurpose)
	}
	return ps
}

func (g *generator) Infer(ctx context.Context, a store.Asset, p *picture.Picture) (pipeline.Output, error) {
	in := Input{Image: p.RGB, Params: g.params}
	if g.l.Manifest.HasFaces() {
		fs, err := g.r.d.Faces.DetectFaces(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("detect faces: %w", err)
		}
		// Boxes are in full-size pixels; the plugin sees the decoded ones.
		s := max(p.Scale, 1)
		for _, f := range fs {
			in.Faces = append(in.Faces, Box{X: int(math.Floor(float64(f.X) / s)), Y: int(math.Floor(float64(f.Y) / s)),
				W: int(math.Ceil(float64(f.W) / s)), H: int(math.Ceil(float64(f.H) / s))})
		}
		in.UseFaces = true
	}
	res, err := g.r.d.Registry.Runtime().Run(ctx, g.l.Module, in)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, opaque(res.Image), &jpeg.Options{Quality: OutputQuality}); err != nil {
		return nil, fmt.Errorf("encode plugin output: %w", err)
	}
	return &runOutput{g: g, jpeg: buf.Bytes(), dur: res.Duration}, nil
}

// opaque drops alpha (JPEG has none): the output is composited on black
// as encoders do, read as plain RGBA pixels only.
func opaque(im *image.RGBA) *image.RGBA {
	for i := 3; i < len(im.Pix); i += 4 {
		im.Pix[i] = 255
	}
	return im
}

// runOutput is one run's result, not yet stored.
type runOutput struct {
	g     *generator
	jpeg  []byte
	dur   time.Duration
	draft draft.Draft
}

func (o *runOutput) Class() string          { return "plugin:" + o.g.l.Manifest.Name }
func (o *runOutput) Faces() []pipeline.Face { return nil }
func (o *runOutput) Withhold(int)           {}
func (o *runOutput) purpose() string        { return Purpose(o.g.l.Manifest.Name) }
func (o *runOutput) drafted() draft.Generator {
	return draft.Generator{Feature: "plugin", Name: o.g.l.Manifest.Name, Version: o.g.l.Manifest.Version}
}

func (o *runOutput) Store(ctx context.Context, a store.Asset, _ time.Time) ([]pipeline.Stored, error) {
	d, err := o.g.r.d.Drafts.Create(ctx, draft.CreateInput{Tenant: a.TenantID, Subject: a.SubjectHash, SourceAsset: a.ID,
		Purpose: o.purpose(), Generator: o.drafted(), JPEG: o.jpeg})
	clear(o.jpeg)
	if err != nil {
		return nil, err
	}
	o.draft = d
	return []pipeline.Stored{{Purpose: o.purpose(), Undo: func(ctx context.Context) error {
		err := o.g.r.d.Drafts.Reject(ctx, a.TenantID, d.ID)
		if errors.Is(err, draft.ErrNotFound) {
			return nil
		}
		return err
	}}}, nil
}

func (o *runOutput) Audit(a store.Asset) []audit.Entry {
	m := o.g.l.Manifest
	return []audit.Entry{{Action: "plugin.run", Object: o.g.r.d.Hash.HashID("asset", a.ID), Purpose: o.purpose(),
		Result: audit.ResultOK, Model: m.Name + "@" + m.Version}}
}

// List lists the installed plugins.
func (r *Runner) List(ctx context.Context) ([]Manifest, error) { return r.d.Registry.List(ctx) }
