package web

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestNoThirdPartyAssets: nothing in the templates or static files points
// outside this origin, and the only script is the embedded htmx, loaded
// from this origin (no inline script: the CSP would refuse it anyway).
func TestNoThirdPartyAssets(t *testing.T) {
	ext := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	script := regexp.MustCompile(`(?i)<script[^>]*>`)
	// Every page package's templates (web/console, web/privacy, web/demo)
	// as well as this package's, read from the source tree.
	n := 0
	for _, fsys := range []fs.FS{os.DirFS(".")} {
		fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
				return err
			}
			n++
			b, _ := fs.ReadFile(fsys, p)
			if m := ext.Find(b); m != nil {
				t.Errorf("%s references %q", p, m)
			}
			if strings.HasSuffix(p, ".html") {
				for _, tag := range script.FindAll(b, -1) {
					if string(tag) != `<script src="/console/static/htmx.min.js" defer>` {
						t.Errorf("%s has a script other than the embedded htmx: %s", p, tag)
					}
				}
			}
			return nil
		})
	}
	if n < 8 {
		t.Errorf("found %d template and static files; the walk is broken", n)
	}
	if !strings.Contains(CSP, "script-src 'self'") || strings.Contains(CSP, "unsafe") {
		t.Errorf("CSP %q", CSP)
	}
}

// TestHtmxPinned: the embedded htmx is htmx.org 4.0.1's dist/htmx.min.js
// from npm, byte for byte (make web-vendor fetches and checks it).
func TestHtmxPinned(t *testing.T) {
	b, err := fs.ReadFile(staticFS, "static/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != HtmxSHA256 {
		t.Errorf("static/htmx.min.js sha256 %s, want %s", got, HtmxSHA256)
	}
}
