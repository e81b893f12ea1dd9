package samples

import (
	"bytes"
	"image/jpeg"
	"os"
	"strings"
	"testing"
)

// Every sample decodes, is small, has its row in LICENSE.md, and carries no
// EXIF/XMP segment (they are shown to strangers in the README).
func TestSamples(t *testing.T) {
	lic, err := os.ReadFile("LICENSE.md")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := FS.ReadDir(".")
	if len(entries) != len(Names) {
		t.Errorf("%d embedded files, %d names", len(entries), len(Names))
	}
	for _, name := range Names {
		b, err := FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 100<<10 {
			t.Errorf("%s is %d bytes; keep samples under 100 KiB", name, len(b))
		}
		if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if bytes.Contains(b, []byte("Exif\x00")) || bytes.Contains(b, []byte("http://ns.adobe.com/xap")) {
			t.Errorf("%s carries metadata", name)
		}
		if !strings.Contains(string(lic), "| `"+name+"` |") {
			t.Errorf("LICENSE.md has no row for %s", name)
		}
	}
}
