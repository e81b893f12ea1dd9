// Package analysis runs the vision engine on stored assets under consent,
// hardens what it returns, and keeps results encrypted and on a retention
// schedule.
//
// Every feature passes the consent gate for its purpose before any pixel
// is decrypted (faces → face_detection, tags → tagging, sensitive →
// sensitive_content, text → text_detection); a refusal names the purpose
// and nothing runs. Outputs are hardened against model extraction and
// inversion (docs/threat-model.md): tags are the top MaxTags above
// MinTagScore, every confidence is rounded to two decimals, no logits, no
// embeddings. Each feature's result is sealed under the subject's scope
// key for that feature's purpose (so revoking the purpose crypto-shreds
// it) and recorded with its retention class; Sweep deletes what expired.
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
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Purposes maps each feature to the consent purpose it needs.
var Purposes = map[string]string{
	vision.Faces:     "face_detection",
	vision.Tags:      "tagging",
	vision.Sensitive: "sensitive_content",
	vision.Text:      "text_detection",
}

// Output hardening.
const (
	// MaxTags is how many tags a result carries at most.
	MaxTags = 5
	// MinTagScore drops weaker tags.
	MinTagScore = 0.35
	// MaxPhotoBytes bounds how much of a stored photo is read.
	MaxPhotoBytes = 100 << 20
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
	gate    gate
	results store.Results
	audit   auditLog
	hash    hasher
	clk     clock.Clock
	ret     Retention
	log     *slog.Logger
	guard   inferenceGuard
	thumb   func(*image.RGBA) []float32
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
}

// New returns a Service.
func New(d Deps) *Service {
	if d.Retention.Analysis == 0 {
		d.Retention = DefaultRetention
	}
	return &Service{eng: d.Engine, assets: d.Assets, objects: d.Objects, gate: d.Consent, results: d.Results,
		audit: d.Audit, hash: d.Hash, clk: d.Clock, ret: d.Retention, log: d.Log.With("component", "analysis"),
		guard: d.Guard, thumb: d.Thumbnail}
}

// Tag is a hardened tag.
type Tag struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Face is a hardened face: box and score only.
type Face struct {
	Box   geom.Rect `json:"box"`
	Score float64   `json:"score"`
}

// Sensitive is the hardened sensitive-content rating.
type Sensitive struct {
	Label  string             `json:"label"`
	Scores map[string]float64 `json:"scores"`
}

// TextLine is a hardened line of text.
type TextLine struct {
	Text  string    `json:"text"`
	Box   geom.Rect `json:"box"`
	Score float64   `json:"score"`
}

// Result is what the API returns for one analysis. A feature's field is
// present exactly when the feature was requested.
type Result struct {
	AssetID   string     `json:"asset_id"`
	Width     int        `json:"width"`
	Height    int        `json:"height"`
	Faces     []Face     `json:"faces,omitzero"`
	Tags      []Tag      `json:"tags,omitzero"`
	Sensitive *Sensitive `json:"sensitive,omitzero"`
	Text      []TextLine `json:"text,omitzero"`
	Retention string     `json:"retention"`
	ExpiresAt time.Time  `json:"expires_at"`
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

// Harden turns an engine result into what may leave Obscura.
func Harden(assetID string, r *vision.Result, features []string) Result {
	out := Result{AssetID: assetID, Width: r.Width, Height: r.Height}
	round := func(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
	if slices.Contains(features, vision.Faces) {
		out.Faces = []Face{}
		for _, f := range r.Faces {
			out.Faces = append(out.Faces, Face{Box: f.Box.Round(), Score: round(f.Score)})
		}
	}
	if slices.Contains(features, vision.Tags) {
		out.Tags = []Tag{}
		tags := slices.Clone(r.Tags)
		slices.SortStableFunc(tags, func(a, b centernet.Tag) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
		for _, t := range tags {
			if t.Score >= MinTagScore && len(out.Tags) < MaxTags {
				out.Tags = append(out.Tags, Tag{Label: t.Label, Score: round(t.Score)})
			}
		}
	}
	if slices.Contains(features, vision.Sensitive) && r.Sensitive != nil {
		s := &Sensitive{Label: r.Sensitive.Label, Scores: map[string]float64{}}
		for k, v := range r.Sensitive.Scores {
			s.Scores[k] = round(v)
		}
		out.Sensitive = s
	}
	if slices.Contains(features, vision.Text) {
		out.Text = []TextLine{}
		for _, t := range r.Text {
			out.Text = append(out.Text, TextLine{Text: t.Text, Box: t.Box.Round(), Score: round(t.Score)})
		}
	}
	return out
}

// Check is the admission check of an asynchronous analysis: the features
// are valid, the asset is the tenant's, and its subject has consented to
// every feature's purpose now (the job checks again when it runs).
func (s *Service) Check(ctx context.Context, tenant, key, assetID string, features []string) error {
	if err := CheckFeatures(features); err != nil {
		return err
	}
	if s.guard != nil && key != "" {
		if err := s.guard.Check(tenant, key); err != nil {
			return err
		}
	}
	a, err := s.assets.Asset(ctx, tenant, assetID)
	if err != nil {
		return err
	}
	return consent.RequireEach(ctx, s.gate, tenant, a.SubjectHash, purposesOf(features))
}

// purposesOf maps features to their purposes, in order.
func purposesOf(features []string) []string {
	ps := make([]string, len(features))
	for i, f := range features {
		ps[i] = Purposes[f]
	}
	return ps
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
	if s.guard != nil && key != "" {
		if err := s.guard.Check(tenant, key); err != nil {
			return Result{}, err
		}
	}
	return s.AnalyzeQueued(ctx, tenant, key, assetID, features)
}

// AnalyzeQueued is AnalyzeAs for a job whose key the guard already
// admitted when it was queued: the query is watched, not checked again.
func (s *Service) AnalyzeQueued(ctx context.Context, tenant, key, assetID string, features []string) (Result, error) {
	if err := CheckFeatures(features); err != nil {
		return Result{}, err
	}
	watch := s.guard != nil && key != ""
	a, err := s.assets.Asset(ctx, tenant, assetID)
	if err != nil {
		return Result{}, err
	}
	if err := consent.RequireEach(ctx, s.gate, tenant, a.SubjectHash, purposesOf(features)); err != nil {
		return Result{}, err
	}
	data, err := s.objects.ReadAll(ctx, sealed.Ref{Tenant: tenant, Subject: a.SubjectHash, Object: a.ID}, MaxPhotoBytes)
	if err != nil {
		return Result{}, fmt.Errorf("read photo: %w", err)
	}
	start := s.clk.Now()
	p, err := s.eng.Decode(data)
	if err != nil {
		return Result{}, fmt.Errorf("decode stored photo: %w", err)
	}
	raw, err := s.eng.AnalyzePicture(ctx, p, features)
	if err != nil {
		if errors.Is(err, vision.ErrFeature) {
			return Result{}, fault.Wrap(fault.Invalid, "feature", err)
		}
		return Result{}, fmt.Errorf("analyze: %w", err)
	}
	latency := s.clk.Now().Sub(start)
	out := Harden(a.ID, raw, features)
	if watch && s.thumb != nil {
		s.guard.Observe(ctx, tenant, key, s.thumb(p.RGB), predictedClass(out))
	}
	now := s.clk.Now()
	out.Retention, out.ExpiresAt = ClassAnalysis, now.Add(s.ret.Analysis).UTC().Truncate(time.Second)
	stored := map[string]store.Result{}
	for _, f := range features {
		rec, err := s.store(ctx, a, f, part(out, f), now, out.ExpiresAt)
		if err != nil {
			return Result{}, err
		}
		stored[f] = rec
	}
	// Consent may have been revoked, or the photo deleted, while the model
	// ran: the purge cannot have seen what was stored after it. Check
	// again; if either is gone, delete what this call stored and refuse.
	drop := func(err error) (Result, error) {
		for _, rec := range stored {
			_ = s.objects.Delete(ctx, sealed.Ref{Tenant: rec.TenantID, Subject: rec.SubjectHash, Purpose: rec.Purpose, Object: rec.ID})
			_ = s.results.DeleteResult(ctx, rec.TenantID, rec.ID)
		}
		return Result{}, err
	}
	for _, f := range features {
		if err := s.gate.Require(ctx, tenant, a.SubjectHash, Purposes[f]); err != nil {
			return drop(err)
		}
	}
	if _, err := s.assets.Asset(ctx, tenant, a.ID); err != nil {
		return drop(err)
	}
	for _, f := range features {
		if s.audit != nil {
			if err := s.audit.Append(ctx, audit.Entry{Action: "analysis.run", Tenant: tenant, Subject: a.SubjectHash,
				Object: s.hash.HashID("asset", a.ID), Purpose: Purposes[f], Result: "ok", Model: f, LatencyUS: latency.Microseconds()}); err != nil {
				return Result{}, fmt.Errorf("audit: %w", err)
			}
		}
	}
	return out, nil
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

func (s *Service) store(ctx context.Context, a store.Asset, feature string, v any, now, expires time.Time) (store.Result, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return store.Result{}, err
	}
	rec := store.Result{ID: ident.New("res_"), TenantID: a.TenantID, SubjectHash: a.SubjectHash, AssetID: a.ID, Feature: feature,
		Purpose: Purposes[feature], Retention: ClassAnalysis, CreatedAt: now, ExpiresAt: expires}
	ref := sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Purpose: rec.Purpose, Object: rec.ID}
	// Ciphertext first, then the record: a crash between leaves an
	// orphan object under a scope key, never a record without its object.
	if _, err := s.objects.Put(ctx, ref, bytes.NewReader(body)); err != nil {
		return store.Result{}, fmt.Errorf("store result: %w", err)
	}
	old, err := s.results.PutResult(ctx, rec)
	if err != nil {
		_ = s.objects.Delete(ctx, ref)
		return store.Result{}, fmt.Errorf("record result: %w", err)
	}
	if old != "" {
		if err := s.objects.Delete(ctx, sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Purpose: rec.Purpose, Object: old}); err != nil && !errors.Is(err, fault.NotFound) {
			s.log.Warn("replaced result not deleted", "err", err)
		}
	}
	return rec, nil
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

type shredder interface {
	Shred(ctx context.Context, tenant, subject, purpose string) (int, error)
}

// Purger is what consent revocation and erasure call: it crypto-shreds the
// subject's objects for a purpose and removes the matching result records,
// so not even the fact that a result existed outlives the consent.
type Purger struct {
	Objects shredder
	Results store.Results
	// Faces, when set, loses the subject's face-tag drafts and tags when
	// face_recognition (or everything) is purged; the gallery and draft
	// embeddings are sealed under that purpose and go with its key.
	Faces store.Faces
}

// Shred implements consent's purger.
func (p Purger) Shred(ctx context.Context, tenant, subject, purpose string) (int, error) {
	n, err := p.Objects.Shred(ctx, tenant, subject, purpose)
	if err != nil {
		return n, err
	}
	if _, err := p.Results.DeleteSubjectResults(ctx, tenant, subject, purpose); err != nil {
		return n, fmt.Errorf("purge result records: %w", err)
	}
	if p.Faces != nil && (purpose == "face_recognition" || purpose == "*") {
		if err := p.Faces.DeleteSubjectFaces(ctx, tenant, subject); err != nil {
			return n, fmt.Errorf("purge face tags: %w", err)
		}
	}
	return n, nil
}

// PurgingObjects is the sealed object store with Shred routed through a
// Purger, for subject erasure: erasing a subject ("*") also removes its
// result records and face-tag drafts and tags.
type PurgingObjects struct {
	*sealed.Store
	Purger Purger
}

// Shred implements the erasure's shredder.
func (o PurgingObjects) Shred(ctx context.Context, tenant, subject, purpose string) (int, error) {
	return o.Purger.Shred(ctx, tenant, subject, purpose)
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
