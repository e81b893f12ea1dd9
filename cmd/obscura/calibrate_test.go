package main

import (
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/vision"
)

// TestCompareLine: `faces compare` says which of the three answers it
// gives and why, and "match" is true only for a match.
func TestCompareLine(t *testing.T) {
	unit := func(c float64) ([]float32, []float32) {
		return []float32{1, 0}, []float32{float32(c), 0}
	}
	for _, tc := range []struct {
		sim  float64
		want string
	}{
		{0.9, "similarity 0.90: match (at or above 0.42), match true"},
		{0.40, "similarity 0.40: unsure (0.35 to 0.42: look-alike different people score here too), match false"},
		{0.2, "similarity 0.20: no_match (below 0.35), match false"},
	} {
		a, b := unit(tc.sim)
		m := vision.Compare(a, b)
		if got := compareLine(m); got != tc.want {
			t.Errorf("similarity %v: %q, want %q", tc.sim, got, tc.want)
		}
		if m.Match != strings.Contains(tc.want, ": match ") {
			t.Errorf("similarity %v: Match %v", tc.sim, m.Match)
		}
	}
}
