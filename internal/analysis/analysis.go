// Package analysis runs the vision engine on stored assets under consent,
// and keeps results encrypted and on a retention schedule.
//
// Every analysis is a consented run (package pipeline): each feature
// passes the consent gate for its purpose before any pixel is decrypted
// (faces → face_detection, tags → tagging, sensitive → sensitive_content,
// text → text_detection); a refusal names the purpose and nothing runs.
// Outputs are the engine's hardened results (package vision owns that
// contract: top-k tags, rounded confidences, no logits, no embeddings).
// Each feature's result is sealed under the subject's scope key for that
// feature's purpose (so revoking the purpose crypto-shreds it) and recorded
// with its retention class; Sweep deletes what expired. The Service is the
// "results" kind of the derived-data registry (package derived).
package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/pipeline"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Purposes maps each feature to the consent purpose it needs.
var Purposes = map[string]string{
	vision.Faces:     "face_detection",
	vision.Tags:      "tagging",
	vision.Sensitive: "sensitive_content",
	vision.Text:      "text_detection",
}

// Output hardening (the figures live with the contract, in package vision).
const (
	// MaxTags is how many tags a result carries at most.
	MaxTags = vision.MaxTags
	// MinTagScore drops weaker tags.
	MinTagScore = vision.MinTagScore
	// MaxPhotoBytes bounds how much of a stored photo is read.
	MaxPhotoBytes = pipeline.MaxPhotoBytes
)

// Retention classes.
const (
	ClassAnalysis = "analysis"
)

// Retention holds how long each class of derived data lives.
type Retention struct {
	Analysis time.Duration
}

// DefaultRetention keeps analysis results 30 days.
var DefaultRetention = Retention{Analysis: 30 * 24 * time.Hour}

// ErrFeature reports an unknown or repeated feature.
var ErrFeature = fault.New(fault.Invalid, "unknown or repeated feature (choose from faces, tags, sensitive, text)")

type engine interface {
	Decode(data []byte) (*picture.Picture, error)
	AnalyzePicture(ctx context.Context, p *picture.Picture, features []string) (*vision.Result, error)
}

// inferenceGuard is the extraction watcher (package guard).
type inferenceGuard interface {
	Check(tenant, key string) error
	Observe(ctx context.Context, tenant, key string, thumb []float32, class string) string
}

type assets interface {
	Asset(ctx context.Context, tenant, id string) (store.Asset, error)
}

type objects interface {
	Put(ctx context.Context, ref sealed.Ref, r io.Reader) (int64, error)
	ReadAll(ctx context.Context, ref sealed.Ref, limit int64) ([]byte, error)
	Delete(ctx context.Context, ref sealed.Ref) error
}

type gate interface {
	Require(ctx context.Context, tenant, subjectHash, purpose string) error
}

type auditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}

type hasher interface {
	HashID(domain, id string) string
}

// Service analyses stored assets.
type Service struct {
	eng     engine
	assets  assets
	objects objects
	results store.Results
	audit   auditLog
	hash    hasher
	clk     clock.Clock
	ret     Retention
	log     *slog.Logger
	run     *pipeline.Runner
	contrib contributions
}

// Deps are the Service's collaborators.
type Deps struct {
	Engine    engine
	Assets    assets
	Objects   objects
	Consent   gate
	Results   store.Results
	Audit     auditLog
	Hash      hasher
	Clock     clock.Clock
	Retention Retention
	Log       *slog.Logger
	// Guard, when set, watches each API key's queries for model
	// extraction; Thumbnail is the query representation it compares.
	Guard inferenceGuard
	// No feature of an analysis uses the face embedder ("faces" is
	// detection only), so the adversarial-input guard does not screen it
	// (package faces does, before embeddings are stored or matched).
	Thumbnail func(*image.RGBA) []float32
	// Contributions, when set, hears what each stored analysis found, for
	// differentially private analytics (internal/analytics records it
	// only with the subject's analytics consent).
	Contributions contributions
}

// contributions is internal/analytics' recorder.
type contributions interface {
	Analyzed(ctx context.Context, tenant, assetID string, features []string, faces int, tags []string)
}

// New returns a Service.
func New(d Deps) *Service {
	if d.Retention.Analysis == 0 {
		d.Retention = DefaultRetention
	}
	s := &Service{eng: d.Engine, assets: d.Assets, objects: d.Objects, results: d.Results,
		audit: d.Audit, hash: d.Hash, clk: d.Clock, ret: d.Retention, log: d.Log.With("component", "analysis"), contrib: d.Contributions}
	pd := pipeline.Deps{Decoder: d.Engine, Assets: d.Assets, Photos: d.Objects, Consent: d.Consent, Clock: d.Clock, Thumbnail: d.Thumbnail}
	if d.Audit != nil {
		pd.Audit = d.Audit
	}
	if d.Guard != nil {
		pd.Guard = d.Guard
	}
	s.run = pipeline.New(pd)
	return s
}

var _ derived.Kind = (*Service)(nil)

// Name implements derived.Kind.
func (s *Service) Name() string { return "results" }

// ForgetPurpose implements derived.Kind: the subject's results sealed
// under purpose (their key is already destroyed) and their records.
func (s *Service) ForgetPurpose(ctx context.Context, tenant, subjectHash, purpose string) error {
	return s.forget(ctx, tenant, subjectHash, purpose)
}

// ForgetSubject implements derived.Kind: every result of the subject.
func (s *Service) ForgetSubject(ctx context.Context, tenant, subjectHash string) error {
	return s.forget(ctx, tenant, subjectHash, "*")
}

func (s *Service) forget(ctx context.Context, tenant, subjectHash, purpose string) error {
	recs, err := s.results.SubjectResults(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if purpose != "*" && r.Purpose != purpose {
			continue
		}
		if err := s.objects.Delete(ctx, sealed.Ref{Tenant: r.TenantID, Subject: r.SubjectHash, Purpose: r.Purpose, Object: r.ID}); err != nil && !errors.Is(err, fault.NotFound) {
			return fmt.Errorf("delete result: %w", err)
		}
	}
	if _, err := s.results.DeleteSubjectResults(ctx, tenant, subjectHash, purpose); err != nil {
		return fmt.Errorf("delete result records: %w", err)
	}
	return nil
}

// Export implements derived.Kind: each stored result, decrypted, as
// results/<purpose>/<asset_id>/<feature>.json (docs/spec/export-bundle-v1.md).
func (s *Service) Export(ctx context.Context, tenant, subjectHash string, b derived.Bundle) error {
	recs, err := s.results.SubjectResults(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	for _, r := range recs {
		body, err := s.objects.ReadAll(ctx, sealed.Ref{Tenant: r.TenantID, Subject: r.SubjectHash, Purpose: r.Purpose, Object: r.ID}, 1<<20)
		if errors.Is(err, fault.NotFound) {
			continue // purged with its purpose's key
		}
		if err != nil {
			return fmt.Errorf("export result: %w", err)
		}
		doc, err := json.MarshalIndent(ExportedResult{AssetID: r.AssetID, Feature: r.Feature, Purpose: r.Purpose, Retention: r.Retention,
			CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), Result: body}, "", "  ")
		if err != nil {
			return err
		}
		if err := b.Add("results/"+r.Purpose+"/"+r.AssetID+"/"+r.Feature+".json", doc); err != nil {
			return err
		}
	}
	return nil
}

// ExportedResult is results/<purpose>/<asset_id>/<feature>.json of an
// export bundle: the record and the result as the API returned it.
type ExportedResult struct {
	AssetID   string          `json:"asset_id"`
	Feature   string          `json:"feature"`
	Purpose   string          `json:"purpose"`
	Retention string          `json:"retention"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
	Result    json.RawMessage `json:"result"`
}

// Held implements derived.Kind: how many result records the subject has.
func (s *Service) Held(ctx context.Context, tenant, subjectHash string) (int, error) {
	recs, err := s.results.SubjectResults(ctx, tenant, subjectHash)
	return len(recs), err
}

// Tag is a hardened tag.
type Tag = vision.Tag

// Face is a hardened face: box and score only.
type Face = vision.Face

// Sensitive is the hardened sensitive-content rating.
type Sensitive = vision.Rating

// TextLine is a hardened line of text.
type TextLine = vision.TextLine

// Result is what the API returns for one analysis: the engine's hardened
// result for the photo, and how long it is kept. A feature's field is
// present exactly when the feature was requested.
type Result struct {
	AssetID   string            `json:"asset_id"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Faces     []vision.Face     `json:"faces,omitzero"`
	Tags      []vision.Tag      `json:"tags,omitzero"`
	Sensitive *vision.Rating    `json:"sensitive,omitzero"`
	Text      []vision.TextLine `json:"text,omitzero"`
	Retention string            `json:"retention"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// CheckFeatures validates a request's feature list: known, non-empty,
// each at most once.
func CheckFeatures(fs []string) error {
	if len(fs) == 0 || len(fs) > len(Purposes) {
		return ErrFeature
	}
	for i, f := range fs {
		if _, ok := Purposes[f]; !ok || slices.Contains(fs[:i], f) {
			return ErrFeature
		}
	}
	return nil
}

// Harden is the API's view of an engine result (hardened by the engine):
// the requested features only, each present (possibly empty).
func Harden(assetID string, r *vision.Result, features []string) Result {
	out := Result{AssetID: assetID, Width: r.Width, Height: r.Height}
	if slices.Contains(features, vision.Faces) {
		out.Faces = append([]vision.Face{}, r.Faces...)
	}
	if slices.Contains(features, vision.Tags) {
		out.Tags = append([]vision.Tag{}, r.Tags...)
	}
	if slices.Contains(features, vision.Sensitive) {
		out.Sensitive = r.Sensitive
	}
	if slices.Contains(features, vision.Text) {
		out.Text = append([]vision.TextLine{}, r.Text...)
	}
	return out
}

func purposesOf(features []string) []string {
	ps := make([]string, len(features))
	for i, f := range features {
		ps[i] = Purposes[f]
	}
	return ps
}

// Check is the admission check of an asynchronous analysis: the features
// are valid, the API key is admitted, the asset is the tenant's, and its
// subject has consented to every feature's purpose now (the job checks
// again when it runs). It is the only feature check of the queued path.
func (s *Service) Check(ctx context.Context, tenant, key, assetID string, features []string) error {
	if err := CheckFeatures(features); err != nil {
		return err
	}
	return s.run.Admit(ctx, pipeline.Request{Tenant: tenant, Key: key, AssetID: assetID}, purposesOf(features))
}

// Analyze runs features on the tenant's asset, stores each feature's
// hardened result sealed under its purpose, and returns the result.
func (s *Service) Analyze(ctx context.Context, tenant, assetID string, features []string) (Result, error) {
	return s.AnalyzeAs(ctx, tenant, "", assetID, features)
}

// AnalyzeAs is Analyze on behalf of an API key, which the extraction
// guard checks first and watches afterwards ("" skips the guard, for the
// operator's own tools).
func (s *Service) AnalyzeAs(ctx context.Context, tenant, key, assetID string, features []string) (Result, error) {
	if err := CheckFeatures(features); err != nil {
		return Result{}, err
	}
	return s.analyze(ctx, pipeline.Request{Tenant: tenant, Key: key, AssetID: assetID}, features)
}

// AnalyzeQueued is AnalyzeAs for a job admitted by Check when it was
// queued: the features are not checked again, and the key is watched, not
// checked.
func (s *Service) AnalyzeQueued(ctx context.Context, tenant, key, assetID string, features []string) (Result, error) {
	return s.analyze(ctx, pipeline.Request{Tenant: tenant, Key: key, AssetID: assetID, Queued: true}, features)
}

func (s *Service) analyze(ctx context.Context, req pipeline.Request, features []string) (Result, error) {
	for _, f := range features {
		if _, ok := Purposes[f]; !ok {
			return Result{}, ErrFeature
		}
	}
	out, err := s.run.Run(ctx, req, &generator{s: s, features: features})
	if err != nil {
		return Result{}, err
	}
	res := out.(*output).res
	if s.contrib != nil {
		faces, tags := -1, []string(nil)
		if slices.Contains(features, vision.Faces) {
			faces = len(res.Faces)
		}
		if slices.Contains(features, vision.Tags) {
			tags = []string{}
			for _, t := range res.Tags {
				tags = append(tags, t.Label)
			}
		}
		s.contrib.Analyzed(ctx, req.Tenant, req.AssetID, features, faces, tags)
	}
	return res, nil
}

// generator is analysis as a user of the consented run.
type generator struct {
	s        *Service
	features []string
}

func (g *generator) Purposes() []string { return purposesOf(g.features) }

func (g *generator) Infer(ctx context.Context, a store.Asset, p *picture.Picture) (pipeline.Output, error) {
	raw, err := g.s.eng.AnalyzePicture(ctx, p, g.features)
	if err != nil {
		if errors.Is(err, vision.ErrFeature) {
			return nil, fault.Wrap(fault.Invalid, "feature", err)
		}
		return nil, fmt.Errorf("analyze: %w", err)
	}
	return &output{s: g.s, features: g.features, res: Harden(a.ID, raw, g.features)}, nil
}

// output is one analysis's result, until stored.
type output struct {
	s        *Service
	features []string
	res      Result
}

// Class is the class PRADA groups a query by: the top tag, else the
// sensitive-content label, else one class for everything.
func (o *output) Class() string { return predictedClass(o.res) }

// Faces is empty: an analysis stores boxes, never embeddings, so no face
// of it is screened (a face score never refuses tags, sensitive or text).
func (o *output) Faces() []pipeline.Face { return nil }

func (o *output) Withhold(int) {}

func (o *output) Store(ctx context.Context, a store.Asset, now time.Time) ([]pipeline.Stored, error) {
	o.res.Retention, o.res.ExpiresAt = ClassAnalysis, now.Add(o.s.ret.Analysis).UTC().Truncate(time.Second)
	var out []pipeline.Stored
	for _, f := range o.features {
		st, err := o.s.store(ctx, a, f, part(o.res, f), now, o.res.ExpiresAt)
		if err != nil {
			for _, x := range out {
				_ = x.Undo(ctx)
			}
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (o *output) Audit(a store.Asset) []audit.Entry {
	var es []audit.Entry
	for _, f := range o.features {
		es = append(es, audit.Entry{Action: "analysis.run", Object: o.s.hash.HashID("asset", a.ID), Purpose: Purposes[f], Result: "ok", Model: f})
	}
	return es
}

// part is the slice of a result one feature produced (what is stored
// under that feature's purpose).
func part(r Result, feature string) any {
	switch feature {
	case vision.Faces:
		return r.Faces
	case vision.Tags:
		return r.Tags
	case vision.Sensitive:
		return r.Sensitive
	}
	return r.Text
}

// store seals and records one feature's result. The earlier result of the
// same photo and feature it replaces is deleted only when the run stands
// (Commit): a run taken back for one purpose leaves the other features'
// results as they were.
func (s *Service) store(ctx context.Context, a store.Asset, feature string, v any, now, expires time.Time) (pipeline.Stored, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return pipeline.Stored{}, err
	}
	rec := store.Result{ID: ident.New("res_"), TenantID: a.TenantID, SubjectHash: a.SubjectHash, AssetID: a.ID, Feature: feature,
		Purpose: Purposes[feature], Retention: ClassAnalysis, CreatedAt: now, ExpiresAt: expires}
	ref := sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Purpose: rec.Purpose, Object: rec.ID}
	// Ciphertext first, then the record: a crash between leaves an
	// orphan object under a scope key, never a record without its object.
	if _, err := s.objects.Put(ctx, ref, bytes.NewReader(body)); err != nil {
		return pipeline.Stored{}, fmt.Errorf("store result: %w", err)
	}
	old, err := s.results.PutResult(ctx, rec)
	if err != nil {
		_ = s.objects.Delete(ctx, ref)
		return pipeline.Stored{}, fmt.Errorf("record result: %w", err)
	}
	dropOld := func(ctx context.Context) error {
		if old == "" {
			return nil
		}
		if err := s.objects.Delete(ctx, sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Purpose: rec.Purpose, Object: old}); err != nil && !errors.Is(err, fault.NotFound) {
			s.log.Warn("replaced result not deleted", "err", err)
		}
		return nil
	}
	return pipeline.Stored{Purpose: rec.Purpose,
		Undo: func(ctx context.Context) error {
			_ = s.objects.Delete(ctx, ref)
			err := s.results.DeleteResult(ctx, rec.TenantID, rec.ID)
			if errors.Is(err, fault.NotFound) {
				err = nil
			}
			return errors.Join(err, dropOld(ctx))
		},
		Commit: dropOld}, nil
}

// StoredResult is one stored, unexpired result of a photo, decrypted.
type StoredResult struct {
	Feature   string
	ExpiresAt time.Time
	Body      json.RawMessage
}

// StoredResults returns the tenant's stored (unexpired) results for an
// asset, decrypted, by feature name.
func (s *Service) StoredResults(ctx context.Context, tenant, assetID string) ([]StoredResult, error) {
	if _, err := s.assets.Asset(ctx, tenant, assetID); err != nil {
		return nil, err
	}
	recs, err := s.results.Results(ctx, tenant, assetID)
	if err != nil {
		return nil, err
	}
	var out []StoredResult
	now := s.clk.Now()
	for _, r := range recs {
		if !now.Before(r.ExpiresAt) {
			continue
		}
		b, err := s.objects.ReadAll(ctx, sealed.Ref{Tenant: r.TenantID, Subject: r.SubjectHash, Purpose: r.Purpose, Object: r.ID}, 1<<20)
		if err != nil {
			if errors.Is(err, fault.NotFound) {
				continue // purged with its purpose's key
			}
			return nil, err
		}
		out = append(out, StoredResult{Feature: r.Feature, ExpiresAt: r.ExpiresAt, Body: b})
	}
	slices.SortFunc(out, func(x, y StoredResult) int { return strings.Compare(x.Feature, y.Feature) })
	return out, nil
}

// Stored returns the tenant's stored (unexpired) results for an asset,
// decrypted, one entry per feature.
func (s *Service) Stored(ctx context.Context, tenant, assetID string) (map[string]json.RawMessage, error) {
	rs, err := s.StoredResults(ctx, tenant, assetID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(rs))
	for _, r := range rs {
		out[r.Feature] = r.Body
	}
	return out, nil
}

// ForgetAsset deletes every stored result of one photo: the sealed result
// first, then its record, so a failure leaves a record a retry finds.
func (s *Service) ForgetAsset(ctx context.Context, tenant, assetID string) error {
	recs, err := s.results.Results(ctx, tenant, assetID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := s.objects.Delete(ctx, sealed.Ref{Tenant: r.TenantID, Subject: r.SubjectHash, Purpose: r.Purpose, Object: r.ID}); err != nil && !errors.Is(err, fault.NotFound) {
			return fmt.Errorf("delete result: %w", err)
		}
		if err := s.results.DeleteResult(ctx, tenant, r.ID); err != nil && !errors.Is(err, fault.NotFound) {
			return err
		}
	}
	return nil
}

// Sweep deletes results whose retention ended, at most limit per call,
// recording each deletion in the audit log. It returns how many went.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	recs, err := s.results.ExpiredResults(ctx, s.clk.Now(), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		err := s.objects.Delete(ctx, sealed.Ref{Tenant: r.TenantID, Subject: r.SubjectHash, Purpose: r.Purpose, Object: r.ID})
		if err != nil && !errors.Is(err, fault.NotFound) {
			return n, fmt.Errorf("sweep: %w", err)
		}
		if err := s.results.DeleteResult(ctx, r.TenantID, r.ID); err != nil && !errors.Is(err, fault.NotFound) {
			return n, fmt.Errorf("sweep: %w", err)
		}
		n++
		if s.audit != nil {
			if err := s.audit.Append(ctx, audit.Entry{Action: "retention.delete", Tenant: r.TenantID, Subject: r.SubjectHash,
				Object: s.hash.HashID("result", r.ID), Purpose: r.Purpose, Result: "ok", Code: r.Retention}); err != nil {
				return n, fmt.Errorf("audit: %w", err)
			}
		}
	}
	return n, nil
}

// predictedClass is the class PRADA groups a query by: the top tag, else
// the sensitive-content label, else one class for everything.
func predictedClass(r Result) string {
	switch {
	case len(r.Tags) > 0:
		return r.Tags[0].Label
	case r.Sensitive != nil:
		return r.Sensitive.Label
	}
	return "_"
}
