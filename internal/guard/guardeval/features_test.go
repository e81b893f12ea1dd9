package guardeval

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard/squeeze"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// featureRow writes one face's per-squeezer shifts through both probes:
// set, file, variant, side (FaceRes region), side (ArcFace region), then
// the FaceRes shifts and the ArcFace shifts in squeeze.AllSqueezers order.
func featureRow(t testing.TB, w *bufio.Writer, m models, set, file, variant string, p *picture.Picture, f blazeface.Face) {
	ctx := context.Background()
	fr, ar := m.fr.Probe(p, f), m.arc.Probe(p, f)
	a, err := squeeze.Shifts(ctx, fr, nil, squeeze.AllSqueezers)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]float64, len(a))
	if os.Getenv("OBSCURA_GUARD_FEATURES_FACERES_ONLY") == "" {
		if b, err = squeeze.Shifts(ctx, ar, nil, squeeze.AllSqueezers); err != nil {
			t.Fatal(err)
		}
	}
	sideOf := func(r image.Rectangle) int { return max(r.Dx(), r.Dy()) }
	fmt.Fprintf(w, "%s,%s,%s,%d,%d", set, file, variant, sideOf(fr.Region()), sideOf(ar.Region()))
	for _, v := range append(a, b...) {
		fmt.Fprintf(w, ",%.5f", v)
	}
	fmt.Fprintln(w)
	w.Flush()
}

// TestFeatures writes every squeezer's shift through both probes for
// every face of every photo under $OBSCURA_GUARD_FEATURES and of its
// degraded variants, to $OBSCURA_GUARD_FEATURES_OUT (CSV, featureRow).
// It is the two-probe measurement the session-7 choice of probe and
// squeezers was made from (docs/guards.md); its FaceRes columns (file,
// variant, side, then the shifts of median2…downup) are what
// TestCalibrateSqueeze refits from. Skipped unless the folder is given;
// OBSCURA_GUARD_FEATURES_FACERES_ONLY skips the ArcFace probe (zeros),
// OBSCURA_GUARD_FEATURES_SKIP lists file names already measured.
func TestFeatures(t *testing.T) {
	dir := os.Getenv("OBSCURA_GUARD_FEATURES")
	if dir == "" {
		t.Skip("OBSCURA_GUARD_FEATURES not set")
	}
	m := loadModels(t)
	out, err := os.Create(os.Getenv("OBSCURA_GUARD_FEATURES_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := bufio.NewWriter(out)
	defer w.Flush()
	files := photoFiles(dir)
	ctx := context.Background()
	skip := os.Getenv("OBSCURA_GUARD_FEATURES_SKIP")
	eachVariantFace(t, ctx, m, files, func(path string) bool {
		return skip != "" && strings.Contains(skip, filepath.Base(path))
	}, func(path, variant string, p *picture.Picture, f blazeface.Face) {
		featureRow(t, w, m, "benign", filepath.Base(path), variant, p, f)
	})
}

// calibrationVariants is a photo, its Variants (down to 240 px) and
// Harsher copies, and for small photos (LFW's 250 px) copies at 0.5 and
// 0.7×.
func calibrationVariants(src image.Image, raw []byte, seed uint64) ([]Variant, error) {
	vs, err := Variants(src, []int{240, 320, 480, 640, 960})
	if err != nil {
		return nil, err
	}
	more, err := Harsher(src, seed)
	if err != nil {
		return nil, err
	}
	vs = append(vs, more...)
	if src.Bounds().Dx() <= 300 {
		for _, fct := range []float64{0.5, 0.7} {
			more, err := Variants(Scale(src, fct), nil)
			if err != nil {
				return nil, err
			}
			v := more[0]
			v.Name = fmt.Sprintf("x%.1f", fct)
			vs = append(vs, v)
		}
	}
	return append(vs, Variant{Name: "orig", Data: raw}), nil
}
