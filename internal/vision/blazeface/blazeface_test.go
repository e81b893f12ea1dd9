package blazeface

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

func detector(t testing.TB) *Detector { return visiontest.Open(t, ModelFile, New) }

// TestGolden compares the converted model with BlazeFace in TF.js on the
// same input tensors. Tolerance 1e-3 on logits and regressors (pixel
// units of a 256-pixel input), far below what moves a box.
func TestGolden(t *testing.T) {
	d := detector(t)
	for _, name := range []string{"sample1.jpg", "sample5.jpg"} {
		in := Input(visiontest.Picture(t, name))
		outs, err := d.Raw(in)
		if err != nil {
			t.Fatal(err)
		}
		visiontest.Compare(t, filepath.Join("testdata", "golden-"+name+".json"), in, []int64{1, Size, Size, 3},
			[]string{"scores16", "regressors16", "scores8", "regressors8"}, outs,
			visiontest.Reference{
				Args:  []string{"graph", visiontest.Path(t, "blazeface-back.json")},
				Nodes: []string{"Identity", "Identity_2", "Identity_1", "Identity_3"},
			}, 1e-3)
	}
}

// TestSamples checks detection against the hand-checked annotations: every
// annotated face is found (box overlap IoU ≥ 0.5) and nothing else is.
func TestSamples(t *testing.T) {
	d := detector(t)
	names, faces := visiontest.Faces(t)
	found, want, extra := 0, 0, 0
	for _, name := range names {
		got, err := d.Detect(context.Background(), visiontest.Picture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		used := make([]bool, len(got))
		for _, a := range faces[name] {
			want++
			for i, g := range got {
				if !used[i] && g.Box.IoU(a.Box) >= 0.5 {
					used[i] = true
					found++
					break
				}
			}
		}
		for i, u := range used {
			if !u {
				extra++
				t.Errorf("%s: false positive %+v (score %.2f)", name, got[i].Box.Round(), got[i].Score)
			}
		}
		for _, g := range got {
			for _, k := range g.Keypoints[:4] {
				if k.X < g.Box.X || k.X > g.Box.X+g.Box.W || k.Y < g.Box.Y || k.Y > g.Box.Y+g.Box.H {
					t.Errorf("%s: keypoint %+v outside its face box %+v", name, k, g.Box)
				}
			}
		}
	}
	t.Logf("found %d of %d annotated faces, %d false positives", found, want, extra)
	if found != want || want != 22 {
		t.Errorf("found %d of %d annotated faces (annotation lists 22)", found, want)
	}
}

func TestDetectHonoursContext(t *testing.T) {
	d := detector(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Detect(ctx, visiontest.Picture(t, "sample1.jpg")); err == nil {
		t.Fatal("cancelled context did not stop detection")
	}
}

func BenchmarkDetect(b *testing.B) {
	d := detector(b)
	p := visiontest.Picture(b, "sample1.jpg")
	in := Input(p)
	b.Run("bare-session", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.Raw(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("obscura", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.Detect(context.Background(), p); err != nil {
				b.Fatal(err)
			}
		}
	})
	_ = fmt.Sprint
}
