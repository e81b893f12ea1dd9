// Package meme makes meme drafts of a subject's photo: captions from a
// versioned, reviewed caption library in the repository (library/
// captions.tsv) ranked deterministically for what the photo shows, with
// seeded variety, or the subject's own caption; rendered on the photo in
// memory (classic top/bottom, white with a black outline, fitted and
// wrapped, pinned font) and sealed as drafts (package draft) under the
// meme_generation purpose.
//
// Every run is a consented run (package pipeline) needing
// meme_generation. Captions draw on tags only if tagging is granted and on
// text read from the photo only if text_detection is granted; otherwise
// they are generic. The photo-level safety checks are part of
// meme_generation itself: the sensitive-content rating (no drafts for
// photos rated explicit or suggestive) and face detection (on a photo with
// faces or people, only person-safe templates, which never describe a
// person); their results are used once, in memory, and never stored or
// returned.
//
// Protects against: captions that expose what a photo implies about a
// person (every caption — library, the user's own, and text read from the
// photo — passes the sensitive-attribute filter, with the names of the
// subject's tagged people, before it is used; a refused user caption is
// caption_rejected with its categories); text in the photo acting as
// instructions (it is only ever a quoted slot value: normalised, stripped
// of URLs and e-mail addresses, length-limited and filtered); captions,
// tags or pixels at rest (drafts are sealed; nothing else is written).
//
// Does not protect against: a caption that is hurtful without touching a
// filtered category; what a viewer infers from the photo itself.
package meme

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/pipeline"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/textfilter"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Purpose is the consent purpose of meme drafts.
const Purpose = "meme_generation"

// Purposes whose grants let captions draw on tags and on photo text.
const (
	PurposeTags = "tagging"
	PurposeText = "text_detection"
)

// Limits of a request.
const (
	MaxCount     = 5
	DefaultCount = 3
	// MaxCaptionRunes bounds each line of the user's own caption.
	MaxCaptionRunes = 120
	// MaxTextRunes bounds text read from the photo used in a caption.
	MaxTextRunes = 40
)

// TemplateUser is the template name of a draft with the user's own caption.
const TemplateUser = "user"

// ErrCaptionRejected is the sentinel of a refused user caption
// (CaptionRejectedError carries the categories).
var ErrCaptionRejected = fault.New(fault.InputRejected, "the caption mentions a sensitive attribute")

// ErrNotEligible: the photo gets no meme drafts (the safety checks
// refused it; which one is not said, so the refusal discloses no rating).
var ErrNotEligible = fault.New(fault.InputRejected, "this photo gets no meme drafts")

// ErrNoCaption: no caption of the library fits the photo and passes the
// filter (rare: generic templates fit every photo).
var ErrNoCaption = fault.New(fault.InputRejected, "no caption passes the filter for this photo")

// ErrCount reports a count outside 1..5.
var ErrCount = fault.New(fault.Invalid, "count must be 1 to 5")

// CaptionRejectedError is a user caption the filter refused.
type CaptionRejectedError struct {
	Categories []string
}

func (e *CaptionRejectedError) Error() string {
	return ErrCaptionRejected.Error() + " (" + strings.Join(e.Categories, ", ") + ")"
}

// Unwrap makes errors.Is(err, ErrCaptionRejected) hold.
func (e *CaptionRejectedError) Unwrap() error { return ErrCaptionRejected }

// Filter is the sensitive-attribute filter (package textfilter): whether
// text may be used, and the categories it touches (names: the people
// tagged by the subject, category identifier).
type Filter interface {
	Check(text string, names []string) (allowed bool, categories []string)
}

type engine interface {
	Decode(data []byte) (*picture.Picture, error)
	AnalyzePicture(ctx context.Context, p *picture.Picture, features []string) (*vision.Result, error)
}

type assets interface {
	Asset(ctx context.Context, tenant, id string) (store.Asset, error)
}

type photos interface {
	ReadAll(ctx context.Context, ref sealed.Ref, limit int64) ([]byte, error)
}

type gate interface {
	Require(ctx context.Context, tenant, subjectHash, purpose string) error
}

type drafts interface {
	Create(ctx context.Context, in draft.CreateInput) (draft.Draft, error)
	Reject(ctx context.Context, tenant, id string) error
}

type hasher interface {
	HashID(domain, id string) string
}

// Deps are the Service's collaborators.
type Deps struct {
	Engine  engine
	Assets  assets
	Photos  photos
	Consent gate
	Drafts  drafts
	Filter  Filter
	// Untrusted makes text read from a photo safe to treat as data
	// (textfilter.Untrusted): normalised, controls and zero-width
	// characters stripped, URLs and e-mail addresses removed, at most
	// maxRunes.
	Untrusted func(text string, maxRunes int) string
	// Names lists the names of the subject's tagged people (nil: none).
	Names func(ctx context.Context, tenant, subjectHash string) ([]string, error)
	Audit auditLog // nil: not audited (tests)
	Hash  hasher
	Clock clock.Clock
	Log   *slog.Logger
	// Guard and Thumbnail: the extraction guard, as for analysis.
	Guard     pipeline.Guard
	Thumbnail func(*image.RGBA) []float32
}

type auditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Service makes meme drafts.
type Service struct {
	d   Deps
	lib *Library
	r   *Renderer
	run *pipeline.Runner
}

var (
	libOnce sync.Once
	libVal  *Library
	libErr  error
)

// DefaultLibrary is the embedded caption library.
func DefaultLibrary() (*Library, error) {
	libOnce.Do(func() { libVal, libErr = ParseLibrary(libraryTSV) })
	return libVal, libErr
}

// New returns a Service over the embedded library and the pinned font.
func New(d Deps) (*Service, error) {
	lib, err := DefaultLibrary()
	if err != nil {
		return nil, err
	}
	r, err := NewRenderer()
	if err != nil {
		return nil, err
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.Log = d.Log.With("component", "meme")
	pd := pipeline.Deps{Decoder: d.Engine, Assets: d.Assets, Photos: d.Photos, Consent: d.Consent, Clock: d.Clock, Guard: d.Guard, Thumbnail: d.Thumbnail}
	if d.Audit != nil {
		pd.Audit = d.Audit
	}
	return &Service{d: d, lib: lib, r: r, run: pipeline.New(pd)}, nil
}

// Library returns the caption library in use.
func (s *Service) Library() *Library { return s.lib }

// Request asks for meme drafts of a photo.
type Request struct {
	Count       int // 1..5; 0: DefaultCount
	Top, Bottom string
	// Seed varies the choice among equally fitting templates (the same
	// photo, grants and seed give the same captions).
	Seed uint64
}

// Made is one meme draft.
type Made struct {
	Draft    draft.Draft
	Template string
}

// Check runs the filter on text (the captions check endpoint).
func (s *Service) Check(text string) (bool, []string) {
	ok, cats := s.d.Filter.Check(text, nil)
	return ok, cats
}

// checkUser validates and filters the user's own caption.
func (s *Service) checkUser(top, bottom string, names []string) error {
	for _, l := range []string{top, bottom} {
		if utf8.RuneCountInString(l) > MaxCaptionRunes || !utf8.ValidString(l) {
			return fault.New(fault.Invalid, fmt.Sprintf("each caption line is at most %d characters of UTF-8", MaxCaptionRunes))
		}
	}
	if !s.r.Covers(top) || !s.r.Covers(bottom) {
		return ErrGlyph
	}
	var cats []string
	for _, l := range []string{top, bottom, top + " " + bottom} {
		if ok, c := s.d.Filter.Check(l, names); !ok {
			cats = append(cats, c...)
		}
	}
	if len(cats) > 0 {
		slices.Sort(cats)
		return &CaptionRejectedError{Categories: slices.Compact(cats)}
	}
	return nil
}

// granted reports whether the subject granted purpose (a store fault is
// an error: fail closed).
func (s *Service) granted(ctx context.Context, a store.Asset, purpose string) (bool, error) {
	err := s.d.Consent.Require(ctx, a.TenantID, a.SubjectHash, purpose)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fault.ConsentRequired):
		return false, nil
	}
	return false, err
}

// Generate makes meme drafts of the tenant's photo on behalf of an API key
// ("" skips the extraction guard, for operator tools and benchmarks).
func (s *Service) Generate(ctx context.Context, tenant, key, assetID string, req Request) ([]Made, error) {
	if req.Count == 0 {
		req.Count = DefaultCount
	}
	if req.Count < 1 || req.Count > MaxCount {
		return nil, ErrCount
	}
	user := strings.TrimSpace(req.Top) != "" || strings.TrimSpace(req.Bottom) != ""
	a, err := s.d.Assets.Asset(ctx, tenant, assetID)
	if err != nil {
		return nil, err
	}
	// meme_generation first: without it nothing else is looked at.
	if err := s.d.Consent.Require(ctx, a.TenantID, a.SubjectHash, Purpose); err != nil {
		return nil, err
	}
	var names []string
	if s.d.Names != nil {
		if names, err = s.d.Names(ctx, tenant, a.SubjectHash); err != nil {
			return nil, fmt.Errorf("tagged names: %w", err)
		}
	}
	if user {
		if err := s.checkUser(req.Top, req.Bottom, names); err != nil {
			return nil, err
		}
	}
	g := &generator{s: s, req: req, user: user, names: names, purposes: []string{Purpose}}
	if !user {
		for _, p := range []string{PurposeTags, PurposeText} {
			ok, err := s.granted(ctx, a, p)
			if err != nil {
				return nil, err
			}
			if ok {
				g.purposes = append(g.purposes, p)
			}
		}
	}
	out, err := s.run.Run(ctx, pipeline.Request{Tenant: tenant, Key: key, AssetID: assetID}, g)
	if err != nil {
		return nil, err
	}
	return out.(*output).made, nil
}

// generator is meme drafts as a user of the consented run.
type generator struct {
	s        *Service
	req      Request
	user     bool
	names    []string
	purposes []string // meme_generation, then tagging / text_detection if granted
}

func (g *generator) Purposes() []string { return g.purposes }

func (g *generator) uses(p string) bool { return slices.Contains(g.purposes, p) }

// Infer runs the safety checks (and tags, text if granted) once, chooses
// and renders the captions. It stores nothing.
func (g *generator) Infer(ctx context.Context, a store.Asset, p *picture.Picture) (pipeline.Output, error) {
	features := []string{vision.Faces, vision.Sensitive}
	if g.uses(PurposeTags) {
		features = append(features, vision.Tags)
	}
	if g.uses(PurposeText) {
		features = append(features, vision.Text)
	}
	res, err := g.s.d.Engine.AnalyzePicture(ctx, p, features)
	if err != nil {
		return nil, fmt.Errorf("meme safety checks: %w", err)
	}
	if res.Sensitive == nil || res.Sensitive.Label != "safe" {
		return nil, ErrNotEligible
	}
	var picks []Candidate
	if g.user {
		picks = []Candidate{{Template: Template{ID: TemplateUser}, Top: strings.TrimSpace(g.req.Top), Bottom: strings.TrimSpace(g.req.Bottom)}}
	} else {
		// Tags and text only under their own grants, whatever the engine
		// returned.
		cues := Cues{PersonSafe: len(res.Faces) > 0}
		if g.uses(PurposeTags) {
			for _, t := range res.Tags {
				cues.Tags = append(cues.Tags, TagCue{Label: t.Label, Score: t.Score})
			}
		}
		if g.uses(PurposeText) {
			cues.Text = g.photoText(res.Text)
		}
		picks = Pick(g.s.lib.Rank(cues, g.req.Seed), g.req.Count, func(top, bottom string) bool {
			if !g.s.r.Covers(top) || !g.s.r.Covers(bottom) {
				return false
			}
			ok, _ := g.s.d.Filter.Check(strings.TrimSpace(top+" "+bottom), g.names)
			return ok
		})
		if len(picks) == 0 {
			return nil, ErrNoCaption
		}
	}
	o := &output{g: g, class: "_"}
	if len(res.Tags) > 0 && g.uses(PurposeTags) {
		o.class = res.Tags[0].Label
	}
	for _, c := range picks {
		jpg, err := g.s.r.Render(p.RGB, c.Top, c.Bottom)
		if err != nil {
			o.wipe()
			return nil, err
		}
		o.pending = append(o.pending, rendered{c: c, jpeg: jpg})
	}
	return o, nil
}

// photoText is the text read from the photo as caption data: the
// best-scored lines joined, made untrusted (package textfilter), and only
// if the filter allows it and the font covers it; "" otherwise.
func (g *generator) photoText(lines []vision.TextLine) string {
	if len(lines) == 0 || g.s.d.Untrusted == nil {
		return ""
	}
	ls := slices.Clone(lines)
	slices.SortStableFunc(ls, func(a, b vision.TextLine) int { return cmp.Compare(b.Score, a.Score) }) // best first
	var parts []string
	for _, l := range ls[:min(3, len(ls))] {
		parts = append(parts, l.Text)
	}
	t := strings.TrimSpace(g.s.d.Untrusted(strings.Join(parts, " "), MaxTextRunes))
	if t == "" || !g.s.r.Covers(t) {
		return ""
	}
	if ok, _ := g.s.d.Filter.Check(t, g.names); !ok {
		return ""
	}
	return t
}

type rendered struct {
	c    Candidate
	jpeg []byte
}

// output is a run's rendered memes, until sealed as drafts.
type output struct {
	g       *generator
	class   string
	pending []rendered
	made    []Made
}

func (o *output) Class() string { return o.class }

// Faces is empty: memes keep no embeddings.
func (o *output) Faces() []pipeline.Face { return nil }

func (o *output) Withhold(int) {}

func (o *output) wipe() {
	for _, r := range o.pending {
		clear(r.jpeg)
	}
}

// Store seals each rendered meme as a draft under meme_generation. Each
// draft is also recorded under the optional purposes the captions drew
// on, so a revocation of tagging or text_detection during the run takes
// it back too.
func (o *output) Store(ctx context.Context, a store.Asset, _ time.Time) ([]pipeline.Stored, error) {
	defer o.wipe()
	s := o.g.s
	var out []pipeline.Stored
	for _, r := range o.pending {
		gen := draft.Generator{Feature: "meme", Name: "template:" + r.c.Template.ID, Version: s.lib.Version}
		d, err := s.d.Drafts.Create(ctx, draft.CreateInput{Tenant: a.TenantID, Subject: a.SubjectHash, SourceAsset: a.ID, Purpose: Purpose,
			Generator: gen, JPEG: r.jpeg, Caption: &draft.Caption{Top: r.c.Top, Bottom: r.c.Bottom, Template: r.c.Template.ID}})
		if err != nil {
			for _, st := range out {
				_ = st.Undo(ctx)
			}
			return nil, err
		}
		o.made = append(o.made, Made{Draft: d, Template: r.c.Template.ID})
		undo := func(ctx context.Context) error {
			if err := s.d.Drafts.Reject(ctx, a.TenantID, d.ID); err != nil && !errors.Is(err, fault.NotFound) {
				return err
			}
			return nil
		}
		for _, p := range o.g.purposes {
			out = append(out, pipeline.Stored{Purpose: p, Undo: undo})
		}
	}
	return out, nil
}

// Audit records the run: hashed photo id, the library version, how many
// drafts; never a caption.
func (o *output) Audit(a store.Asset) []audit.Entry {
	return []audit.Entry{{Action: "meme.generate", Object: o.g.s.d.Hash.HashID("asset", a.ID), Purpose: Purpose, Result: audit.ResultOK,
		Model: "captions@" + o.g.s.lib.Version, Detail: fmt.Sprint(len(o.made))}}
}

// TextFilter is the sensitive-attribute filter (package textfilter) as a
// Filter.
type TextFilter struct{ F *textfilter.Filter }

// Check implements Filter.
func (t TextFilter) Check(text string, names []string) (bool, []string) {
	v := t.F.Check(text, textfilter.Options{Names: names})
	cats := make([]string, len(v.Categories))
	for i, c := range v.Categories {
		cats[i] = string(c)
	}
	return v.Allowed, cats
}
