package guardeval

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard/squeeze"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// TestCalibrateSqueeze fits the adversarial-input guard's models: every
// face of every photo under $OBSCURA_GUARD_CALIB and of its degraded
// variants (calibrationVariants) is squeezed through the guard's probe
// (FaceRes), each scored squeezer's model is fitted (squeeze.FitModel)
// and the models, the highest natural scores and the 99.5th percentile
// are logged (go test -v). With $OBSCURA_GUARD_CALIB_OUT it also writes
// the raw shifts (CSV: file, variant, side, shifts in model order), which
// a refit can read back from $OBSCURA_GUARD_CALIB_IN instead of running
// the models. It is the measurement DefaultSqueezeModels and
// DefaultSqueezeThreshold were set from; skipped unless a folder or CSV is
// given.
func TestCalibrateSqueeze(t *testing.T) {
	dir, in := os.Getenv("OBSCURA_GUARD_CALIB"), os.Getenv("OBSCURA_GUARD_CALIB_IN")
	if dir == "" && in == "" {
		t.Skip("OBSCURA_GUARD_CALIB not set")
	}
	ks := make([]squeeze.Squeezer, len(squeeze.DefaultModels))
	for i, m := range squeeze.DefaultModels {
		ks[i] = m.Squeezer
	}
	var sides []int
	var shifts [][]float64
	if in != "" {
		sides, shifts = readShifts(t, in, len(ks))
	} else {
		sides, shifts = measureShifts(t, dir, ks)
	}
	s := squeeze.New()
	s.Models = slices.Clone(s.Models) // refitted below; the shipped models stay
	for i, k := range ks {
		col := make([]float64, len(shifts))
		for j := range shifts {
			col[j] = shifts[j][i]
		}
		m, err := squeeze.FitModel(k, sides, col)
		if err != nil {
			t.Fatal(err)
		}
		s.Models[i] = m
		t.Logf("{%v, %.2f, %.2f, %.2f},", k, m.A, m.B, m.Sigma)
	}
	scores := make([]float64, len(shifts))
	shipped := squeeze.New()
	flagged := 0
	for j := range shifts {
		scores[j] = s.Score(shifts[j], sides[j])
		if shipped.Score(shifts[j], sides[j]) > shipped.Threshold {
			flagged++
		}
	}
	t.Logf("%d natural faces of %d–%d px, refit: score 99th %.2f, 99.5th %.2f, 99.9th %.2f, highest %.2f; shipped models flag %d at %.2f",
		len(scores), slices.Min(sides), slices.Max(sides), squeeze.Quantile(scores, 0.99), squeeze.Quantile(scores, 0.995), squeeze.Quantile(scores, 0.999),
		squeeze.Quantile(scores, 1), flagged, shipped.Threshold)
}

// measureShifts runs the probe over every face of every photo under dir
// and its variants.
func measureShifts(t *testing.T, dir string, ks []squeeze.Squeezer) ([]int, [][]float64) {
	m := loadModels(t)
	ctx := context.Background()
	var w *bufio.Writer
	if out := os.Getenv("OBSCURA_GUARD_CALIB_OUT"); out != "" {
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w = bufio.NewWriter(f)
		defer w.Flush()
	}
	files := photoFiles(dir)
	var sides []int
	var shifts [][]float64
	eachVariantFace(t, ctx, m, files, nil, func(path, variant string, p *picture.Picture, f blazeface.Face) {
		probe := m.fr.Probe(p, f)
		sh, err := squeeze.Shifts(ctx, probe, nil, ks)
		if err != nil {
			t.Fatal(err)
		}
		r := probe.Region()
		side := max(r.Dx(), r.Dy())
		sides, shifts = append(sides, side), append(shifts, sh)
		if w != nil {
			fmt.Fprintf(w, "%s,%s,%d", filepath.Base(path), variant, side)
			for _, x := range sh {
				fmt.Fprintf(w, ",%.5f", x)
			}
			fmt.Fprintln(w)
		}
	})
	return sides, shifts
}

// eachVariantFace calls fn for every face the detector finds in every
// calibration variant (calibrationVariants) of every photo in files, except
// the photos skip reports (nil: none).
func eachVariantFace(t *testing.T, ctx context.Context, m models, files []string, skip func(path string) bool, fn func(path, variant string, p *picture.Picture, f blazeface.Face)) {
	for i, path := range files {
		if skip != nil && skip(path) {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		src, _, err := image.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		vs, err := calibrationVariants(src, raw, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			p, err := picture.Decode(v.Data, picture.DefaultOptions)
			if err != nil {
				t.Fatal(err)
			}
			faces, err := m.det.Detect(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range faces {
				fn(path, v.Name, p, f)
			}
		}
	}
}

// readShifts reads measureShifts's CSV back.
func readShifts(t *testing.T, path string, n int) ([]int, [][]float64) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sides, shifts, err := squeeze.ReadShifts(f, n)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return sides, shifts
}

// photoFiles lists the JPEG and PNG files under dir.
func photoFiles(dir string) []string {
	var files []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".jpg") || strings.HasSuffix(path, ".png")) {
			files = append(files, path)
		}
		return nil
	})
	return files
}
