package visiontest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision/geom"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Annotated is one annotated face.
type Annotated struct {
	Box    geom.Rect `json:"box"`
	Person string    `json:"person"`
}

// Faces returns the hand-checked face annotations of the sample photos
// (internal/vision/testdata/faces.json), by image file name, sorted.
func Faces(t testing.TB) (names []string, faces map[string][]Annotated) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "internal", "vision", "testdata", "faces.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Images map[string][]Annotated `json:"images"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for n := range doc.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, doc.Images
}

// Picture decodes a pinned sample image.
func Picture(t testing.TB, name string) *picture.Picture {
	t.Helper()
	p, err := picture.Decode(Load(t, name), picture.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
