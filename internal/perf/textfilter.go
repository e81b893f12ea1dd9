package perf

import (
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/textfilter"
)

// filterCaptions are the captions the text-filter benchmark checks: meme
// captions, a user caption with evasions and OCR-like text.
var filterCaptions = []string{
	"When the pizza arrives before you finish setting the table",
	"Me waiting for the weekend like",
	"that moment when the wifi finally connects",
	"POV: ur d1abet1c and someone brings donuts",
	"Greetings from Paris! Call me at 555-867-5309",
	"ＳＡＬＥ ５０％ ＯＦＦ ｗｗｗ.ｅｘａｍｐｌｅ.ｃｏｍ",
	"Nobody: Absolutely nobody: My dog at 3am",
	"She just turned 40 and she's fabulous",
}

// TextFilterRow is the text filter's throughput beside its baseline: the
// cheapest pass over the same captions (lower-case and split into words).
type TextFilterRow struct {
	CaptionsPerSec float64 `json:"captions_per_sec"`
	BaselinePerSec float64 `json:"baseline_per_sec"`
	Ratio          float64 `json:"ratio"` // filter / baseline
}

// RunTextFilter measures textfilter.Check and the baseline in the same run.
func RunTextFilter() (TextFilterRow, error) {
	f, err := textfilter.New()
	if err != nil {
		return TextFilterRow{}, err
	}
	perSec := func(op func(string)) float64 {
		r := testing.Benchmark(func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				op(filterCaptions[i%len(filterCaptions)])
			}
		})
		return float64(r.N) / r.T.Seconds()
	}
	row := TextFilterRow{
		CaptionsPerSec: perSec(func(s string) { f.Check(s, textfilter.Options{Names: []string{"Jessica Moore"}}) }),
		BaselinePerSec: perSec(func(s string) { _ = strings.Fields(strings.ToLower(s)) }),
	}
	row.Ratio = row.CaptionsPerSec / row.BaselinePerSec
	return row, nil
}
