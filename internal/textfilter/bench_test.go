package textfilter

import (
	"strings"
	"testing"
)

// splitLower is the baseline BenchmarkCheck is compared with: lower-case
// and split into words, the cheapest pass any word filter makes.
func splitLower(s string) []string { return strings.Fields(strings.ToLower(s)) }

// benchCaptions are typical inputs: generated captions, user captions, OCR.
var benchCaptions = []string{
	"When the pizza arrives before you finish setting the table",
	"Me waiting for the weekend like",
	"that moment when the wifi finally connects",
	"POV: ur d1abet1c and someone brings donuts",
	"Greetings from Paris! Call me at 555-867-5309",
	"ＳＡＬＥ ５０％ ＯＦＦ ｗｗｗ.ｅｘａｍｐｌｅ.ｃｏｍ",
	"Nobody: Absolutely nobody: My dog at 3am",
	"She just turned 40 and she's fabulous",
}

// BenchmarkCheck measures filter throughput; captions/s is reported.
func BenchmarkCheck(b *testing.B) {
	f := shared(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		f.Check(benchCaptions[n%len(benchCaptions)], Options{Names: []string{"Jessica Moore"}})
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "captions/s")
}

// BenchmarkBaselineLower is the same-run baseline: the cheapest pass over
// the same captions (lower-casing and splitting into words), so the ratio
// shows what the filter costs beyond touching the text at all.
func BenchmarkBaselineLower(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		_ = splitLower(benchCaptions[n%len(benchCaptions)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "captions/s")
}

// BenchmarkNew measures loading the embedded data.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := loadLexicon(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUntrusted measures cleaning OCR text.
func BenchmarkUntrusted(b *testing.B) {
	n := 0
	for b.Loop() {
		Untrusted(benchCaptions[n%len(benchCaptions)], 200)
		n++
	}
}
