package mediabench

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/nsfw"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// VisionRow is one vision benchmark: Obscura's path and the bare ONNX
// Runtime session on the same tensor, in milliseconds.
type VisionRow struct {
	Case     string  `json:"case"`
	OursMs   float64 `json:"ours_ms"`
	BareMs   float64 `json:"bare_ms"`
	Overhead float64 `json:"overhead"` // ours / bare − 1
}

// VisionEnv holds the models and a real 12 MP photo (a pinned sample
// photo with five faces, upscaled to 4000×2912 and saved as a q90 JPEG).
type VisionEnv struct {
	Eng   *vision.Engine
	det   *blazeface.Detector
	emb   *faceres.Embedder
	objs  *centernet.Detector
	nsfw  *nsfw.Classifier
	Photo []byte
	// dir and threads are where the models came from and their sessions'
	// thread count (for models a benchmark loads beside these).
	dir     string
	threads int
}

// NewVisionEnv loads the pinned models from dir with threads per session.
func NewVisionEnv(dir string, threads int) (*VisionEnv, error) {
	m := models.Pinned()
	eng, err := vision.Open(m, dir, vision.Options{Threads: threads})
	if err != nil {
		return nil, err
	}
	e := &VisionEnv{Eng: eng, dir: dir, threads: threads}
	load := func(name string) []byte {
		b, lerr := m.Load(dir, name)
		if lerr != nil && err == nil {
			err = lerr
		}
		return b
	}
	if e.det, err = blazeface.New(load(blazeface.ModelFile), threads); err != nil {
		return nil, err
	}
	if e.emb, err = faceres.New(load(faceres.ModelFile), threads); err != nil {
		return nil, err
	}
	if e.objs, err = centernet.New(load(centernet.ModelFile), threads); err != nil {
		return nil, err
	}
	if e.nsfw, err = nsfw.New(load(nsfw.ModelFile), threads); err != nil {
		return nil, err
	}
	sample := load("sample5.jpg")
	if err != nil {
		return nil, err
	}
	src, err := jpeg.Decode(bytes.NewReader(sample))
	if err != nil {
		return nil, err
	}
	big := image.NewRGBA(image.Rect(0, 0, 4000, 4000*src.Bounds().Dy()/src.Bounds().Dx()))
	xdraw.CatmullRom.Scale(big, big.Rect, src, src.Bounds(), xdraw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, big, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	e.Photo = buf.Bytes()
	return e, nil
}

// Close releases the sessions.
func (e *VisionEnv) Close() error {
	e.det.Close()
	e.emb.Close()
	e.objs.Close()
	e.nsfw.Close()
	return e.Eng.Close()
}

// VisionCase pairs Obscura's path with the bare session on the same tensor.
type VisionCase struct {
	Name string
	Ours func()
	Base func()
}

// Cases are the per-model benchmarks.
func (e *VisionEnv) Cases(ctx context.Context) ([]VisionCase, error) {
	p, err := picture.Decode(e.Photo, picture.DefaultOptions)
	if err != nil {
		return nil, err
	}
	faces, err := e.det.Detect(ctx, p)
	if err != nil || len(faces) == 0 {
		return nil, fmt.Errorf("bench photo: %d faces, %v", len(faces), err)
	}
	bfIn, crIn, cnIn, nsIn := blazeface.Input(p), faceres.Input(p, faces[0]), centernet.Input(p), nsfw.Input(p)
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	nFaces := len(faces)
	return []VisionCase{
		{Name: "blazeface", Ours: func() { _, err := e.det.Detect(ctx, p); must(err) }, Base: func() { _, err := e.det.Raw(bfIn); must(err) }},
		{Name: "faceres", Ours: func() { _, err := e.emb.Embed(ctx, p, faces[0]); must(err) }, Base: func() { _, err := e.emb.Raw(crIn); must(err) }},
		{Name: "centernet", Ours: func() { _, err := e.objs.Detect(ctx, p); must(err) }, Base: func() { _, err := e.objs.Raw(cnIn); must(err) }},
		{Name: "nsfwjs", Ours: func() { _, err := e.nsfw.Classify(ctx, p); must(err) }, Base: func() { _, err := e.nsfw.Raw(nsIn, 1); must(err) }},
		{Name: fmt.Sprintf("analyze 12MP (%d faces)", nFaces), Ours: func() {
			q, err := e.Eng.Decode(e.Photo)
			must(err)
			// Faces come with their embeddings (one detection pass).
			_, err = e.Eng.AnalyzePicture(ctx, q, []string{vision.Tags, vision.Sensitive})
			must(err)
			_, err = e.Eng.Embeddings(ctx, q)
			must(err)
		}, Base: func() {
			_, err := e.det.Raw(bfIn)
			must(err)
			for range nFaces {
				_, err = e.emb.Raw(crIn)
				must(err)
			}
			_, err = e.objs.Raw(cnIn)
			must(err)
			_, err = e.nsfw.Raw(nsIn, 1)
			must(err)
		}},
	}, nil
}

// RunVision measures every case.
func RunVision(ctx context.Context, dir string, threads int) ([]VisionRow, error) {
	e, err := NewVisionEnv(dir, threads)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	cases, err := e.Cases(ctx)
	if err != nil {
		return nil, err
	}
	var rows []VisionRow
	for _, c := range cases {
		ours := testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				c.Ours()
			}
		})
		bare := testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				c.Base()
			}
		})
		o, br := float64(ours.NsPerOp())/1e6, float64(bare.NsPerOp())/1e6
		rows = append(rows, VisionRow{Case: c.Name, OursMs: o, BareMs: br, Overhead: o/br - 1})
	}
	return rows, nil
}
