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
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// TestCalibrateSqueeze writes the squeeze score of every face of every
// photo under $OBSCURA_GUARD_CALIB and of its degraded variants (Variants
// and Harsher) to $OBSCURA_GUARD_CALIB_OUT (CSV: file, variant, probe,
// region side, score), through both face probes (arcface, the guard's,
// and faceres, its earlier one). It is the measurement the threshold
// schedule was set from; skipped unless the folder is given.
func TestCalibrateSqueeze(t *testing.T) {
	dir := os.Getenv("OBSCURA_GUARD_CALIB")
	if dir == "" {
		t.Skip("OBSCURA_GUARD_CALIB not set")
	}
	m := loadModels(t)
	s := guard.NewFaceSqueezer()
	f, err := os.Create(os.Getenv("OBSCURA_GUARD_CALIB_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	var files []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".jpg") || strings.HasSuffix(path, ".png")) {
			files = append(files, path)
		}
		return nil
	})
	ctx := context.Background()
	for i, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		src, _, err := image.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		vs, err := Variants(src, []int{240, 320, 480, 640, 960})
		if err != nil {
			t.Fatal(err)
		}
		more, err := Harsher(src, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, more...)
		if src.Bounds().Dx() <= 300 {
			// Small photos (LFW's 250 px): smaller still.
			for _, fct := range []float64{0.5, 0.7} {
				more, err := Variants(Scale(src, fct), nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range more[:1] {
					v.Name = fmt.Sprintf("x%.1f", fct)
					vs = append(vs, v)
				}
			}
		}
		vs = append(vs, Variant{Name: "orig", Data: raw})
		for _, v := range vs {
			p, err := picture.Decode(v.Data, picture.DefaultOptions)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := m.det.Detect(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, fc := range fs {
				for _, pr := range []struct {
					name  string
					probe guard.FaceProbe
				}{{"arcface", m.arc.Probe(p, fc)}, {"faceres", m.fr.Probe(p, fc)}} {
					vd, err := s.Check(ctx, pr.probe, nil)
					if err != nil {
						t.Fatal(err)
					}
					fmt.Fprintf(w, "%s,%s,%s,%d,%.5f\n", filepath.Base(path), v.Name, pr.name, vd.Side, vd.Score)
				}
			}
		}
		w.Flush()
	}
}
