package c2pa

import (
	"bytes"
	"context"
	"encoding/pem"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func renderJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testManifest() Manifest {
	return Manifest{
		Generator: GeneratorInfo{Name: "Obscura", Version: "test"},
		Title:     "meme.jpg",
		Format:    "image/jpeg",
		Parent:    &Ingredient{Title: "source photo", Format: "image/jpeg", Relationship: "parentOf", InstanceID: "obscura:src:abc"},
		Actions: []Action{{
			Action:            ActionEdited,
			SoftwareAgent:     &GeneratorInfo{Name: "Obscura meme", Version: "1"},
			DigitalSourceType: SourceComposite,
			When:              "2026-12-01T18:00:00Z",
		}},
	}
}

func TestSignDump(t *testing.T) {
	dir := os.Getenv("C2PA_DUMP")
	if dir == "" {
		t.Skip("C2PA_DUMP not set")
	}
	s := newTestSigner(t, time.Now())
	out, err := Sign(context.Background(), renderJPEG(t, 320, 200), testManifest(), s)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "signed.jpg"), out, 0o644)
	os.WriteFile(filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.chain[1]}), 0o644)
}
