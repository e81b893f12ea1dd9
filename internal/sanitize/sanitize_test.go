package sanitize

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/webp"
)

// testImage is w×h with distinct corner colours: TL red, TR green, BL blue, BR white.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			var c color.NRGBA
			switch {
			case x < w/2 && y < h/2:
				c = color.NRGBA{255, 0, 0, 255}
			case x >= w/2 && y < h/2:
				c = color.NRGBA{0, 255, 0, 255}
			case x < w/2 && y >= h/2:
				c = color.NRGBA{0, 0, 255, 255}
			default:
				c = color.NRGBA{255, 255, 255, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tiffOrientation builds a minimal little-endian TIFF with IFD0 holding Orientation.
func tiffOrientation(o uint16) []byte {
	b := []byte("II*\x00\x08\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 0x0112)
	b = binary.LittleEndian.AppendUint16(b, 3)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint16(b, o)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return b
}

func segment(marker byte, payload []byte) []byte {
	s := []byte{0xFF, marker}
	s = binary.BigEndian.AppendUint16(s, uint16(len(payload)+2))
	return append(s, payload...)
}

// withJPEGMetadata inserts EXIF (orientation), a comment, an IPTC-like APP13
// and trailing bytes into a JPEG.
func withJPEGMetadata(j []byte, orientation uint16) []byte {
	var out []byte
	out = append(out, j[:2]...)
	out = append(out, segment(0xE1, append([]byte("Exif\x00\x00"), tiffOrientation(orientation)...))...)
	out = append(out, segment(0xFE, []byte("SECRET-COMMENT-MARKER"))...)
	out = append(out, segment(0xED, []byte("Photoshop 3.0\x00SECRET-IPTC-MARKER"))...)
	out = append(out, j[2:]...)
	return append(out, []byte("SECRET-TRAILER-MARKER")...)
}

func near(a, b color.Color) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	d := func(x, y uint32) bool { return x>>8 > y>>8+40 || y>>8 > x>>8+40 }
	return !d(r1, r2) && !d(g1, g2) && !d(b1, b2)
}

var (
	red   = color.NRGBA{255, 0, 0, 255}
	green = color.NRGBA{0, 255, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
	white = color.NRGBA{255, 255, 255, 255}
)

func corners(img image.Image) [4]color.Color {
	b := img.Bounds()
	return [4]color.Color{img.At(b.Min.X+2, b.Min.Y+2), img.At(b.Max.X-3, b.Min.Y+2), img.At(b.Min.X+2, b.Max.Y-3), img.At(b.Max.X-3, b.Max.Y-3)}
}

// wantCorners is TL, TR, BL, BR of the upright image for each orientation of a
// source whose stored pixels are TL red, TR green, BL blue, BR white.
var wantCorners = map[int][4]color.Color{
	1: {red, green, blue, white},
	2: {green, red, white, blue},
	3: {white, blue, green, red},
	4: {blue, white, red, green},
	5: {red, blue, green, white},
	6: {blue, red, white, green},
	7: {white, green, blue, red},
	8: {green, white, red, blue},
}

func TestJPEGOrientationAndStripping(t *testing.T) {
	src := jpegBytes(t, testImage(64, 32))
	for o := 1; o <= 8; o++ {
		t.Run(string(rune('0'+o)), func(t *testing.T) {
			res, err := Sanitize(withJPEGMetadata(src, uint16(o)), DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{"Exif", "SECRET-COMMENT-MARKER", "SECRET-IPTC-MARKER", "SECRET-TRAILER-MARKER", "JFIF"} {
				if bytes.Contains(res.Data, []byte(m)) {
					t.Errorf("output contains %q", m)
				}
			}
			wantW, wantH := 64, 32
			if o >= 5 {
				wantW, wantH = 32, 64
			}
			// 64×32 is whole 16×16 MCUs: every orientation is a lossless DCT transform.
			if res.Width != wantW || res.Height != wantH || res.Orientation != o || res.Format != JPEG || res.Reencoded {
				t.Fatalf("result %dx%d o=%d fmt=%s reenc=%v", res.Width, res.Height, res.Orientation, res.Format, res.Reencoded)
			}
			img, err := jpeg.Decode(bytes.NewReader(res.Data))
			if err != nil {
				t.Fatal(err)
			}
			got := corners(img)
			for i, want := range wantCorners[o] {
				if !near(got[i], want) {
					t.Errorf("corner %d = %v, want %v", i, got[i], want)
				}
			}
			if o == 1 && !bytes.Contains(src, res.Data[len(res.Data)-100:]) {
				t.Error("orientation 1 was not a lossless copy of the scan")
			}
		})
	}
}

func pngChunk(typ string, body []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	c = append(c, typ...)
	c = append(c, body...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(append([]byte(typ), body...)))
}

func withPNGMetadata(t *testing.T, img image.Image, orientation uint16) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, img)
	b := buf.Bytes()
	ihdrEnd := 8 + 25
	var out []byte
	out = append(out, b[:ihdrEnd]...)
	out = append(out, pngChunk("tEXt", []byte("Comment\x00SECRET-PNG-TEXT"))...)
	out = append(out, pngChunk("eXIf", tiffOrientation(orientation))...)
	out = append(out, pngChunk("tIME", []byte{7, 234, 11, 22, 10, 0, 0})...)
	return append(out, b[ihdrEnd:]...)
}

func TestPNG(t *testing.T) {
	for _, o := range []int{1, 6} {
		res, err := Sanitize(withPNGMetadata(t, testImage(40, 20), uint16(o)), DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"tEXt", "eXIf", "tIME", "SECRET-PNG-TEXT"} {
			if bytes.Contains(res.Data, []byte(m)) {
				t.Errorf("o=%d: output contains %q", o, m)
			}
		}
		img, err := png.Decode(bytes.NewReader(res.Data))
		if err != nil {
			t.Fatal(err)
		}
		got := corners(img)
		for i, want := range wantCorners[o] {
			if !near(got[i], want) {
				t.Errorf("o=%d corner %d = %v, want %v", o, i, got[i], want)
			}
		}
	}
}

func TestRejects(t *testing.T) {
	src := jpegBytes(t, testImage(64, 32))
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, testImage(8, 8))
	badCRC := bytes.Clone(pngBuf.Bytes())
	badCRC[30] ^= 0xFF
	// A JPEG header claiming 60000×60000: rejected from the header, before decoding.
	bomb := append([]byte{0xFF, 0xD8}, segment(0xC0, []byte{8, 0xEA, 0x60, 0xEA, 0x60, 1, 1, 0x11, 0})...)
	pngBomb := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", []byte{0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 2, 0, 0, 0})...)
	pngBomb = append(pngBomb, pngChunk("IEND", nil)...)
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrUnsupported},
		{"text", []byte("hello, I am a JPEG, trust me"), ErrUnsupported},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), ErrUnsupported},
		{"jpeg truncated", src[:len(src)/2], ErrInvalid},
		{"jpeg header only", src[:20], ErrInvalid},
		{"jpeg no EOI", src[:len(src)-2], ErrInvalid},
		{"jpeg bomb", bomb, ErrTooLarge},
		{"png bad crc", badCRC, ErrInvalid},
		{"png truncated", pngBuf.Bytes()[:40], ErrInvalid},
		{"png bomb", pngBomb, ErrTooLarge},
		{"webp truncated", []byte("RIFF\xff\x00\x00\x00WEBPVP8L"), ErrInvalid},
		{"webp animated", append([]byte("RIFF\x16\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00"), 0x02, 0, 0, 0, 9, 0, 0, 9, 0, 0), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sanitize(tt.data, DefaultLimits)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Sanitize(src, Limits{MaxPixels: 64*32 - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit not applied: %v", err)
	}
}

func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		t.Fatalf("locate %s (run `make setup-test`): %v", mod, err)
	}
	var m struct{ Dir string }
	json.Unmarshal(out, &m)
	return m.Dir
}

// exiftoolTags runs exiftool on data and returns every tag it reports.
func exiftoolTags(t *testing.T, data []byte) map[string]any {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img")
	os.WriteFile(p, data, 0o600)
	out, err := exec.Command("exiftool", "-j", "-a", "-G1", "-n", p).Output()
	if err != nil {
		t.Fatalf("exiftool (Debian libimage-exiftool-perl, installed by make test): %v", err)
	}
	var tags []map[string]any
	if err := json.Unmarshal(out, &tags); err != nil || len(tags) != 1 {
		t.Fatalf("exiftool output: %v", err)
	}
	return tags[0]
}

// forbidden are the tag groups and names that must be gone after sanitizing.
func assertNoMetadata(t *testing.T, tags map[string]any) {
	t.Helper()
	for k := range tags {
		group, name, _ := strings.Cut(k, ":")
		switch {
		case strings.HasPrefix(group, "GPS"), strings.HasPrefix(group, "EXIF"), strings.HasPrefix(group, "IFD"),
			strings.HasPrefix(group, "XMP"), strings.HasPrefix(group, "IPTC"), strings.HasPrefix(group, "MakerNotes"),
			strings.HasPrefix(group, "ICC"), group == "Photoshop", group == "MPF0", strings.HasPrefix(group, "MPImage"):
			t.Errorf("metadata left: %s = %v", k, tags[k])
		case name == "Make", name == "Model", name == "DateTimeOriginal", name == "ThumbnailImage", name == "Comment",
			strings.HasPrefix(name, "GPS"), name == "Orientation":
			t.Errorf("metadata left: %s = %v", k, tags[k])
		}
	}
}

func TestExiftoolRealGPSPhotos(t *testing.T) {
	dir := moduleDir(t, "github.com/dsoprea/go-exif/v3@v3.0.1")
	for _, name := range []string{"gps.jpg", "gps-2000-scaled.jpg"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "assets", name))
			if err != nil {
				t.Fatal(err)
			}
			before := exiftoolTags(t, data)
			if _, ok := before["GPS:GPSLatitude"]; !ok {
				t.Fatalf("test photo has no GPS; the check would prove nothing: %v", before)
			}
			res, err := Sanitize(data, DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			assertNoMetadata(t, exiftoolTags(t, res.Data))
			if _, err := jpeg.Decode(bytes.NewReader(res.Data)); err != nil {
				t.Errorf("sanitized photo does not decode: %v", err)
			}
		})
	}
}

// TestExiftoolCrafted writes every kind of metadata with exiftool itself,
// then checks exiftool finds none of it after sanitizing.
func TestExiftoolCrafted(t *testing.T) {
	dir := t.TempDir()
	thumb := filepath.Join(dir, "thumb.jpg")
	os.WriteFile(thumb, jpegBytes(t, testImage(16, 8)), 0o600)
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, testImage(64, 32))
	webpSrc, err := os.ReadFile(filepath.Join(moduleDir(t, "golang.org/x/image@v0.47.0"), "testdata", "blue-purple-pink.lossless.webp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		args []string
	}{
		{"jpeg", jpegBytes(t, testImage(64, 32)), []string{"-ThumbnailImage<=" + thumb, "-IPTC:Keywords=secret-keyword", "-Comment=secret comment"}},
		{"png", pngBuf.Bytes(), []string{"-PNG:Comment=secret comment"}},
		{"webp", webpSrc, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "in."+tc.name)
			os.WriteFile(p, tc.data, 0o600)
			args := append([]string{"-q", "-overwrite_original",
				"-GPSLatitude=48.8583", "-GPSLatitudeRef=N", "-GPSLongitude=2.2944", "-GPSLongitudeRef=E",
				"-Make=SecretMake", "-Model=SecretModel", "-DateTimeOriginal=2020:01:02 03:04:05",
				"-XMP:Creator=secret creator", "-Orientation=6", "-n"}, tc.args...)
			if out, err := exec.Command("exiftool", append(args, p)...).CombinedOutput(); err != nil {
				t.Fatalf("exiftool write: %v: %s", err, out)
			}
			data, _ := os.ReadFile(p)
			before := exiftoolTags(t, data)
			if len(before) < 8 {
				t.Fatalf("crafting failed: %v", before)
			}
			res, err := Sanitize(data, DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			if res.Orientation != 6 {
				t.Errorf("orientation %d applied, want 6", res.Orientation)
			}
			after := exiftoolTags(t, res.Data)
			assertNoMetadata(t, after)
			for _, s := range []string{"Secret", "secret"} {
				if bytes.Contains(res.Data, []byte(s)) {
					t.Errorf("output bytes contain %q", s)
				}
			}
		})
	}
}

func TestHEIC(t *testing.T) {
	dir := moduleDir(t, "github.com/gen2brain/heic@v0.4.5")
	data, err := os.ReadFile(filepath.Join(dir, "testdata", "test.heic"))
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := Sniff(data); f != HEIC {
		t.Fatalf("sniffed %q", f)
	}
	res, err := Sanitize(data, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != JPEG || !res.Reencoded || res.Width == 0 {
		t.Fatalf("result %+v", res.Format)
	}
	assertNoMetadata(t, exiftoolTags(t, res.Data))
	if _, err := Sanitize(data, Limits{MaxPixels: int64(res.Width*res.Height) - 1}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("heic over the pixel limit: %v", err)
	}
	if _, err := Sanitize(data[:len(data)/2], DefaultLimits); !errors.Is(err, ErrInvalid) {
		t.Errorf("truncated heic: %v", err)
	}
}

func TestExifOrientation(t *testing.T) {
	for o := uint16(1); o <= 8; o++ {
		if got := exifOrientation(tiffOrientation(o)); got != int(o) {
			t.Errorf("orientation %d read as %d", o, got)
		}
	}
	be := []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	if got := exifOrientation(be); got != 6 {
		t.Errorf("big-endian orientation = %d", got)
	}
	for _, bad := range [][]byte{nil, []byte("II*\x00"), tiffOrientation(9), tiffOrientation(0), []byte("XX*\x00\x08\x00\x00\x00")} {
		if got := exifOrientation(bad); got != 1 {
			t.Errorf("exifOrientation(%x) = %d, want 1", bad, got)
		}
	}
}

func FuzzExifOrientation(f *testing.F) {
	f.Add(tiffOrientation(6))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := exifOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d out of range", o)
		}
	})
}

func FuzzSanitize(f *testing.F) {
	f.Add(jpegBytes(f, testImage(16, 8)))
	f.Add(withJPEGMetadata(jpegBytes(f, testImage(16, 8)), 6))
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, testImage(8, 8))
	f.Add(pngBuf.Bytes())
	f.Add([]byte("RIFF\x16\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x09\x00\x00"))
	// VP8X canvas 512×4096 (read as 256×3840 before the precedence fix,
	// which passed the pixel limit): must be refused as too large.
	f.Add([]byte("RIFF\x16\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\xff\x01\x00\xff\x0f\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Sanitize(data, Limits{MaxPixels: 1 << 20})
		// The pixel limit holds against an independent reading of the
		// header (x/image/webp reads the VP8X canvas on its own).
		if cfg, cerr := webp.DecodeConfig(bytes.NewReader(data)); cerr == nil && len(data) > 15 && string(data[12:16]) == "VP8X" &&
			int64(cfg.Width)*int64(cfg.Height) > 1<<20 && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%d×%d canvas: err = %v, want ErrTooLarge", cfg.Width, cfg.Height, err)
		}
		if err != nil {
			return
		}
		// Sanitizing is idempotent: a clean image comes out byte-identical.
		again, err := Sanitize(res.Data, Limits{MaxPixels: 1 << 20})
		if err != nil {
			t.Fatalf("sanitized output rejected: %v", err)
		}
		if !res.Reencoded && !bytes.Equal(again.Data, res.Data) {
			t.Fatal("sanitize is not idempotent")
		}
	})
}

// TestOrientYCbCrMatchesGeneric checks the plane-rotation fast path against
// the generic path pixel for pixel (after the same colour conversion).
func TestOrientYCbCrMatchesGeneric(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio444} {
		yc := image.NewYCbCr(image.Rect(0, 0, 6, 4), ratio)
		for i := range yc.Y {
			yc.Y[i] = byte(i * 37)
		}
		for i := range yc.Cb {
			yc.Cb[i], yc.Cr[i] = byte(i*53), byte(255-i*29)
		}
		for o := 2; o <= 8; o++ {
			fast := orient(yc, o)
			if _, ok := fast.(*image.YCbCr); !ok {
				t.Fatalf("ratio %v o=%d: fast path not taken", ratio, o)
			}
			slow := orient(struct{ image.Image }{yc}, o) // hides the concrete type
			if fast.Bounds() != slow.Bounds() {
				t.Fatalf("o=%d bounds %v vs %v", o, fast.Bounds(), slow.Bounds())
			}
			b := fast.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					r1, g1, b1, _ := fast.At(x, y).RGBA()
					r2, g2, b2, _ := slow.At(x, y).RGBA()
					if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 {
						t.Fatalf("ratio %v o=%d pixel (%d,%d) differs", ratio, o, x, y)
					}
				}
			}
		}
	}
}

func TestOrientationWithoutDecoding(t *testing.T) {
	j := jpegBytes(t, testImage(16, 8))
	for o := uint16(1); o <= 8; o++ {
		if got := Orientation(withJPEGMetadata(j, o)); got != int(o) {
			t.Errorf("JPEG orientation %d read as %d", o, got)
		}
	}
	res, err := Sanitize(withJPEGMetadata(j, 6), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got := Orientation(res.Data); got != 1 {
		t.Errorf("sanitized output still carries orientation %d", got)
	}
	for _, bad := range [][]byte{nil, []byte("not an image"), j[:5], append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}, "Exif"...)} {
		if got := Orientation(bad); got != 1 {
			t.Errorf("Orientation(%q) = %d, want 1", bad, got)
		}
	}
}

func FuzzOrientation(f *testing.F) {
	f.Add(withJPEGMetadata(jpegBytes(f, testImage(16, 8)), 6))
	f.Add([]byte("RIFF\x16\x00\x00\x00WEBPEXIF\x0a\x00\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := Orientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d out of range", o)
		}
	})
}

// TestAPP14RewrittenCanonically is the regression for APP14 "Adobe"
// segments being copied verbatim: bytes after the prefix (a planted marker
// in the flags and past the 12 parsed bytes) survived sanitizing.
func TestAPP14RewrittenCanonically(t *testing.T) {
	j := jpegBytes(t, testImage(16, 8))
	canonical := segment(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01"))
	for name, tc := range map[string]struct {
		payload string
		want    []byte // the APP14 segment in the output; nil: none
	}{
		"marker in flags and tail": {"Adobe\x00\x65SECR\x01SECRET-APP14-MARKER", canonical},
		"canonical":                {"Adobe\x00\x64\x00\x00\x00\x00\x01", canonical},
		"short":                    {"AdobeSECRET", nil},
		"bad transform":            {"Adobe\x00\x64\x00\x00\x00\x00\x07SECRET", nil},
		"not adobe":                {"SECRET-APP14-MARKER", nil},
	} {
		in := append(append(append([]byte{}, j[:2]...), segment(0xEE, []byte(tc.payload))...), j[2:]...)
		res, err := Sanitize(in, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bytes.Contains(res.Data, []byte("SEC")) {
			t.Errorf("%s: planted bytes survived", name)
		}
		has := bytes.Contains(res.Data, []byte{0xFF, 0xEE})
		if tc.want == nil && has {
			t.Errorf("%s: APP14 kept", name)
		}
		if tc.want != nil && !bytes.Contains(res.Data, tc.want) {
			t.Errorf("%s: canonical APP14 missing", name)
		}
		if _, err := jpeg.Decode(bytes.NewReader(res.Data)); err != nil {
			t.Errorf("%s: output does not decode: %v", name, err)
		}
	}
}

// TestKeptSegmentsCarryNoFreeBytes: a kept table or frame segment with
// bytes past what its fields encode is refused rather than copied.
func TestKeptSegmentsCarryNoFreeBytes(t *testing.T) {
	j := jpegBytes(t, testImage(16, 8))
	for name, seg := range map[string][]byte{
		"DRI with tail": segment(0xDD, []byte("\x00\x00SECRET")),
		"DQT with tail": segment(0xDB, append(make([]byte, 65), "SECRET"...)),
		"DHT with tail": segment(0xC4, append(make([]byte, 17), "SECRET"...)),
		"DQT bad Tq":    segment(0xDB, append([]byte{0x07}, make([]byte, 64)...)),
		"DHT bad class": segment(0xC4, append([]byte{0x20}, make([]byte, 16)...)),
	} {
		in := append(append(append([]byte{}, j[:2]...), seg...), j[2:]...)
		if _, err := Sanitize(in, DefaultLimits); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

// TestVP8XCanvas is the regression for `1 + int(b4) | int(b5)<<8 | …`,
// which Go parses as (1+b4) | …: a 512-pixel width read as 256.
func TestVP8XCanvas(t *testing.T) {
	for _, tc := range []struct {
		body [10]byte
		w, h int
	}{
		{[10]byte{4: 0xFF, 5: 0x01, 7: 0xFF, 8: 0x0F}, 512, 4096},
		{[10]byte{4: 8, 7: 8}, 9, 9},
		{[10]byte{4: 0xFF, 5: 0xFF, 6: 0xFF, 7: 0, 8: 0, 9: 0}, 1 << 24, 1},
	} {
		if w, h := vp8xCanvas(tc.body[:]); w != tc.w || h != tc.h {
			t.Errorf("vp8xCanvas(% x) = %d×%d, want %d×%d", tc.body, w, h, tc.w, tc.h)
		}
	}
}
