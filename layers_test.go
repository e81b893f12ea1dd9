package obscura

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/obscuraproject/obscura/"

// layers names Obscura's layers, lowest first, and the packages (path
// prefixes below the module; the longest prefix wins) in each. A package
// may import packages of its own layer or lower ones, never higher ones.
// docs/architecture.md draws the same table; change both together. A new
// package must be placed here, or TestLayers fails.
var layers = []struct {
	name     string
	packages []string
}{
	{"base", []string{"internal/fault", "internal/clock", "internal/ident", "internal/hooksig", "internal/redact", "internal/store", "internal/samples",
		"internal/vision/geom", "internal/models/convert/onnxgraph"}},
	{"mechanisms", []string{"internal/envelope", "internal/blob", "internal/keyring", "internal/auth", "internal/audit",
		"internal/sanitize", "internal/models", "internal/guard", "internal/egress", "internal/derived", "internal/config", "internal/store/sqlite",
		"internal/c2pa", "internal/watermark", // provenance byte formats (issue 20)
		"internal/store/storetest", "internal/vision", "internal/textfilter",
		"internal/dp", "internal/sandbox",
		"internal/store/postgres", // the PostgreSQL backend and its pgtest harness (issue 24)
		"internal/store/sqlstore", // the SQL store core both backends share, the dialect a parameter (issue 18)
		"internal/secagg", "internal/ddg",
		"internal/storecopy", // issue 24: embedded installation -> Postgres
	}},
	{"storage", []string{"internal/sealed"}},
	{"services", []string{"internal/pipeline", "internal/consent", "internal/upload", "internal/tenant", "internal/analysis", "internal/faces",
		"internal/provenance", // issue 20
		"internal/draft", "internal/meme", "internal/subject", "internal/incident", "internal/alert", "internal/jobs", "internal/operator",
		"internal/analytics", "internal/plugin",
		"internal/fl"}},
	{"surfaces", []string{"internal/api", "internal/web"}},
	{"composition", []string{"internal/wire"}},
	{"programs", []string{"cmd", "internal/perf", "internal/testkit", "tools"}},
}

// forbidden are imports the layers alone would allow but the design does
// not: a prefix of importer and a prefix of what it must not import.
var forbidden = []struct{ from, to, why string }{
	{"internal/guard", "internal/vision", "guard is model-agnostic: model-specific squeezing lives with its model (issue 18.2)"},
	{"internal/vision", "internal/guard", "models know nothing of the guard's policy"},
}

// layerOf returns the layer index of a package path below the module, or -1.
func layerOf(pkg string) int {
	best, layer := -1, -1
	for i, l := range layers {
		for _, p := range l.packages {
			if (pkg == p || strings.HasPrefix(pkg, p+"/")) && len(p) > best {
				best, layer = len(p), i
			}
		}
	}
	return layer
}

// TestLayers fails when a package imports a package of a higher layer, or
// an import the design forbids, or when a package is in no layer.
func TestLayers(t *testing.T) {
	imports := map[string]map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if !strings.HasPrefix(dir, "internal/") && !strings.HasPrefix(dir, "cmd/") && !strings.HasPrefix(dir, "tools/") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if strings.HasPrefix(p, module) {
				imports[dir][strings.TrimPrefix(p, module)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) < 20 {
		t.Fatalf("found only %d packages; the walk is broken", len(imports))
	}
	for pkg, deps := range imports {
		me := layerOf(pkg)
		if me < 0 {
			t.Errorf("%s is in no layer: add it to layers in layers_test.go and to docs/architecture.md", pkg)
			continue
		}
		for dep := range deps {
			if l := layerOf(dep); l > me {
				t.Errorf("%s (%s) imports %s (%s), a higher layer", pkg, layers[me].name, dep, layers[l].name)
			}
			for _, f := range forbidden {
				if (pkg == f.from || strings.HasPrefix(pkg, f.from+"/")) && (dep == f.to || strings.HasPrefix(dep, f.to+"/")) {
					t.Errorf("%s imports %s: %s", pkg, dep, f.why)
				}
			}
		}
	}
}

// TestLayersCatchViolations: the check itself fails on the violations it
// is for (so a broken layerOf cannot pass silently).
func TestLayersCatchViolations(t *testing.T) {
	tests := []struct {
		from, to string
		upward   bool
	}{
		{"internal/store/sqlite", "internal/api", true},
		{"internal/guard", "internal/analysis", true},
		{"internal/vision/blazeface", "internal/sealed", true},
		{"internal/api", "internal/consent", false},
		{"internal/store/sqlite", "internal/store", false},
		{"cmd/obscura", "internal/wire", false},
		{"internal/wire/core", "internal/testkit", true},
	}
	for _, tt := range tests {
		if got := layerOf(tt.to) > layerOf(tt.from); got != tt.upward {
			t.Errorf("%s → %s upward = %v, want %v", tt.from, tt.to, got, tt.upward)
		}
	}
	if layerOf("internal/nosuch") != -1 {
		t.Error("an unknown package has a layer")
	}
}
