package centernet

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

func detector(t testing.TB) *Detector { return visiontest.Open(t, ModelFile, New) }

// TestGolden compares the converted heads with CenterNet on TF.js on the
// same input tensor. Tolerance 1e-3 (scaled).
func TestGolden(t *testing.T) {
	d := detector(t)
	in := Input(visiontest.Picture(t, "sample3.jpg"))
	outs, err := d.Raw(in)
	if err != nil {
		t.Fatal(err)
	}
	visiontest.Compare(t, filepath.Join("testdata", "golden-sample3.jpg.json"), in, []int64{1, Size, Size, 3},
		[]string{"heatmap", "wh"}, outs,
		visiontest.Reference{Args: []string{"graph", visiontest.Path(t, "centernet.json")}, Nodes: []string{"tower_0/keypoints", "tower_0/mul"}}, 1e-3)
}

// TestSamples: every sample photo is of people, so each gets the "person"
// tag, and at least 75% of the annotated faces lie inside a person box (measured: 18
// of 22; people pressed together merge into fewer boxes).
// Objects that are visibly there (a wine glass in sample1, a phone in
// sample2) are logged, not asserted.
func TestSamples(t *testing.T) {
	d := detector(t)
	names, faces := visiontest.Faces(t)
	inside, total := 0, 0
	for _, name := range names {
		objs, err := d.Detect(context.Background(), visiontest.Picture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		tags := Tags(objs)
		t.Logf("%s: %v", name, tags)
		hasPerson := false
		for _, tg := range tags {
			hasPerson = hasPerson || tg.Label == "person"
		}
		if !hasPerson {
			t.Errorf("%s: tags %v lack person", name, tags)
		}
		for _, f := range faces[name] {
			cx, cy := f.Box.X+f.Box.W/2, f.Box.Y+f.Box.H/2
			in := false
			for _, o := range objs {
				if o.Label == "person" && cx >= o.Box.X && cx <= o.Box.X+o.Box.W && cy >= o.Box.Y && cy <= o.Box.Y+o.Box.H {
					in = true
				}
			}
			total++
			if in {
				inside++
			}
		}
	}
	t.Logf("%d of %d faces inside a person box", inside, total)
	if inside*4 < total*3 {
		t.Errorf("only %d of %d faces inside a person box", inside, total)
	}
}
