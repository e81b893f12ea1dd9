package pipeline

import (
	"context"
	"errors"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// world records every step of a run, in order, and plays the store, the
// gate, the guard and the audit log (test doubles).
type world struct {
	steps   []string
	revoked map[string]bool
	deleted bool
	stored  map[string]bool // purpose → stored and not taken back
}

func (w *world) log(s string) { w.steps = append(w.steps, s) }

func (w *world) Asset(_ context.Context, tenant, id string) (store.Asset, error) {
	w.log("asset")
	if w.deleted || tenant != "ten_a" {
		return store.Asset{}, fault.New(fault.NotFound, "asset not found")
	}
	return store.Asset{ID: id, TenantID: tenant, SubjectHash: "h"}, nil
}

func (w *world) ReadAll(_ context.Context, ref sealed.Ref, _ int64) ([]byte, error) {
	w.log("decrypt")
	return []byte("photo"), nil
}

func (w *world) Require(_ context.Context, _, _, purpose string) error {
	w.log("consent:" + purpose)
	if w.revoked[purpose] {
		return fault.New(fault.ConsentRequired, "consent required for "+purpose)
	}
	return nil
}

func (w *world) Decode([]byte) (*picture.Picture, error) {
	w.log("decode")
	return &picture.Picture{RGB: image.NewRGBA(image.Rect(0, 0, 2, 2)), Width: 2, Height: 2, Scale: 1}, nil
}

func (w *world) Release(*picture.Picture) { w.log("release") }

func (w *world) Check(_, _ string) error { w.log("guard.check"); return nil }

func (w *world) Observe(_ context.Context, _, _ string, _ []float32, class string) string {
	w.log("guard.observe:" + class)
	return ""
}

func (w *world) Append(_ context.Context, e audit.Entry) error {
	w.log("audit:" + e.Action + ":" + e.Purpose)
	return nil
}

// gen is a generator over two purposes and two faces; during inference
// it runs the race under test.
type gen struct {
	w        *world
	purposes []string
	race     func()
}

func (g *gen) Purposes() []string { return g.purposes }

func (g *gen) Infer(context.Context, store.Asset, *picture.Picture) (Output, error) {
	g.w.log("infer")
	if g.race != nil {
		g.race()
	}
	return &out{g: g, withheld: map[int]bool{}}, nil
}

type out struct {
	g        *gen
	withheld map[int]bool
}

func (o *out) Class() string { return "cls" }

func (o *out) Faces() []Face {
	return []Face{{Face: blazeface.Face{Box: geom.Rect{X: 1}}}, {Face: blazeface.Face{Box: geom.Rect{X: 2}}}}
}

func (o *out) Withhold(i int) { o.withheld[i] = true; o.g.w.log("withhold") }

func (o *out) Store(_ context.Context, _ store.Asset, _ time.Time) ([]Stored, error) {
	w := o.g.w
	var st []Stored
	for _, p := range o.g.purposes {
		w.log("store:" + p)
		w.stored[p] = true
		st = append(st, Stored{Purpose: p,
			Undo:   func(context.Context) error { w.log("undo:" + p); delete(w.stored, p); return nil },
			Commit: func(context.Context) error { w.log("commit:" + p); return nil }})
	}
	return st, nil
}

func (o *out) Audit(store.Asset) []audit.Entry {
	var es []audit.Entry
	for _, p := range o.g.purposes {
		es = append(es, audit.Entry{Action: "gen.run", Purpose: p})
	}
	return es
}

func newWorld() (*world, *Runner) {
	w := &world{revoked: map[string]bool{}, stored: map[string]bool{}}
	r := New(Deps{Decoder: w, Assets: w, Photos: w, Consent: w, Audit: w, Clock: clock.NewFake(time.Unix(0, 0)), Guard: w,
		Thumbnail: func(*image.RGBA) []float32 { return nil },
		Screen: func(_ context.Context, _ *picture.Picture, f blazeface.Face, _ []float32) (bool, float64, error) {
			w.log("screen")
			return f.Box.X == 2, 0.5, nil
		},
		OnSuspicious: func(context.Context, string, string, float64) { w.log("alert") }})
	return w, r
}

// TestRunOrder: the consented run's sequence, written once. Consent for
// every purpose is checked before any pixel is decrypted, again after
// storing, and the run is audited last; a suspicious face is withheld and
// alerted, not refused.
func TestRunOrder(t *testing.T) {
	w, r := newWorld()
	g := &gen{w: w, purposes: []string{"tagging", "text_detection"}}
	if _, err := r.Run(context.Background(), Request{Tenant: "ten_a", Key: "key_1", AssetID: "ast_1"}, g); err != nil {
		t.Fatal(err)
	}
	want := []string{"guard.check", "asset", "consent:tagging", "consent:text_detection", "decrypt", "decode", "infer",
		"guard.observe:cls", "screen", "screen", "withhold", "alert", "release", "store:tagging", "store:text_detection",
		"consent:tagging", "consent:text_detection", "asset", "commit:tagging", "commit:text_detection",
		"audit:gen.run:tagging", "audit:gen.run:text_detection"}
	if !slices.Equal(w.steps, want) {
		t.Errorf("steps\n got %s\nwant %s", strings.Join(w.steps, " "), strings.Join(want, " "))
	}
	// Queued: watched, not checked; no key: neither.
	w.steps = nil
	if _, err := r.Run(context.Background(), Request{Tenant: "ten_a", Key: "key_1", AssetID: "ast_1", Queued: true}, g); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(w.steps, "guard.check") || !slices.Contains(w.steps, "guard.observe:cls") {
		t.Errorf("queued run: %v", w.steps)
	}
	w.steps = nil
	if _, err := r.Run(context.Background(), Request{Tenant: "ten_a", AssetID: "ast_1"}, g); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(w.steps, "guard.check") || slices.Contains(w.steps, "guard.observe:cls") {
		t.Errorf("operator run touched the guard: %v", w.steps)
	}
}

// TestRunRefusals: a refusal before the photo is decrypted leaves nothing
// decrypted, stored or audited.
func TestRunRefusals(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		set  func(*world)
		want error
	}{
		{"no consent", Request{Tenant: "ten_a", AssetID: "ast_1"}, func(w *world) { w.revoked["text_detection"] = true }, fault.ConsentRequired},
		{"no photo", Request{Tenant: "ten_a", AssetID: "ast_1"}, func(w *world) { w.deleted = true }, fault.NotFound},
		{"other tenant", Request{Tenant: "ten_b", AssetID: "ast_1"}, func(*world) {}, fault.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, r := newWorld()
			tc.set(w)
			_, err := r.Run(context.Background(), tc.req, &gen{w: w, purposes: []string{"tagging", "text_detection"}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Run = %v, want %v", err, tc.want)
			}
			for _, s := range w.steps {
				if s == "decrypt" || strings.HasPrefix(s, "store:") || strings.HasPrefix(s, "audit:") {
					t.Errorf("step %q ran after a refusal", s)
				}
			}
		})
	}
}

// TestRunRaces: consent revoked, or the photo deleted, while the models
// run. The purge ran before this run stored anything, so the run takes
// back what it stored under the refused purpose — and only that (issue
// 16 finding 9): the other purpose's new result is committed. A deleted
// photo takes everything back. Nothing is audited as done.
func TestRunRaces(t *testing.T) {
	tests := []struct {
		name      string
		race      func(*world)
		want      error
		undone    []string
		committed []string
	}{
		{"revoke one purpose", func(w *world) { w.revoked["tagging"] = true }, fault.ConsentRequired, []string{"tagging"}, []string{"text_detection"}},
		{"revoke both", func(w *world) { w.revoked["tagging"], w.revoked["text_detection"] = true, true }, fault.ConsentRequired,
			[]string{"tagging", "text_detection"}, nil},
		{"delete photo", func(w *world) { w.deleted = true }, fault.NotFound, []string{"tagging", "text_detection"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, r := newWorld()
			g := &gen{w: w, purposes: []string{"tagging", "text_detection"}, race: func() { tc.race(w) }}
			if _, err := r.Run(context.Background(), Request{Tenant: "ten_a", AssetID: "ast_1"}, g); !errors.Is(err, tc.want) {
				t.Fatalf("Run = %v, want %v", err, tc.want)
			}
			for _, p := range tc.undone {
				if !slices.Contains(w.steps, "undo:"+p) || w.stored[p] {
					t.Errorf("%s not taken back: %v", p, w.steps)
				}
			}
			for _, p := range tc.committed {
				if slices.Contains(w.steps, "undo:"+p) || !slices.Contains(w.steps, "commit:"+p) || !w.stored[p] {
					t.Errorf("%s (consent intact) was taken back: %v", p, w.steps)
				}
			}
			for _, s := range w.steps {
				if strings.HasPrefix(s, "audit:") {
					t.Errorf("a refused run was audited as done: %v", w.steps)
				}
			}
		})
	}
}

// TestAdmit: the queued path's admission check.
func TestAdmit(t *testing.T) {
	w, r := newWorld()
	if err := r.Admit(context.Background(), Request{Tenant: "ten_a", Key: "key_1", AssetID: "ast_1"}, []string{"tagging"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"guard.check", "asset", "consent:tagging"}
	if !slices.Equal(w.steps, want) {
		t.Errorf("steps %v, want %v", w.steps, want)
	}
	w.revoked["tagging"] = true
	if err := r.Admit(context.Background(), Request{Tenant: "ten_a", AssetID: "ast_1"}, []string{"tagging"}); !errors.Is(err, fault.ConsentRequired) {
		t.Errorf("Admit = %v", err)
	}
}

// failing is a generator whose inference fails.
type failing struct{ w *world }

func (failing) Purposes() []string { return []string{"tagging"} }

func (f failing) Infer(context.Context, store.Asset, *picture.Picture) (Output, error) {
	f.w.log("infer")
	return nil, errors.New("model failed")
}

// TestRunReleasesPicture: a decoder that keeps what it decoded (the
// sandbox pool) is told once that the run is done with the picture, also
// when inference fails.
func TestRunReleasesPicture(t *testing.T) {
	w, r := newWorld()
	if _, err := r.Run(context.Background(), Request{Tenant: "ten_a", AssetID: "ast_1"}, failing{w}); err == nil {
		t.Fatal("Run succeeded with a failing generator")
	}
	want := []string{"asset", "consent:tagging", "decrypt", "decode", "infer", "release"}
	if !slices.Equal(w.steps, want) {
		t.Errorf("steps\n got %s\nwant %s", strings.Join(w.steps, " "), strings.Join(want, " "))
	}
}
