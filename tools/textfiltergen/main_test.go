package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Korea, Republic of", "korea"},
		{"Bolivia (Plurinational State of)", "bolivia"},
		{"A Coruña [La Coruña]", "a coruna"},
		{"'Asīr", "asir"},
		{"//Karas", "karas"},
		{"Île-de-France", "ile-de-france"},
		{"  New   York ", "new york"},
		{"", ""},
	} {
		if got := cleanName(tt.in); got != tt.want {
			t.Errorf("cleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAmbiguous(t *testing.T) {
	words := map[string]bool{"turkey": true, "nice": true, "north": true, "west": true, "hail": true, "salt": true, "lake": true, "city": true}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"turkey", true},
		{"nice", true},
		{"north west", true},
		{"salt lake city", true},
		{"ha'il", true}, // reads as "hail" once the apostrophe goes
		{"bar", true},   // shorter than four letters
		{"paris", false},
		{"new york", false},
		{"west bengal", false},
	} {
		if got := ambiguous(tt.name, words); got != tt.want {
			t.Errorf("ambiguous(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestConfusables(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "c.json")
	// a: Cyrillic а and fullwidth ａ; o: Greek ο; l: palochka also looks like
	// I and 1, and l (lower case) wins; the ASCII 0 for O is not kept.
	doc := `{"a":[{"c":"а"},{"c":"ａ"}],"o":[{"c":"ο"}],"O":[{"c":"0"}],"I":[{"c":"ӏ"}],"l":[{"c":"ӏ"}],"1":[{"c":"ӏ"}],"rn":[{"c":"m"}]}`
	if err := os.WriteFile(in, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "c.tsv")
	if err := writeConfusables(in, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			rows = append(rows, l)
		}
	}
	want := []string{"03BF\to", "0430\ta", "04CF\tl", "FF41\ta"}
	if strings.Join(rows, "|") != strings.Join(want, "|") {
		t.Errorf("rows = %q, want %q", rows, want)
	}
}
