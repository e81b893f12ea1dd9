package faceid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"path/filepath"
	"sort"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/ort"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

// dim is the descriptor length.
const dim = 128

// threshold is the cosine similarity at or above which two faces are the
// same person for this model: the best split on the annotated set
// (TestVerification, accuracy 0.96). The sets overlap (same-person minimum
// 0.948, different-person maximum 0.950), which is why Obscura matches
// faces with package faceres instead.
const threshold = 0.93

// alignBox is face-api's alignment square for a detected face, in
// full-size pixels (not clipped): a square of side eye-to-mouth distance /
// 0.45 around the centre of the eyes and mouth, from the keypoints.
func alignBox(f blazeface.Face) geom.Rect {
	re, le, mouth := f.Keypoints[0], f.Keypoints[1], f.Keypoints[3]
	dist := func(p geom.Point) float64 { return math.Hypot(mouth.X-p.X, mouth.Y-p.Y) }
	size := math.Floor((dist(re) + dist(le)) / 2 / 0.45)
	cx, cy := (re.X+le.X+mouth.X)/3, (re.Y+le.Y+mouth.Y)/3
	return geom.Rect{X: math.Floor(cx - 0.5*size), Y: math.Floor(cy - 0.43*size), W: size, H: size}
}

// input is the network input (NHWC 150×150×3, 0..255) for a face, as
// face-api prepares it: the alignment box clipped to the image, zero-padded
// to a centred square, resized bilinearly to 150×150.
func input(p *picture.Picture, f blazeface.Face) []float32 {
	box := alignBox(f).Clip(float64(p.Width), float64(p.Height))
	// To decoded pixels.
	x0, y0 := int(box.X/p.Scale), int(box.Y/p.Scale)
	w, h := max(1, int(box.W/p.Scale)), max(1, int(box.H/p.Scale))
	side := max(w, h)
	in := make([]float32, InputSize*InputSize*3)
	ox, oy := (side-w)/2, (side-h)/2
	scale := float64(InputSize) / float64(side)
	px0, py0 := int(math.Round(float64(ox)*scale)), int(math.Round(float64(oy)*scale))
	pw, ph := max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
	pw, ph = min(pw, InputSize-px0), min(ph, InputSize-py0)
	picture.Resize(p.RGB, image.Rect(x0, y0, x0+w, y0+h), pw, ph, func(x, y int, cr, cg, cb float32) {
		i := ((py0+y)*InputSize + px0 + x) * 3
		in[i], in[i+1], in[i+2] = cr, cg, cb
	})
	return in
}

// embed is the unit-length descriptor of a detected face.
func embed(ctx context.Context, s *ort.Session, p *picture.Picture, f blazeface.Face) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, shape, err := s.Run(input(p, f), 1, InputSize, InputSize, 3)
	if err != nil {
		return nil, err
	}
	if len(out) != dim || len(shape) != 2 {
		return nil, fmt.Errorf("output shape %v", shape)
	}
	var n float64
	for _, v := range out {
		n += float64(v) * float64(v)
	}
	n = math.Sqrt(n)
	if n == 0 {
		return nil, errors.New("no face found")
	}
	d := make([]float32, dim)
	for i, v := range out {
		d[i] = float32(float64(v) / n)
	}
	return d, nil
}

type models struct {
	det *blazeface.Detector
	emb *ort.Session
}

func load(t testing.TB) models {
	visiontest.Dir(t)
	det, err := blazeface.New(visiontest.Load(t, blazeface.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := ort.NewSession(visiontest.Load(t, ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { det.Close(); emb.Close() })
	return models{det, emb}
}

// TestGolden compares the built graph with face-api's FaceRecognitionNet
// on TF.js for the same aligned face crops. Tolerance 1e-4.
func TestGolden(t *testing.T) {
	m := load(t)
	for _, name := range []string{"sample1.jpg", "sample6.jpg"} {
		p := visiontest.Picture(t, name)
		faces, err := m.det.Detect(context.Background(), p)
		if err != nil || len(faces) == 0 {
			t.Fatalf("%s: %d faces, %v", name, len(faces), err)
		}
		in := input(p, faces[0])
		out, shape, err := m.emb.Run(in, 1, InputSize, InputSize, 3)
		if err != nil {
			t.Fatal(err)
		}
		visiontest.Compare(t, filepath.Join("testdata", "golden-"+name+".json"), in, []int64{1, InputSize, InputSize, 3},
			[]string{"descriptor"}, []ort.Tensor{{Data: out, Shape: shape}},
			visiontest.Reference{Args: []string{"faceapi", visiontest.Path(t, "face_recognition_model-weights_manifest.json"), visiontest.Path(t, "face_recognition_model.bin")}}, 1e-4)
	}
}

// variant re-captures a photo: a mirror image, a half-size JPEG at quality
// 60, or a darker, gamma-shifted copy cropped by 10% on the left and top.
func variant(t testing.TB, p *picture.Picture, kind int) *picture.Picture {
	src := p.RGB
	b := src.Rect
	var img *image.RGBA
	switch kind {
	case 0:
		img = image.NewRGBA(b)
		for y := range b.Dy() {
			for x := range b.Dx() {
				img.SetRGBA(b.Dx()-1-x, y, src.RGBAAt(x, y))
			}
		}
	case 1:
		half := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
		xdraw.CatmullRom.Scale(half, half.Rect, src, b, xdraw.Src, nil)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, half, &jpeg.Options{Quality: 60}); err != nil {
			t.Fatal(err)
		}
		q, err := picture.Decode(buf.Bytes(), picture.DefaultOptions)
		if err != nil {
			t.Fatal(err)
		}
		return q
	case 2:
		dx, dy := b.Dx()/10, b.Dy()/10
		img = image.NewRGBA(image.Rect(0, 0, b.Dx()-dx, b.Dy()-dy))
		for i := range img.Pix {
			if i%4 == 3 {
				img.Pix[i] = 255
			}
		}
		for y := range img.Rect.Dy() {
			for x := range img.Rect.Dx() {
				c := src.RGBAAt(x+dx, y+dy)
				g := func(v uint8) uint8 { return uint8(255 * 0.8 * math.Pow(float64(v)/255, 1.3)) }
				c.R, c.G, c.B = g(c.R), g(c.G), g(c.B)
				img.SetRGBA(x, y, c)
			}
		}
	}
	return &picture.Picture{RGB: img, Width: img.Rect.Dx(), Height: img.Rect.Dy(), Scale: 1}
}

// TestVerification measures same-person vs different-person similarity on
// the annotated sample photos: 21 people, 22 faces (the pair of one person in two photos is left out); each person's face in the
// original photo is compared with the same face in three re-captures
// (mirror, half-size JPEG q60, darker and cropped), and with every other
// person. It reports the separation of both embedding models and checks
// each threshold's accuracy. Result (see the faceres package): FaceRes
// separates the sets with a gap (same ≥ 0.83, different ≤ 0.74), the
// ResNet-34 port does not (0.948 vs 0.950), so Obscura uses FaceRes.
//
// Limitation: same-person pairs are re-captures of one photo, not
// different photos of a person; no registry here ships such a set.
func TestVerification(t *testing.T) {
	m := load(t)
	fr, err := faceres.New(visiontest.Load(t, faceres.ModelFile), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	for _, model := range []struct {
		name      string
		threshold float64
		minAcc    float64
		embed     func(context.Context, *picture.Picture, blazeface.Face) ([]float32, error)
	}{
		{"face-api ResNet-34", threshold, 0.95, func(ctx context.Context, p *picture.Picture, f blazeface.Face) ([]float32, error) {
			return embed(ctx, m.emb, p, f)
		}},
		{"HSE FaceRes", faceres.Threshold, 1, fr.Embed},
	} {
		t.Run(model.name, func(t *testing.T) { verify(t, m, model.threshold, model.minAcc, model.embed) })
	}
}

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

type shot struct {
	p   *picture.Picture
	det []blazeface.Face
}

// shots caches decoded photos, their re-captures and detections across
// faces and models (kind −1 is the original).
var shots = map[string]shot{}

func shotOf(t *testing.T, m models, name string, kind int) (*picture.Picture, []blazeface.Face) {
	key := fmt.Sprint(name, kind)
	if s, ok := shots[key]; ok {
		return s.p, s.det
	}
	var p *picture.Picture
	if kind < 0 {
		p = visiontest.Picture(t, name)
	} else {
		orig, _ := shotOf(t, m, name, -1)
		p = variant(t, orig, kind)
	}
	det, err := m.det.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	shots[key] = shot{p, det}
	return p, det
}

func verify(t *testing.T, m models, threshold, minAcc float64, embed func(context.Context, *picture.Picture, blazeface.Face) ([]float32, error)) {
	names, faces := visiontest.Faces(t)
	ctx := context.Background()
	type face struct {
		person string
		d      []float32
	}
	var originals []face
	var same []float64
	for _, name := range names {
		p, det := shotOf(t, m, name, -1)
		for _, a := range faces[name] {
			i := best(det, a.Box)
			if i < 0 {
				t.Fatalf("%s: annotated face %s not detected", name, a.Person)
			}
			d, err := embed(ctx, p, det[i])
			if err != nil {
				t.Fatal(err)
			}
			originals = append(originals, face{a.Person, d})
			for kind := range 3 {
				v, vd := shotOf(t, m, name, kind)
				box := a.Box
				switch kind {
				case 0:
					box.X = float64(p.Width) - box.X - box.W
				case 1:
					box.X, box.Y, box.W, box.H = box.X/2, box.Y/2, box.W/2, box.H/2
				case 2:
					box.X -= float64(p.Width / 10)
					box.Y -= float64(p.Height / 10)
				}
				j := best(vd, box)
				if j < 0 {
					t.Logf("%s variant %d: face not detected", a.Person, kind)
					continue
				}
				e, err := embed(ctx, v, vd[j])
				if err != nil {
					t.Fatal(err)
				}
				same = append(same, cos(d, e))
			}
		}
	}
	var diff []float64
	for i := range originals {
		for j := i + 1; j < len(originals); j++ {
			if originals[i].person == originals[j].person {
				// One person in two photos (faces.json): neither a
				// re-capture nor a different person; left out.
				continue
			}
			diff = append(diff, cos(originals[i].d, originals[j].d))
		}
	}
	sort.Float64s(same)
	sort.Float64s(diff)
	errs := 0
	for _, s := range same {
		if s < threshold {
			errs++
		}
	}
	for _, d := range diff {
		if d >= threshold {
			errs++
		}
	}
	acc := 1 - float64(errs)/float64(len(same)+len(diff))
	t.Logf("same person: %d pairs, min %.3f median %.3f; different: %d pairs, max %.3f median %.3f; threshold %.2f accuracy %.4f",
		len(same), same[0], same[len(same)/2], len(diff), diff[len(diff)-1], diff[len(diff)/2], threshold, acc)
	if len(same) < 60 || len(diff) != 22*21/2-1 {
		t.Errorf("too few pairs: %d same, %d different", len(same), len(diff))
	}
	if acc < minAcc {
		t.Errorf("verification accuracy %.4f at threshold %.2f", acc, threshold)
	}
}

// best is the detection overlapping box most (IoU ≥ 0.3), or −1.
func best(det []blazeface.Face, box geom.Rect) int {
	bi, bv := -1, 0.3
	for i, f := range det {
		if v := f.Box.IoU(box); v >= bv {
			bi, bv = i, v
		}
	}
	return bi
}
