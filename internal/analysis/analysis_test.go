package analysis

import (
	"context"
	"errors"
	"image"
	"testing"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

func TestCheckFeatures(t *testing.T) {
	tests := []struct {
		fs []string
		ok bool
	}{
		{[]string{"faces"}, true},
		{[]string{"faces", "tags", "sensitive", "text"}, true},
		{nil, false},
		{[]string{"age"}, false},
		{[]string{"emotion", "faces"}, false},
		{[]string{"tags", "tags"}, false},
		{[]string{"faces", "tags", "sensitive", "text", "faces"}, false},
	}
	for _, tc := range tests {
		err := CheckFeatures(tc.fs)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, fault.Invalid)) {
			t.Errorf("CheckFeatures(%v) = %v", tc.fs, err)
		}
	}
}

// TestHarden: the API's view carries exactly the requested features,
// each present (possibly empty); the hardening itself is the engine's
// (vision.TestHarden).
func TestHarden(t *testing.T) {
	raw := &vision.Result{Width: 100, Height: 80,
		Faces:     []vision.Face{{Box: geom.Rect{X: 1, Y: 3, W: 11, H: 9}, Score: 0.88}},
		Tags:      []vision.Tag{{Label: "person", Score: 0.91}},
		Sensitive: &vision.Rating{Label: "safe", Scores: map[string]float64{"neutral": 0.99}},
		Text:      []vision.TextLine{{Text: "hi there", Box: geom.Rect{X: 0, Y: 1, W: 3, H: 1}, Score: 0.91}},
	}
	out := Harden("ast_1", raw, []string{"faces", "tags", "sensitive", "text"})
	if out.AssetID != "ast_1" || out.Width != 100 || len(out.Faces) != 1 || len(out.Tags) != 1 || out.Sensitive == nil || len(out.Text) != 1 {
		t.Errorf("all features: %+v", out)
	}
	// Only what was asked for.
	only := Harden("ast_1", raw, []string{"tags"})
	if only.Faces != nil || only.Sensitive != nil || only.Text != nil || only.Tags == nil {
		t.Errorf("tags-only result carries other features: %+v", only)
	}
	// Requested but nothing found: present and empty.
	empty := Harden("ast_1", &vision.Result{}, []string{"faces", "text"})
	if empty.Faces == nil || len(empty.Faces) != 0 || empty.Text == nil {
		t.Errorf("empty features should be present and empty: %+v", empty)
	}
}

// stubEngine stands in for the vision engine in unit tests.
type stubEngine struct{ onRun func() }

func (e stubEngine) Decode(data []byte) (*picture.Picture, error) {
	return &picture.Picture{RGB: image.NewRGBA(image.Rect(0, 0, 2, 2)), Width: 2, Height: 2, Scale: 1}, nil
}

func (e stubEngine) AnalyzePicture(ctx context.Context, p *picture.Picture, features []string) (*vision.Result, error) {
	if e.onRun != nil {
		e.onRun()
	}
	return &vision.Result{Width: 2, Height: 2, Tags: []vision.Tag{{Label: "dog", Score: 0.9}}}, nil
}

// flipGate grants until revoked.
type flipGate struct{ revoked bool }

func (g *flipGate) Require(ctx context.Context, tenant, subjectHash, purpose string) error {
	if g.revoked {
		return fault.New(fault.ConsentRequired, "revoked")
	}
	return nil
}

// withPhoto is a kit with tenant ten_a holding photo ast_1 of subject "h".
func withPhoto(t *testing.T) *testkit.Kit {
	t.Helper()
	k := testkit.New(t, nil)
	k.Tenant(t, "ten_a")
	k.Photo(t, "ten_a", "h", "ast_1", "jpg")
	return k
}

// TestRevocationDuringAnalysis: consent revoked (and purged) while the
// model runs must not leave a result stored after the purge.
func TestRevocationDuringAnalysis(t *testing.T) {
	k := withPhoto(t)
	ctx := context.Background()
	g := &flipGate{}
	s := New(Deps{Engine: stubEngine{onRun: func() { g.revoked = true }}, Assets: k.Store, Objects: k.Objects, Consent: g,
		Results: k.Store, Hash: k.Keys, Clock: k.Clock, Log: k.Log})
	if _, err := s.Analyze(ctx, "ten_a", "ast_1", []string{"tags"}); !errors.Is(err, fault.ConsentRequired) {
		t.Fatalf("Analyze = %v, want ConsentRequired", err)
	}
	if recs, _ := k.Store.Results(ctx, "ten_a", "ast_1"); len(recs) != 0 {
		t.Errorf("%d results stored despite revocation", len(recs))
	}
	n := 0
	k.Blobs.List(ctx, "t/ten_a/s/h/tagging/", func(string) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d result objects left under tagging", n)
	}
	// Granted throughout: stored.
	g.revoked = false
	s.eng = stubEngine{}
	if _, err := s.Analyze(ctx, "ten_a", "ast_1", []string{"tags"}); err != nil {
		t.Fatal(err)
	}
	if recs, _ := k.Store.Results(ctx, "ten_a", "ast_1"); len(recs) != 1 {
		t.Errorf("%d results stored", len(recs))
	}
}

// TestPhotoDeletedDuringAnalysis: a photo deleted while the model runs
// must not leave a result of it behind.
func TestPhotoDeletedDuringAnalysis(t *testing.T) {
	k := withPhoto(t)
	ctx := context.Background()
	s := New(Deps{Engine: stubEngine{onRun: func() {
		if err := k.Store.DeleteAsset(ctx, "ten_a", "ast_1"); err != nil {
			t.Error(err)
		}
	}}, Assets: k.Store, Objects: k.Objects, Consent: &flipGate{}, Results: k.Store, Hash: k.Keys, Clock: k.Clock, Log: k.Log})
	if _, err := s.Analyze(ctx, "ten_a", "ast_1", []string{"tags"}); !errors.Is(err, fault.NotFound) {
		t.Fatalf("Analyze = %v, want NotFound", err)
	}
	if recs, _ := k.Store.Results(ctx, "ten_a", "ast_1"); len(recs) != 0 {
		t.Errorf("%d results stored for a deleted photo", len(recs))
	}
	n := 0
	k.Blobs.List(ctx, "t/ten_a/s/h/tagging/", func(string) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d result objects left under tagging", n)
	}
}

// purposeGate refuses the purposes in revoked.
type purposeGate struct{ revoked map[string]bool }

func (g *purposeGate) Require(ctx context.Context, tenant, subjectHash, purpose string) error {
	if g.revoked[purpose] {
		return fault.New(fault.ConsentRequired, "revoked")
	}
	return nil
}

// TestRevocationRacingMultiFeatureAnalysis is issue 16 finding 9: a
// revocation of one purpose racing an analysis of several features takes
// back only what that run stored under the revoked purpose; the other
// features' results stay (before the fix the run deleted all it stored,
// and the earlier results it had replaced were gone with them).
func TestRevocationRacingMultiFeatureAnalysis(t *testing.T) {
	k := withPhoto(t)
	ctx := context.Background()
	g := &purposeGate{revoked: map[string]bool{}}
	s := New(Deps{Engine: stubEngine{}, Assets: k.Store, Objects: k.Objects, Consent: g, Results: k.Store, Hash: k.Keys, Clock: k.Clock, Log: k.Log})
	if _, err := s.Analyze(ctx, "ten_a", "ast_1", []string{"tags", "text"}); err != nil {
		t.Fatal(err)
	}
	s.eng = stubEngine{onRun: func() { g.revoked["tagging"] = true }}
	if _, err := s.Analyze(ctx, "ten_a", "ast_1", []string{"tags", "text"}); !errors.Is(err, fault.ConsentRequired) {
		t.Fatalf("Analyze = %v, want ConsentRequired", err)
	}
	recs, _ := k.Store.Results(ctx, "ten_a", "ast_1")
	byFeature := map[string]int{}
	for _, r := range recs {
		byFeature[r.Feature]++
	}
	if byFeature["text"] != 1 {
		t.Errorf("text results = %d, want 1: the revocation of tagging took text_detection's result", byFeature["text"])
	}
	if byFeature["tags"] != 0 {
		t.Errorf("tags results = %d, want 0 after tagging was revoked during the run", byFeature["tags"])
	}
	stored, err := s.Stored(ctx, "ten_a", "ast_1")
	if err != nil || stored["text"] == nil {
		t.Errorf("the kept text result does not open: %v %v", stored, err)
	}
	n := 0
	k.Blobs.List(ctx, "t/ten_a/s/h/text_detection/", func(string) error { n++; return nil })
	if n != 1 {
		t.Errorf("%d sealed text results, want exactly 1 (the replaced one deleted)", n)
	}
	n = 0
	k.Blobs.List(ctx, "t/ten_a/s/h/tagging/", func(string) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d sealed tag results left under the revoked purpose", n)
	}
}
