package draft

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden container vectors")

// vector is one draft-v1 container vector of testdata/draft-v1.json: a
// valid container with what it decodes to, or one failure mode.
type vector struct {
	Name  string `json:"name"`
	Hex   string `json:"hex"`
	Valid bool   `json:"valid"`
	Meta  *Meta  `json:"meta,omitempty"`
	Image string `json:"image_hex,omitempty"`
}

var tinyJPEG = []byte{0xFF, 0xD8, 0xFF, 0xD9}

func goldenVectors(t *testing.T) []vector {
	t.Helper()
	m := Meta{V: 1, Generator: Generator{Feature: "meme", Name: "template:dog-1", Version: "2026.12.1"},
		Caption: &Caption{Top: "TOP", Bottom: "BOTTOM", Template: "dog-1"}, GenerationID: "gen1"}
	ok, err := Encode(m, tinyJPEG)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := Encode(Meta{Generator: Generator{Feature: "plugin", Name: "face-blur", Version: "1.0.0"}}, tinyJPEG)
	mut := func(f func(b []byte) []byte) string { return hex.EncodeToString(f(bytes.Clone(ok))) }
	return []vector{
		{Name: "meme", Hex: hex.EncodeToString(ok), Valid: true, Meta: &m, Image: hex.EncodeToString(tinyJPEG)},
		{Name: "plugin without caption", Hex: hex.EncodeToString(plain), Valid: true,
			Meta: &Meta{V: 1, Generator: Generator{Feature: "plugin", Name: "face-blur", Version: "1.0.0"}}, Image: hex.EncodeToString(tinyJPEG)},
		{Name: "wrong magic", Hex: mut(func(b []byte) []byte { b[7] = '2'; return b })},
		{Name: "truncated header", Hex: hex.EncodeToString(ok[:10])},
		{Name: "metadata length beyond data", Hex: mut(func(b []byte) []byte { b[8], b[9] = 0, 1; return b })},
		{Name: "metadata length beyond limit", Hex: mut(func(b []byte) []byte { b[8] = 0x7F; return b })},
		{Name: "no image", Hex: hex.EncodeToString(ok[:len(ok)-len(tinyJPEG)])},
		{Name: "image not a JPEG", Hex: mut(func(b []byte) []byte { b[len(b)-4] = 0x89; return b })},
		{Name: "metadata version 2", Hex: hex.EncodeToString(bytes.Replace(ok, []byte(`"v":1`), []byte(`"v":2`), 1))},
		{Name: "unknown metadata field", Hex: hex.EncodeToString(bytes.Replace(ok, []byte(`"v":1`), []byte(`"x":1`), 1))},
	}
}

func TestContainerVectors(t *testing.T) {
	path := filepath.Join("testdata", "draft-v1.json")
	if *update {
		b, _ := json.MarshalIndent(goldenVectors(t), "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != len(goldenVectors(t)) {
		t.Fatalf("%d vectors, want %d (run with -update)", len(vs), len(goldenVectors(t)))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			b, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			m, img, err := Decode(b)
			if !v.Valid {
				if err != ErrContainer {
					t.Fatalf("Decode = %v, want ErrContainer", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotMeta, _ := json.Marshal(m)
			wantMeta, _ := json.Marshal(v.Meta)
			if !bytes.Equal(gotMeta, wantMeta) || hex.EncodeToString(img) != v.Image {
				t.Errorf("Decode = %s %x, want %s %s", gotMeta, img, wantMeta, v.Image)
			}
			again, err := Encode(m, img)
			if err != nil || !bytes.Equal(again, b) {
				t.Errorf("re-encoding differs: %x", again)
			}
		})
	}
}

// FuzzDecode: no input panics, and every accepted container re-encodes to
// a container that decodes to the same metadata and image.
func FuzzDecode(f *testing.F) {
	for _, v := range goldenVectors(&testing.T{}) {
		b, _ := hex.DecodeString(v.Hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, img, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(m, img)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, img2, err := Decode(again)
		if err != nil || !bytes.Equal(img, img2) {
			t.Fatalf("round trip: %v", err)
		}
		j1, _ := json.Marshal(m)
		j2, _ := json.Marshal(m2)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("metadata %s became %s", j1, j2)
		}
	})
}
