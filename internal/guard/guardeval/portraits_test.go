package guardeval

import (
	"bytes"
	"image"
	_ "image/jpeg" // the portraits are JPEG
	"os"
	"path/filepath"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard/squeeze"
)

// TestFaceSqueezeBenignPortraits widens the guard's held-out natural faces
// beyond the sample group photos: two public-domain portraits that
// Debian's matplotlib and scikit-image packages ship
// (testdata/portraits/README.md gives their sources and licences), with
// the same degraded variants as TestFaceSqueezeBenign. They were chosen
// and committed in session 9 before the guard was run on them, and
// nothing was fitted on them. Measured once, session 9: 4 of 24 faces
// flagged, all of them Eileen Collins's portrait (as committed 2.39, JPEG
// 90 2.52, σ 6 noise 2.41, 480 px 2.21; its other variants 1.30–2.18);
// Grace Hopper's 12 faces score −2.23 to 2.00. The target
// (≤ 0.5% of natural faces) is not met here (docs/guards.md). The bound
// is the measured count, so that a regression fails; a fix that flags
// fewer should lower it.
func TestFaceSqueezeBenignPortraits(t *testing.T) {
	m := loadModels(t)
	s := squeeze.New()
	files, err := filepath.Glob(filepath.Join("testdata", "portraits", "*.jpg"))
	if err != nil || len(files) != 2 {
		t.Fatalf("portraits: %v, %d files", err, len(files))
	}
	var jobs []benignJob
	for i, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src, _, err := image.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, benignJobs(t, filepath.Base(f), raw, src, uint64(100+i))...)
	}
	n, flagged, worst := screenBenign(t, m, s, jobs)
	t.Logf("portraits: %d of %d natural faces flagged; highest score %.2f (threshold %.2f)", flagged, n, worst, s.Threshold)
	if n < 20 {
		t.Errorf("only %d faces measured", n)
	}
	if flagged > 4 {
		t.Errorf("%d of %d natural faces flagged, want ≤ 4 (measured 4; target ≤ 0.5%%)", flagged, n)
	}
}
