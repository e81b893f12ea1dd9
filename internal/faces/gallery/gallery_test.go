package gallery

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/gallery-v2.bin")

func sampleGallery() *Gallery {
	return &Gallery{Dim: 3,
		People: []Person{{ID: "per_a", Name: "Ann"}, {ID: "per_b", Name: "Bjørn"}},
		Templates: []Template{
			{ID: "tpl_1", Person: "per_a", Vector: []float32{1, 0, 0}},
			{ID: "tpl_2", Person: "per_a", Vector: []float32{0.6, 0.8, 0}},
			{ID: "tpl_3", Person: "per_b", Vector: []float32{0, 0, 1}},
		}}
}

// TestGalleryVector pins the on-disk encoding (docs/spec/gallery-v2.md).
func TestGalleryVector(t *testing.T) {
	path := filepath.Join("testdata", "gallery-v2.bin")
	got := sampleGallery().Marshal()
	if *update {
		os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding changed:\n got %x\nwant %x", got, want)
	}
	g, err := Unmarshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.Marshal(), want) || len(g.People) != 2 || g.People[1].Name != "Bjørn" || g.Count("per_a") != 2 {
		t.Errorf("round trip: %+v", g)
	}
}

// TestGalleryV1Migrates: a version-1 gallery (written before templates
// carried their model) still decodes; its templates are FaceRes's (by
// length) and it re-encodes as version 2 with the same content.
func TestGalleryV1Migrates(t *testing.T) {
	v1, err := os.ReadFile(filepath.Join("testdata", "gallery-v1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := Unmarshal(v1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.Marshal(), sampleGallery().Marshal()) {
		t.Errorf("v1 gallery re-encodes differently: %+v", g)
	}
	for _, tp := range g.Templates {
		if tp.Model != "dim3" {
			t.Errorf("template %s model %q, want by length", tp.ID, tp.Model)
		}
	}
	real := &Gallery{Dim: 1024, People: []Person{{ID: "per_a", Name: "A"}}, Templates: []Template{{ID: "tag_1", Person: "per_a", Vector: make([]float32, 1024)}}}
	if got := ModelOf(real.Templates[0].Vector); got != "faceres-hse-1024" {
		t.Errorf("1024-d model %q", got)
	}
	if real.Stale() != 1 {
		t.Errorf("a FaceRes template is not stale")
	}
}

// TestMatchSkipsOtherModels: templates of another model are never compared
// with the query, even with equal lengths (a regression test for mixing
// FaceRes and ArcFace spaces).
func TestMatchSkipsOtherModels(t *testing.T) {
	g := &Gallery{People: []Person{{ID: "per_a", Name: "A"}, {ID: "per_b", Name: "B"}},
		Templates: []Template{
			{ID: "t1", Person: "per_a", Model: "old", Vector: []float32{1, 0, 0}},
			{ID: "t2", Person: "per_b", Model: "new", Vector: []float32{0, 1, 0}},
			{ID: "t3", Person: "per_b", Vector: []float32{1, 0}},
		}}
	if got := g.MatchModel("new", []float32{1, 0, 0}, 0.1, 3); len(got) != 0 {
		t.Errorf("matched across models: %+v", got)
	}
	if got := g.MatchModel("old", []float32{1, 0, 0}, 0.5, 3); len(got) != 1 || got[0].Person.ID != "per_a" {
		t.Errorf("same model: %+v", got)
	}
	// Unlabelled templates take their model from their length.
	if got := g.Match([]float32{1, 0, 0}, 0.5, 3); len(got) != 0 {
		t.Errorf("a 3-d query matched a labelled template of another model: %+v", got)
	}
	if got := g.Match([]float32{1, 0}, 0.5, 3); len(got) != 1 || got[0].Person.ID != "per_b" {
		t.Errorf("a 2-d query: %+v", got)
	}
}

func TestUnmarshalGalleryRejects(t *testing.T) {
	good := sampleGallery().Marshal()
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte{}, good...)) }
	tests := map[string][]byte{
		"empty":              nil,
		"bad magic":          mut(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version 3":          mut(func(b []byte) []byte { b[4] = 3; return b }),
		"version 1 zero dim": []byte("OBGL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		"zero dim":           (&Gallery{People: []Person{{ID: "per_a", Name: "A"}}, Templates: []Template{{ID: "t", Person: "per_a", Model: "m"}}}).Marshal(),
		"model with space":   (&Gallery{People: []Person{{ID: "per_a", Name: "A"}}, Templates: []Template{{ID: "t", Person: "per_a", Model: "a b", Vector: []float32{1}}}}).Marshal(),
		"truncated":          good[:len(good)-1],
		"trailing":           append(append([]byte{}, good...), 0),
		"huge count":         mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[5:], 1<<30); return b }),
		"NaN value": mut(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-4:], math.Float32bits(float32(math.NaN())))
			return b
		}),
		"value above 1":  mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[len(b)-4:], math.Float32bits(2)); return b }),
		"unknown person": (&Gallery{Dim: 1, People: []Person{{ID: "per_a", Name: "A"}}, Templates: []Template{{ID: "t", Person: "per_x", Vector: []float32{1}}}}).Marshal(),
		"duplicate id":   (&Gallery{Dim: 1, People: []Person{{ID: "per_a", Name: "A"}, {ID: "per_a", Name: "B"}}}).Marshal(),
		"empty name":     (&Gallery{Dim: 1, People: []Person{{ID: "per_a", Name: ""}}}).Marshal(),
	}
	for name, b := range tests {
		if _, err := Unmarshal(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestMatch(t *testing.T) {
	g := sampleGallery()
	// Closest to per_a's second template (0.6·0.8 + 0.8·0.6 = 0.96), and to
	// per_a's first at 0.8; per_b at 0.
	got := g.Match([]float32{0.8, 0.6, 0}, 0.5, 3)
	if len(got) != 1 || got[0].Person.ID != "per_a" || math.Abs(got[0].Score-0.96) > 1e-6 {
		t.Errorf("Match = %+v", got)
	}
	if got := g.Match([]float32{0.8, 0.6, 0}, 0.97, 3); len(got) != 0 {
		t.Errorf("above threshold: %+v", got)
	}
	both := g.Match([]float32{0, 0.6, 0.8}, 0.4, 3)
	if len(both) != 2 || both[0].Person.ID != "per_b" {
		t.Errorf("ranking: %+v", both)
	}
	if one := g.Match([]float32{0, 0.6, 0.8}, 0.4, 1); len(one) != 1 {
		t.Errorf("k=1: %+v", one)
	}
}

func FuzzUnmarshalGallery(f *testing.F) {
	f.Add(sampleGallery().Marshal())
	f.Add([]byte("OBGL\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	if v1, err := os.ReadFile(filepath.Join("testdata", "gallery-v1.bin")); err == nil {
		f.Add(v1)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error outside ErrMalformed: %v", err)
			}
			return
		}
		// Version 2 round-trips exactly; version 1 becomes version 2 with
		// the same content.
		out := g.Marshal()
		if b[4] == 2 && !bytes.Equal(out, b) {
			t.Fatalf("accepted bytes do not round-trip")
		}
		g2, err := Unmarshal(out)
		if err != nil || !bytes.Equal(g2.Marshal(), out) {
			t.Fatalf("re-encoded gallery does not decode to itself: %v", err)
		}
		people := map[string]bool{}
		for _, p := range g.People {
			people[p.ID] = true
		}
		for _, tp := range g.Templates {
			if !people[tp.Person] {
				t.Fatalf("template %q of unlisted person %q accepted", tp.ID, tp.Person)
			}
		}
	})
}

// TestGalleryIDNamespaces is the regression for person and template ids
// sharing one seen-map: a template could name another template ("t:"+id)
// as its person, and a person id "t:x" refused a template "x".
func TestGalleryIDNamespaces(t *testing.T) {
	orphan := sampleGallery()
	orphan.Templates = append(orphan.Templates, Template{ID: "tpl_4", Person: "t:tpl_1", Vector: []float32{1, 0, 0}})
	if _, err := Unmarshal(orphan.Marshal()); !errors.Is(err, ErrMalformed) {
		t.Errorf("template of a template id: err = %v, want ErrMalformed", err)
	}
	ok := &Gallery{Dim: 3, People: []Person{{ID: "t:x", Name: "X"}}, Templates: []Template{{ID: "x", Person: "t:x", Vector: []float32{1, 0, 0}}}}
	if _, err := Unmarshal(ok.Marshal()); err != nil {
		t.Errorf("person t:x with template x: %v", err)
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{100, 10000, 100000} {
		g := &Gallery{Dim: 1024}
		people := n / 10
		for p := range people {
			g.People = append(g.People, Person{ID: "per_" + string(rune('a'+p%26)) + string(rune(p)), Name: "x"})
		}
		v := make([]float32, 1024)
		for i := range n {
			t := make([]float32, 1024)
			t[i%1024] = 1
			g.Templates = append(g.Templates, Template{ID: "t", Person: g.People[i%people].ID, Vector: t})
		}
		v[7] = 1
		b.Run(itoa(n), func(b *testing.B) {
			for b.Loop() {
				g.Match(v, 0.78, 3)
			}
		})
	}
}

func itoa(n int) string {
	switch n {
	case 100:
		return "gallery-100"
	case 10000:
		return "gallery-10k"
	}
	return "gallery-100k"
}
