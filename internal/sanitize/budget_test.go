package sanitize_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"runtime"
	"testing"

	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/sanitize/sanitizetest"
)

// The budget is pixels × bytes per pixel of the header's colour model:
// phone photos up to the 50 MP limit fit, deep-colour bombs do not.
func TestDecodedBytesBudget(t *testing.T) {
	cases := []struct {
		name string
		cfg  image.Config
		ok   bool
	}{
		{"12 MP phone JPEG", image.Config{Width: 4032, Height: 3024, ColorModel: color.YCbCrModel}, true},
		{"48 MP phone JPEG", image.Config{Width: 8064, Height: 6048, ColorModel: color.YCbCrModel}, true},
		{"50 MP 8-bit RGBA PNG", image.Config{Width: 7071, Height: 7071, ColorModel: color.NRGBAModel}, true},
		{"49 MP grey JPEG", image.Config{Width: 7000, Height: 7000, ColorModel: color.GrayModel}, true},
		{"25 MP 16-bit RGBA PNG", image.Config{Width: 5000, Height: 5000, ColorModel: color.NRGBA64Model}, true},
		{"49 MP 16-bit RGBA PNG", image.Config{Width: 7000, Height: 7000, ColorModel: color.NRGBA64Model}, false},
		{"49 MP 16-bit grey PNG", image.Config{Width: 7000, Height: 7000, ColorModel: color.Gray16Model}, true},
		{"unknown model counts 8 bytes", image.Config{Width: 6000, Height: 6000}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := sanitize.DecodedBytes(c.cfg) <= sanitize.DefaultLimits.MaxDecodeBytes
			if got != c.ok {
				t.Errorf("%d bytes within the %d budget: %v, want %v", sanitize.DecodedBytes(c.cfg), sanitize.DefaultLimits.MaxDecodeBytes, got, c.ok)
			}
		})
	}
}

// Regression for finding 16.2: a 381 KB 7000×7000 16-bit RGBA PNG with
// orientation 6 was decoded (392 MB), converted, rotated and re-encoded:
// 16 s and +760 MB. It is now refused from its header, before any decode.
func TestAmplifyingPNGRefusedFromHeader(t *testing.T) {
	bomb := sanitizetest.PNG(7000, 7000, 6)
	if len(bomb) > 400_000 {
		t.Fatalf("crafted PNG is %d bytes, want about 381 KB", len(bomb))
	}
	for _, o := range []uint16{6, 1} { // orientation 1 is stored without decoding, then decoded by the analysis
		bomb := sanitizetest.PNG(7000, 7000, o)
		lim := sanitize.DefaultLimits
		lim.Admit = func(int64) (func(), error) { t.Error("a decode was admitted"); return func() {}, nil }
		_, err := sanitize.Sanitize(bomb, lim)
		if !errors.Is(err, sanitize.ErrTooLarge) {
			t.Errorf("orientation %d: %v, want ErrTooLarge", o, err)
		}
	}
	// The same depth within budget is accepted and rotated.
	res, err := sanitize.Sanitize(sanitizetest.PNG(40, 30, 6), sanitize.DefaultLimits)
	if err != nil || res.Width != 30 || res.Height != 40 {
		t.Errorf("small 16-bit PNG: %v %dx%d", err, res.Width, res.Height)
	}
}

// Decodes pass the gate with their pixel count; images kept losslessly
// (orientation 1) do not decode and do not wait; a gate error stops it.
func TestDecodeGateHook(t *testing.T) {
	var got []int64
	lim := sanitize.DefaultLimits
	lim.Admit = func(n int64) (func(), error) {
		got = append(got, n)
		return func() { got = append(got, -n) }, nil
	}
	for _, f := range [][]byte{sanitizetest.JPEG(64, 48, 6), sanitizetest.PNG(64, 48, 3), sanitizetest.JPEG(64, 48, 1), sanitizetest.PNG(64, 48, 1)} {
		if _, err := sanitize.Sanitize(f, lim); err != nil {
			t.Fatal(err)
		}
	}
	if want := []int64{3072, -3072, 3072, -3072}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("gate calls %v, want %v (acquire and release per decode, none without one)", got, want)
	}
	boom := errors.New("queue full")
	lim.Admit = func(int64) (func(), error) { return nil, boom }
	if _, err := sanitize.Sanitize(sanitizetest.JPEG(64, 48, 6), lim); !errors.Is(err, boom) {
		t.Errorf("gate refusal: %v", err)
	}
}

// Regression for finding 16.2: rotating a grey JPEG went through NRGBA
// (two extra full-size copies at 4 bytes per pixel, and the encoder's
// generic path). A grey image is now rotated as grey.
func TestGreyOrientationStaysGrey(t *testing.T) {
	const w, h = 1600, 1200
	bomb := sanitizetest.JPEG(w, h, 6)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := sanitize.Sanitize(bomb, sanitize.DefaultLimits)
	runtime.ReadMemStats(&after)
	if err != nil || res.Width != h || res.Height != w {
		t.Fatalf("%v %dx%d", err, res.Width, res.Height)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 6*w*h {
		t.Errorf("allocated %d MB to rotate a %d MB grey image, want at most %d MB", alloc>>20, w*h>>20, 6*w*h>>20)
	}
	img, err := jpeg.Decode(bytes.NewReader(res.Data))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.Gray); !ok {
		t.Errorf("stored as %T, want a grey JPEG", img)
	}
}

// The grey and NRGBA fast paths rotate exactly like the generic path.
func TestOrientFastPathsMatchGeneric(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 5, 3))
	n := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range g.Pix {
		g.Pix[i] = byte(i * 13)
		n.SetNRGBA(i%5, i/5, color.NRGBA{byte(i * 13), byte(i), 7, 255})
	}
	for o := 1; o <= 8; o++ {
		fg, fn := sanitize.Orient(g, o), sanitize.Orient(n, o)
		slow := sanitize.Orient(image.NewRGBA(g.Rect), o).Bounds() // the generic path's geometry
		if fg.Bounds() != slow || fn.Bounds() != slow {
			t.Fatalf("orientation %d: bounds %v %v, want %v", o, fg.Bounds(), fn.Bounds(), slow)
		}
		var ref image.Image = sanitize.Orient(&rgbaOf{g}, o) // generic path on the same grey pixels
		for y := range slow.Dy() {
			for x := range slow.Dx() {
				a := color.GrayModel.Convert(fg.At(x, y)).(color.Gray).Y
				b := color.GrayModel.Convert(ref.At(x, y)).(color.Gray).Y
				c := fn.At(x, y).(color.NRGBA).R
				if a != b || a != c {
					t.Fatalf("orientation %d at %d,%d: grey %d, generic %d, nrgba %d", o, x, y, a, b, c)
				}
			}
		}
	}
}

// rgbaOf hides the concrete type so Orient takes its generic path.
type rgbaOf struct{ image.Image }
