package calibrate

import "fmt"

// Band is the figures of a three-way decision: "match" at or above Upper,
// "no match" below Lower, "unsure" in between (arcface.Decide). The error
// rates count decided pairs only; the unsure shares say how many pairs
// were not decided, so that errors cannot hide there unseen.
type Band struct {
	Lower float64 `json:"unsure_from"` // -1: each fold's own
	Upper float64 `json:"match_from"`
	// FMR is the share of decided impostor pairs answered "match"; FNMR the
	// share of decided genuine pairs answered "no match".
	FMR      float64 `json:"decided_fmr"`
	FNMR     float64 `json:"decided_fnmr"`
	Balanced float64 `json:"decided_balanced_accuracy"`
	// Unsure shares: of genuine pairs, of impostor pairs, of all pairs.
	UnsureGenuine  float64 `json:"unsure_genuine"`
	UnsureImpostor float64 `json:"unsure_impostor"`
	Unsure         float64 `json:"unsure"`
}

// bandCounts accumulates a three-way decision's outcomes over sets of
// pairs, each set with its own thresholds.
type bandCounts struct{ fm, fnm, ug, ui, gen, imp int }

func (c *bandCounts) add(s Scores, lower, upper float64) {
	for _, v := range s.Impostor {
		switch {
		case v >= upper:
			c.fm++
		case v >= lower:
			c.ui++
		}
	}
	for _, v := range s.Genuine {
		switch {
		case v < lower:
			c.fnm++
		case v < upper:
			c.ug++
		}
	}
	c.gen += len(s.Genuine)
	c.imp += len(s.Impostor)
}

func (c bandCounts) band(lower, upper float64) Band {
	b := Band{Lower: lower, Upper: upper,
		FMR: ratio(c.fm, c.imp-c.ui), FNMR: ratio(c.fnm, c.gen-c.ug),
		UnsureGenuine: ratio(c.ug, c.gen), UnsureImpostor: ratio(c.ui, c.imp), Unsure: ratio(c.ug+c.ui, c.gen+c.imp)}
	b.Balanced = 1 - (b.FMR+b.FNMR)/2
	return b
}

// Band is the three-way decision's figures on s: unsure from lower, match
// from upper.
func (s Scores) Band(lower, upper float64) Band {
	var c bandCounts
	c.add(s, lower, upper)
	return c.band(lower, upper)
}

// text is the band's figures for people to read.
func (b Band) text() string {
	return fmt.Sprintf("decided FMR %.2f%%, FNMR %.2f%%, balanced accuracy %.2f%%; unsure %.2f%% of genuine, %.2f%% of impostor, %.2f%% of all pairs",
		100*b.FMR, 100*b.FNMR, 100*b.Balanced, 100*b.UnsureGenuine, 100*b.UnsureImpostor, 100*b.Unsure)
}
