package textfilter

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// checkVerdict asserts what every verdict must satisfy.
func checkVerdict(t *testing.T, text string, v Verdict) {
	t.Helper()
	if v.Allowed != (len(v.Categories) == 0) {
		t.Fatalf("Check(%q): Allowed = %v with %v", text, v.Allowed, v.Categories)
	}
	valid := Categories()
	for i, c := range v.Categories {
		if !slices.Contains(valid, c) {
			t.Fatalf("Check(%q): unknown category %q", text, c)
		}
		if i > 0 && v.Categories[i-1] >= c {
			t.Fatalf("Check(%q): categories not sorted and unique: %v", text, v.Categories)
		}
	}
}

// FuzzCheck: Check never panics, its verdict is consistent, and it is
// idempotent under normalisation (NFKC; upper case only adds).
func FuzzCheck(f *testing.F) {
	for _, path := range []string{"testdata/tuning.tsv", "testdata/heldout.tsv"} {
		fh, err := os.Open(path)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if fs := strings.Split(sc.Text(), "\t"); len(fs) >= 2 && !strings.HasPrefix(fs[0], "#") {
				f.Add(fs[1], "Jessica Moore")
			}
		}
		fh.Close()
	}
	f.Add("d\u200bi\u0308a b.e-t_i¢", "")
	f.Add("\u202e\U000E0041𝐝𝐢𝐚", "ꓐ")
	flt := shared(f)
	f.Fuzz(func(t *testing.T, text, name string) {
		o := Options{Names: []string{name}}
		v := flt.Check(text, o)
		checkVerdict(t, text, v)
		if w := flt.Check(norm.NFKC.String(text), o); !slices.Equal(v.Categories, w.Categories) {
			t.Fatalf("Check(%q) = %v but Check(NFKC) = %v", text, v, w)
		}
		if isASCII(text) {
			// Capitals can only add (ambiguous place names); case never
			// removes a category.
			lo, up := flt.Check(strings.ToLower(text), o), flt.Check(strings.ToUpper(text), o)
			for _, c := range lo.Categories {
				if !slices.Contains(up.Categories, c) {
					t.Fatalf("Check(%q) = %v but upper case = %v", strings.ToLower(text), lo, up)
				}
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
