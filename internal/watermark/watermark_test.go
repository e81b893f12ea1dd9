package watermark

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"sync"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/samples"
)

// photo is a real test photo: the embedded samples (committed, licensed in
// internal/samples/LICENSE.md) and the pinned face-api demo photos that
// setup fetches and hash-verifies (internal/models/manifest.json).
type photo struct {
	name string
	img  image.Image
}

var (
	photoOnce  sync.Once
	photoCache []photo
)

func photos(t testing.TB) []photo {
	t.Helper()
	photoOnce.Do(func() { photoCache = loadPhotos(t) })
	return photoCache
}

func loadPhotos(t testing.TB) []photo {
	var out []photo
	for _, n := range samples.Names {
		b, err := samples.FS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, photo{n, decode(t, b)})
	}
	dir := models.DefaultDir(os.Getenv)
	for i := 1; i <= 6; i++ {
		n := fmt.Sprintf("sample%d.jpg", i)
		b, err := models.Pinned().Load(dir, n)
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s (run scripts/setup.sh test): %v", n, err)
			}
			t.Logf("%s not installed: measuring on the embedded samples only", n)
			continue
		}
		out = append(out, photo{n, fit(decode(t, b), 800)})
	}
	return out
}

// fit scales a photo down to at most side pixels on its long side: the size
// generated images have, and small enough for the test-time budget.
func fit(img image.Image, side int) image.Image {
	b := img.Bounds()
	if max(b.Dx(), b.Dy()) <= side {
		return img
	}
	f := float64(side) / float64(max(b.Dx(), b.Dy()))
	dst := image.NewRGBA(image.Rect(0, 0, int(float64(b.Dx())*f), int(float64(b.Dy())*f)))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	return jpegQ(nil, dst, 92)
}

func decode(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func testKey(i int) Key { return sha256.Sum256([]byte(fmt.Sprintf("tenant-%d", i))) }

func testID(i int) uint64 {
	h := sha256.Sum256([]byte(fmt.Sprintf("generation-%d", i)))
	return binary.BigEndian.Uint64(h[:])
}

func jpegQ(t testing.TB, img image.Image, q int) image.Image {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		panic(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		panic(err)
	}
	return out
}

func pngRT(t testing.TB, img image.Image) image.Image {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return decode(t, buf.Bytes())
}

func resize(img image.Image, f float64) image.Image {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, int(float64(b.Dx())*f), int(float64(b.Dy())*f)))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	return dst
}

func crop(img image.Image, l, t, r, btm float64) image.Image {
	b := img.Bounds()
	rect := image.Rect(b.Min.X+int(l*float64(b.Dx())), b.Min.Y+int(t*float64(b.Dy())),
		b.Max.X-int(r*float64(b.Dx())), b.Max.Y-int(btm*float64(b.Dy())))
	dst := image.NewRGBA(image.Rect(0, 0, rect.Dx(), rect.Dy()))
	xdraw.Copy(dst, image.Point{}, img, rect, xdraw.Src, nil)
	return dst
}

type transform struct {
	name    string
	f       func(testing.TB, image.Image) image.Image
	minRate float64 // required detection rate; 0 = reported only
}

var transforms = []transform{
	{"none (JPEG q90 as stored)", func(t testing.TB, i image.Image) image.Image { return i }, 1},
	{"JPEG q70", func(t testing.TB, i image.Image) image.Image { return jpegQ(t, i, 70) }, 0.95},
	{"resize 50%", func(t testing.TB, i image.Image) image.Image { return resize(i, 0.5) }, 0.95},
	{"PNG", func(t testing.TB, i image.Image) image.Image { return pngRT(t, i) }, 0.95},
	{"crop 10% one side", func(t testing.TB, i image.Image) image.Image { return crop(i, 0.1, 0, 0, 0) }, 0},
	{"crop 10% every side", func(t testing.TB, i image.Image) image.Image { return crop(i, 0.1, 0.1, 0.1, 0.1) }, 0},
}

// TestRobustness measures PSNR and the detection rate after each transform
// on every photo with several keys and ids, every run.
func TestRobustness(t *testing.T) {
	t.Parallel()
	ps := photos(t)
	const keysPerPhoto = 2
	minPSNR := 1e9
	marked := make([]image.Image, 0, len(ps)*keysPerPhoto)
	var keys []Key
	var ids []uint64
	for i, p := range ps {
		for k := range keysPerPhoto {
			n := i*keysPerPhoto + k
			key, id := testKey(n), testID(n)
			m, err := Embed(p.img, key, id)
			if err != nil {
				t.Fatal(err)
			}
			minPSNR = min(minPSNR, PSNR(p.img, m))
			marked = append(marked, jpegQ(t, m, 90)) // stored as a q90 JPEG
			keys = append(keys, key)
			ids = append(ids, id)
		}
	}
	t.Logf("PSNR: min %.2f dB over %d marked images", minPSNR, len(marked))
	if minPSNR < 38 {
		t.Errorf("PSNR %.2f dB < 38", minPSNR)
	}
	for _, tr := range transforms {
		hits, wrong := 0, 0
		for i, m := range marked {
			x := tr.f(t, m)
			got, ok := Detect(x, keys[i])
			switch {
			case ok && got == ids[i]:
				hits++
			case ok:
				wrong++
			}
		}
		rate := float64(hits) / float64(len(marked))
		t.Logf("%-28s detected %d/%d (%.1f%%), wrong id %d", tr.name, hits, len(marked), 100*rate, wrong)
		if wrong > 0 {
			t.Errorf("%s: %d detections with a wrong id", tr.name, wrong)
		}
		if rate < tr.minRate {
			t.Errorf("%s: detection rate %.3f < %.2f", tr.name, rate, tr.minRate)
		}
	}
}

// variants makes unmarked images from a real photo: crops at several
// offsets and sizes, rescales, flips and recompressions.
func variants(img image.Image, n int) []image.Image {
	out := []image.Image{img}
	for i := 0; len(out) < n; i++ {
		f := float64(i%7) * 0.03
		var v image.Image
		switch i % 6 {
		case 0:
			v = crop(img, f, 0, 0.2-f, 0)
		case 1:
			v = crop(img, 0, f, 0, 0.2-f)
		case 2:
			v = resize(img, 0.4+float64(i%11)*0.06)
		case 3:
			v = mirror(crop(img, f, f, f, f))
		case 4:
			v = resize(crop(img, 0.05, f, 0.05, 0.1), 0.7)
		case 5:
			v = jpegQ(nil, crop(img, f/2, f/3, 0, 0), 50+i%40)
		}
		out = append(out, v)
	}
	return out
}

func mirror(img image.Image) image.Image {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			dst.Set(b.Dx()-1-x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return dst
}

// TestFalseDetections: at least 500 unmarked images (real photos and
// transformed variants), each checked under several tenant keys, and marked
// images under other tenants' keys: no detection. The analytic bound is
// 2⁻³² per image and key (a detection needs the keyed CRC-32 of 64
// sign bits to match; docs/spec/provenance-v1.md).
func TestFalseDetections(t *testing.T) {
	t.Parallel()
	ps := photos(t)
	per := (500 + len(ps) - 1) / len(ps)
	const keys = 8
	images, trials, false_ := 0, 0, 0
	for _, p := range ps {
		for _, v := range variants(p.img, per) {
			g := coefficients(newLuma(v).grid())
			images++
			for k := range keys {
				trials++
				if detectCoefficients(g, newPlan(testKey(1000+k))) {
					false_++
				}
			}
		}
	}
	t.Logf("false detections: %d over %d unmarked images × %d keys (%d trials)", false_, images, keys, trials)
	if images < 500 || false_ != 0 {
		t.Fatalf("%d false detections over %d images", false_, images)
	}
	// A marked image is not recognised under another tenant's key.
	m, err := Embed(ps[0].img, testKey(1), 42)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := Detect(m, testKey(2)); ok {
		t.Fatal("detected under another tenant's key")
	}
	if id, ok := Detect(m, testKey(1)); !ok || id != 42 {
		t.Fatalf("own key: %d %v", id, ok)
	}
}

func BenchmarkEmbed800(b *testing.B) {
	img := photos(b)[2]
	b.ResetTimer()
	for range b.N {
		if _, err := Embed(img.img, testKey(0), 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetect800(b *testing.B) {
	img := photos(b)[2]
	m, _ := Embed(img.img, testKey(0), 1)
	b.ResetTimer()
	for range b.N {
		Detect(m, testKey(0))
	}
}

func BenchmarkPhotos(b *testing.B) {
	for range b.N {
		photos(b)
	}
}
