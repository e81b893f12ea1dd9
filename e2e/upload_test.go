package e2e

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		t.Fatalf("locate %s: %v", mod, err)
	}
	var m struct{ Dir string }
	json.Unmarshal(out, &m)
	return m.Dir
}

func do(t *testing.T, method, url, key string, body []byte) (int, []byte) {
	t.Helper()
	code, _, b := request(t, http.DefaultClient, method, url, key, body, nil)
	return code, b
}

func exifTags(t *testing.T, data []byte) map[string]any {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.jpg")
	os.WriteFile(p, data, 0o600)
	out, err := exec.Command("exiftool", "-j", "-a", "-G1", "-n", p).Output()
	if err != nil {
		t.Fatalf("exiftool: %v", err)
	}
	var tags []map[string]any
	json.Unmarshal(out, &tags)
	return tags[0]
}

// uploadAndDownload runs the whole app-side flow over real HTTP.
func uploadAndDownload(t *testing.T, s *server, key string, data []byte) []byte {
	t.Helper()
	code, b := do(t, "POST", s.base+"/v1/uploads", key, []byte(`{"subject":"e2e-user","content_type":"image/jpeg"}`))
	if code != 201 {
		t.Fatalf("create upload: %d %s", code, b)
	}
	var up struct {
		UploadURL string `json:"upload_url"`
	}
	json.Unmarshal(b, &up)
	code, b = do(t, "PUT", up.UploadURL, "", data) // the phone: no API key
	if code != 201 {
		t.Fatalf("PUT: %d %s", code, b)
	}
	var asset struct {
		AssetID string `json:"asset_id"`
	}
	json.Unmarshal(b, &asset)
	code, b = do(t, "POST", s.base+"/v1/assets/"+asset.AssetID+"/download", key, nil)
	if code != 200 {
		t.Fatalf("download url: %d %s", code, b)
	}
	var dl struct {
		DownloadURL string `json:"download_url"`
	}
	json.Unmarshal(b, &dl)
	code, got := do(t, "GET", dl.DownloadURL, "", nil)
	if code != 200 {
		t.Fatalf("download: %d %s", code, got)
	}
	return got
}

func TestUploadRealGPSPhotoEndToEnd(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	created := createTenant(t, data, "Upload E2E")
	s := startServer(t, data)

	// 1. A real photo with GPS.
	gps, err := os.ReadFile(filepath.Join(moduleDir(t, "github.com/dsoprea/go-exif/v3@v3.0.1"), "assets", "gps.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := exifTags(t, gps)["GPS:GPSLatitude"]; !ok {
		t.Fatal("source photo has no GPS")
	}
	got := uploadAndDownload(t, s, created.APIKey, gps)
	for k := range exifTags(t, got) {
		if strings.HasPrefix(k, "GPS") || strings.HasPrefix(k, "IFD") || strings.HasPrefix(k, "ExifIFD") || strings.HasPrefix(k, "XMP") || strings.HasSuffix(k, ":Make") || strings.HasSuffix(k, ":Model") {
			t.Errorf("downloaded photo still has %s", k)
		}
	}

	// 2. A portrait photo stored sideways with Orientation=6 comes back upright.
	side := sidewaysPhoto(t)
	got = uploadAndDownload(t, s, created.APIKey, side)
	up, err := jpeg.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	if b := up.Bounds(); b.Dx() != 40 || b.Dy() != 80 {
		t.Fatalf("downloaded %dx%d, want 40x80 (upright)", b.Dx(), b.Dy())
	}
	// Rotating 90° clockwise puts the stored left (red) half on top.
	if r, _, bl, _ := up.At(20, 5).RGBA(); r>>8 < 200 || bl>>8 > 60 {
		t.Errorf("top of the upright photo is not red: r=%d b=%d", r>>8, bl>>8)
	}
	if tags := exifTags(t, got); tags["IFD0:Orientation"] != nil || tags["GPS:GPSLatitude"] != nil {
		t.Errorf("orientation or GPS left: %v", tags)
	}
	// Nothing in the data dir holds the raw subject id.
	filepath.WalkDir(data, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("e2e-user")) {
				t.Errorf("%s contains the raw subject id", path)
			}
		}
		return nil
	})
}

// photoBytes is a small, noisy JPEG.
func photoBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for i := range img.Pix {
		img.Pix[i] = byte(i*131 + i/7)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	return buf.Bytes()
}

// sidewaysPhoto is an 80×40 JPEG (left half red) tagged Orientation=6 and GPS by exiftool.
func sidewaysPhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 80, 40)) // stored landscape; left half red
	for y := range 40 {
		for x := range 80 {
			c := color.RGBA{0, 0, 255, 255}
			if x < 40 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	p := filepath.Join(t.TempDir(), "side.jpg")
	os.WriteFile(p, buf.Bytes(), 0o600)
	if out, err := exec.Command("exiftool", "-q", "-overwrite_original", "-n", "-Orientation=6", "-GPSLatitude=1.5", "-GPSLatitudeRef=N", p).CombinedOutput(); err != nil {
		t.Fatalf("exiftool: %v %s", err, out)
	}
	side, _ := os.ReadFile(p)
	return side
}
