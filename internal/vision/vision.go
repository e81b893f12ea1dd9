// Package vision is Obscura's recognition engine: it decodes an image once
// (package picture) and runs the model families that the requested
// features need, each loaded once from verified bytes of the pinned model
// supply chain (package models) and shared by concurrent callers.
//
// Features: faces (BlazeFace boxes, scores, keypoints), tags (CenterNet
// COCO labels), sensitive (nsfwjs's five classes and a decided label),
// text (PP-OCRv4 finds lines, Tesseract reads them; docs/text.md says why
// this pair). Identity embeddings (package arcface, aligned by the
// detector's keypoints) are computed only by the methods that need them
// (Compare, Embeddings, Largest) and never appear in a Result; FaceRes is
// loaded only for the adversarial-input guard (FaceEmbedder).
// Obscura does not infer age, gender, ethnicity or emotion: no such model
// is loaded, and the FaceRes graph is cut before the heads its package
// ships for them.
package vision

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/nsfw"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/ppocr"
	"github.com/obscuraproject/obscura/internal/vision/tesseract"
)

// Feature names.
const (
	Faces     = "faces"
	Tags      = "tags"
	Sensitive = "sensitive"
	Text      = "text"
)

// Features lists what Analyze can do.
var Features = []string{Faces, Tags, Sensitive, Text}

// MinTextScore is the Tesseract confidence below which a read line is
// dropped: on the rendered-text set every true line read at ≥ 0.83 and
// every spurious region (photo texture between lines) at ≤ 0.66.
const MinTextScore = 0.7

// ErrFeature reports an unknown or unavailable feature.
var ErrFeature = errors.New("unknown feature")

// ErrNoFace reports an image without a detectable face.
var ErrNoFace = errors.New("no face found")

// Options configure the engine.
type Options struct {
	// Threads is ONNX Runtime's intra-op thread count per session.
	Threads int
	// Decode bounds and sizes image decoding.
	Decode picture.Options
	// TessData is the directory holding Tesseract's eng.traineddata
	// (default tesseract.DefaultDir); its hash is checked on Open.
	TessData string
}

// Engine holds the loaded models. It is safe for concurrent use.
type Engine struct {
	opt   Options
	faces *blazeface.Detector
	emb   *faceres.Embedder // the adversarial-input guard's model
	ident *arcface.Embedder // identity embeddings (Compare, Embeddings)
	objs  *centernet.Detector
	nsfw  *nsfw.Classifier
	lines *ppocr.Detector
	tess  *tesseract.Reader
}

// Open loads the runtime and models from dir, verifying every file
// against the manifest; a mismatch is an error (the service refuses to
// start).
func Open(m models.Manifest, dir string, opt Options) (*Engine, error) {
	if err := ort.Init(m, dir); err != nil {
		return nil, err
	}
	if opt.Decode.MaxPixels == 0 {
		opt.Decode = picture.DefaultOptions
	}
	e := &Engine{opt: opt}
	load := func(name string) ([]byte, error) { return m.Load(dir, name) }
	b, err := load(blazeface.ModelFile)
	if err == nil {
		e.faces, err = blazeface.New(b, opt.Threads)
	}
	if err == nil {
		b, err = load(faceres.ModelFile)
	}
	if err == nil {
		e.emb, err = faceres.New(b, opt.Threads)
	}
	if err == nil {
		b, err = load(arcface.ModelFile)
	}
	if err == nil {
		e.ident, err = arcface.New(b, opt.Threads)
	}
	if err == nil {
		b, err = load(centernet.ModelFile)
	}
	if err == nil {
		e.objs, err = centernet.New(b, opt.Threads)
	}
	if err == nil {
		b, err = load(nsfw.ModelFile)
	}
	if err == nil {
		e.nsfw, err = nsfw.New(b, opt.Threads)
	}
	if err == nil {
		b, err = load(ppocr.DetectorFile)
	}
	if err == nil {
		e.lines, err = ppocr.NewDetector(b, opt.Threads)
	}
	if err == nil {
		if opt.TessData == "" {
			opt.TessData = tesseract.DefaultDir
		}
		e.tess, err = tesseract.Open(opt.TessData, max(opt.Threads, 2))
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// FaceEmbedder is the loaded face embedder (for the adversarial-input
// guard, which runs it on squeezed copies of a face).
func (e *Engine) FaceEmbedder() *faceres.Embedder { return e.emb }

// Close releases the sessions.
func (e *Engine) Close() error {
	if e.faces != nil {
		e.faces.Close()
	}
	if e.ident != nil {
		e.ident.Close()
	}
	if e.emb != nil {
		e.emb.Close()
	}
	if e.objs != nil {
		e.objs.Close()
	}
	if e.nsfw != nil {
		e.nsfw.Close()
	}
	if e.lines != nil {
		e.lines.Close()
	}
	if e.tess != nil {
		e.tess.Close()
	}
	return nil
}

// The model-output contract: what a model's raw output becomes before
// anything else in Obscura sees it. Every Result is hardened here, once,
// against model extraction and inversion (docs/threat-model.md): tags are
// the top MaxTags at or above MinTagScore, every confidence is rounded to
// two decimals, boxes to whole pixels; no logits, no embeddings.
const (
	// MaxTags is how many tags a result carries at most.
	MaxTags = 5
	// MinTagScore drops weaker tags.
	MinTagScore = 0.35
)

// Face is a detected face as results report it: box and score only.
type Face struct {
	Box   geom.Rect `json:"box"`
	Score float64   `json:"score"`
}

// Tag is a hardened object tag.
type Tag struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Rating is the hardened sensitive-content rating: the decided label and
// each class's rounded probability.
type Rating struct {
	Label  string             `json:"label"`
	Scores map[string]float64 `json:"scores"`
}

// TextLine is a line of text read in an image.
type TextLine struct {
	Text  string    `json:"text"`
	Box   geom.Rect `json:"box"`
	Score float64   `json:"score"`
}

// Result is one image's analysis. Boxes are in pixels of the upright
// image. A feature's field is present (possibly empty) exactly when the
// feature was requested.
type Result struct {
	Width     int        `json:"width"`
	Height    int        `json:"height"`
	Faces     []Face     `json:"faces,omitzero"`
	Tags      []Tag      `json:"tags,omitzero"`
	Sensitive *Rating    `json:"sensitive,omitzero"`
	Text      []TextLine `json:"text,omitzero"`
}

// HardenTags keeps the top MaxTags tags scoring at least MinTagScore, by
// score (stable), rounded.
func HardenTags(ts []centernet.Tag) []Tag {
	ts = slices.Clone(ts)
	slices.SortStableFunc(ts, func(a, b centernet.Tag) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	out := []Tag{}
	for _, t := range ts {
		if t.Score >= MinTagScore && len(out) < MaxTags {
			out = append(out, Tag{Label: t.Label, Score: round2(t.Score)})
		}
	}
	return out
}

// HardenRating rounds a sensitive-content rating.
func HardenRating(r nsfw.Rating) *Rating {
	s := &Rating{Label: r.Label, Scores: make(map[string]float64, len(r.Scores))}
	for k, v := range r.Scores {
		s.Scores[k] = round2(v)
	}
	return s
}

// HardenFace rounds a detected face.
func HardenFace(f blazeface.Face) Face { return Face{Box: f.Box.Round(), Score: round2(f.Score)} }

// HardenText rounds a read line.
func HardenText(text string, box geom.Rect, score float64) TextLine {
	return TextLine{Text: text, Box: box.Round(), Score: round2(score)}
}

// CheckFeatures validates a feature list.
func CheckFeatures(fs []string) error {
	if len(fs) == 0 {
		return fmt.Errorf("%w: none requested", ErrFeature)
	}
	for _, f := range fs {
		if !slices.Contains(Features, f) {
			return fmt.Errorf("%w %q (available: %s)", ErrFeature, f, strings.Join(Features, ", "))
		}
	}
	return nil
}

// Decode decodes image bytes with the engine's limits.
func (e *Engine) Decode(data []byte) (*picture.Picture, error) {
	return picture.Decode(data, e.opt.Decode)
}

// Analyze runs the requested features on an image.
func (e *Engine) Analyze(ctx context.Context, data []byte, features []string) (*Result, error) {
	if err := CheckFeatures(features); err != nil {
		return nil, err
	}
	p, err := e.Decode(data)
	if err != nil {
		return nil, err
	}
	return e.AnalyzePicture(ctx, p, features)
}

// AnalyzePicture runs the requested features on a decoded picture and
// returns the hardened Result.
//
// Tags (CenterNet, the largest model) run on a second goroutine while the
// other features run on the caller's: the models do not depend on each
// other, and two single-threaded sessions side by side use two cores
// better than one two-threaded session after another (docs/perf.md,
// "Session 9").
func (e *Engine) AnalyzePicture(ctx context.Context, p *picture.Picture, features []string) (*Result, error) {
	res := &Result{Width: p.Width, Height: p.Height}
	var tags []Tag
	lane := beside(slices.Contains(features, Tags), func() (err error) {
		objs, err := e.objs.Detect(ctx, p)
		if err == nil {
			tags = HardenTags(centernet.Tags(objs))
		}
		return err
	})
	err := e.rest(ctx, p, features, res)
	if err = errors.Join(err, lane()); err != nil {
		return nil, err
	}
	if slices.Contains(features, Tags) {
		res.Tags = tags
	}
	return res, nil
}

// rest runs the features other than tags, one after another, into res.
func (e *Engine) rest(ctx context.Context, p *picture.Picture, features []string, res *Result) error {
	if slices.Contains(features, Faces) {
		fs, err := e.faces.Detect(ctx, p)
		if err != nil {
			return err
		}
		res.Faces = []Face{}
		for _, f := range fs {
			res.Faces = append(res.Faces, HardenFace(f))
		}
	}
	if slices.Contains(features, Sensitive) {
		r, err := e.nsfw.Classify(ctx, p)
		if err != nil {
			return err
		}
		res.Sensitive = HardenRating(r)
	}
	if slices.Contains(features, Text) {
		lines, err := e.ReadText(ctx, p)
		if err != nil {
			return err
		}
		res.Text = lines
	}
	return nil
}

// beside runs f on its own goroutine when on is set and returns a wait
// for its error (a no-op wait when not).
func beside(on bool, f func() error) (wait func() error) {
	if !on {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil { // a model panic fails the request, as on the caller's goroutine
				done <- fmt.Errorf("panic: %v", r)
			}
		}()
		done <- f()
	}()
	return func() error { return <-done }
}

// ReadText finds lines of text with PP-OCR and reads each with Tesseract,
// keeping lines read with at least MinTextScore confidence.
func (e *Engine) ReadText(ctx context.Context, p *picture.Picture) ([]TextLine, error) {
	ls, err := e.lines.Detect(ctx, p)
	if err != nil {
		return nil, err
	}
	out := []TextLine{}
	for _, l := range ls {
		t, err := e.tess.ReadLine(ctx, p, l.Box)
		if err != nil {
			return nil, err
		}
		if t.Text == "" || t.Score < MinTextScore {
			continue
		}
		out = append(out, HardenText(t.Text, l.Box, t.Score))
	}
	return out, nil
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Embedding is a detected face with its identity embedding (biometric:
// never logged, never returned by the API).
type Embedding struct {
	Face   blazeface.Face
	Vector []float32
}

// Embeddings detects faces and computes each one's embedding: the faces
// are split between the caller's goroutine and a second one (the
// embedder's session is shared by concurrent callers).
func (e *Engine) Embeddings(ctx context.Context, p *picture.Picture) ([]Embedding, error) {
	fs, err := e.faces.Detect(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Embedding, len(fs))
	embed := func(from int) error {
		for i := from; i < len(fs); i += 2 {
			v, err := e.ident.Embed(ctx, p, fs[i])
			if err != nil {
				return err
			}
			out[i] = Embedding{Face: fs[i], Vector: v}
		}
		return nil
	}
	lane := beside(len(fs) > 1, func() error { return embed(1) })
	if err = errors.Join(embed(0), lane()); err != nil {
		return nil, err
	}
	return out, nil
}

// Largest is the embedding of the largest face in an image.
func (e *Engine) Largest(ctx context.Context, data []byte) ([]float32, error) {
	p, err := e.Decode(data)
	if err != nil {
		return nil, err
	}
	fs, err := e.faces.Detect(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return nil, ErrNoFace
	}
	big := fs[0]
	for _, f := range fs[1:] {
		if f.Box.Area() > big.Box.Area() {
			big = f
		}
	}
	return e.ident.Embed(ctx, p, big)
}

// Match is a face comparison. Decision is three-way (arcface.Decide):
// Match is true only for "match"; "unsure" (Similarity from
// UnsureThreshold up to Threshold) is not a match.
type Match struct {
	Similarity      float64          `json:"similarity"`
	Threshold       float64          `json:"threshold"`
	UnsureThreshold float64          `json:"unsure_threshold"`
	Decision        arcface.Decision `json:"decision"`
	Match           bool             `json:"match"`
}

// Similarity is the cosine similarity of two unit embeddings.
func Similarity(a, b []float32) float64 {
	var s float64
	for i := range min(len(a), len(b)) {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// Compare compares two embeddings against the calibrated compare
// thresholds (arcface.Decide, docs/faces.md).
func Compare(a, b []float32) Match {
	s := Similarity(a, b)
	d := arcface.Decide(s)
	return Match{Similarity: round2(s), Threshold: arcface.CompareThreshold, UnsureThreshold: arcface.UnsureThreshold, Decision: d, Match: d == arcface.Match}
}
