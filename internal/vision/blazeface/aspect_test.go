package blazeface

import (
	"context"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// TestBoxAspect is the regression test for the stretched detector input
// (issue 15): boxes used to have the photo's aspect ratio (1.5 on the 3:2
// sample photos). BlazeFace's boxes are square in its input frame, so with
// a letterboxed input they are square in the photo too.
func TestBoxAspect(t *testing.T) {
	d := detector(t)
	names, _ := visiontest.Faces(t)
	for _, name := range names {
		p := visiontest.Picture(t, name)
		got, err := d.Detect(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			a := f.Box.W / f.Box.H
			t.Logf("%s (%d×%d, aspect %.2f): box %.0f×%.0f, w/h %.2f", name, p.Width, p.Height, float64(p.Width)/float64(p.Height), f.Box.W, f.Box.H, a)
			if a < 0.9 || a > 1.1 {
				t.Errorf("%s: face box %+v has w/h %.2f, want square (0.9–1.1)", name, f.Box.Round(), a)
			}
		}
	}
}
