package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/perf/mediabench"
	"github.com/obscuraproject/obscura/internal/perf/serverbench"
)

// limitsLoadTarget prepares a server for serverbench.RunLoad: keys per kind of
// traffic, a consented, uploaded sample photo.
func limitsLoadTarget(t *testing.T, s *server, admin string) serverbench.LoadTarget {
	t.Helper()
	key := func(scope string) string {
		code, _, _, b := limitsDo(t, "POST", s.base+"/v1/keys", admin, []byte(`{"scopes":["`+scope+`"]}`))
		var k struct {
			APIKey string `json:"api_key"`
		}
		if json.Unmarshal(b, &k); code != 201 {
			t.Fatalf("create key: %d %s", code, b)
		}
		return k.APIKey
	}
	photo, err := models.Pinned().Load(models.DefaultDir(os.Getenv), "sample1.jpg")
	if err != nil {
		t.Fatal(err)
	}
	const subj = "load-subject"
	for _, p := range []string{"face_detection", "tagging", "sensitive_content"} {
		if code, _, _, b := limitsDo(t, "POST", s.base+"/v1/subjects/"+subj+"/consents", admin, []byte(`{"purpose":"`+p+`","notice_version":"1"}`)); code != 201 {
			t.Fatalf("grant %s: %d %s", p, code, b)
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	img.Set(0, 0, color.White)
	var small bytes.Buffer
	jpeg.Encode(&small, img, nil)
	return serverbench.LoadTarget{Base: s.base, AnalyzeKey: key("analyze"), ReadKey: key("ingest"), IngestKey: key("ingest"),
		AssetID: uploadPhotoAs(t, s, admin, subj, photo), Features: mediabench.AnalysisFeatures, Subject: subj, Upload: small.Bytes()}
}

// loadTargetP99ms is issue 17.6's target for reads and uploads under the
// mixed load.
const loadTargetP99ms = 50

// Issue 17.6: analyses saturating the CPU made cheap reads wait seconds
// (GET p50 2.4 s, p99 9.5 s at 72 req/s). With admission control the
// analyses beyond the queue are shed (503 overloaded, Retry-After) and
// reads and uploads stay fast.
//
// By default this runs the mix for 6 s against the default configuration
// and checks that analyses are shed and every read and upload answered.
// OBSCURA_LOAD=1 runs 10 s against a baseline in the same run (admission
// effectively off: 64 concurrent analyses, queue 10 000) and then the
// default, logs both tables (go test -v) and checks that the p99 of reads
// and uploads meets the target or is cut fourfold.
func TestLoadShedding(t *testing.T) {
	full := os.Getenv("OBSCURA_LOAD") == "1"
	if !full {
		// The default run asserts counts (some analyses shed, some done,
		// every read and upload answered), which other tests' load cannot
		// change: its gate of one slot is full either way. The full run
		// measures latency and runs alone.
		t.Parallel()
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average before: %s", strings.TrimSpace(string(la)))
		defer func() {
			la, _ := os.ReadFile("/proc/loadavg")
			t.Logf("load average after: %s", strings.TrimSpace(string(la)))
		}()
	}
	mix := serverbench.DefaultLoadMix
	mix.Duration = 6 * time.Second
	if full {
		mix.Duration = 10 * time.Second
	}
	run := func(name string, env ...string) map[string]serverbench.EndpointStats {
		data := t.TempDir()
		tn := createTenant(t, data, "Load App")
		s := limitsServer(t, data, env...)
		target := limitsLoadTarget(t, s, tn.APIKey)
		stats, err := serverbench.RunLoad(context.Background(), target, mix)
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]serverbench.EndpointStats{}
		for _, st := range stats {
			t.Logf("%-9s %s", name, st)
			by[st.Endpoint] = st
		}
		s.cmd.Process.Kill()
		return by
	}
	var base map[string]serverbench.EndpointStats
	if full {
		base = run("baseline", "OBSCURA_ANALYSIS_CONCURRENCY=64", "OBSCURA_ANALYSIS_QUEUE=10000")
	}
	// The default run makes the gate small enough that the mix saturates it
	// on any machine (an idle fast machine finished every analysis of the
	// default mix within the default gate); the full run uses the defaults.
	// The full run sets analysis_nice 10 (the server's threads and the
	// upload sanitizers take a contended core first), as on a dedicated
	// host; the default run leaves it off, as on the shared CI machine
	// (niced analyses would yield to every other build there).
	gate := []string{"OBSCURA_ANALYSIS_NICE=10"}
	if !full {
		gate = []string{"OBSCURA_ANALYSIS_CONCURRENCY=1", "OBSCURA_ANALYSIS_QUEUE=1"}
	}
	got := run("admission", gate...)
	if got["analyze"].Status["503 overloaded"] == 0 {
		t.Errorf("no analysis was shed under a saturating load: %v", got["analyze"].Status)
	}
	if got["analyze"].Status["200"] == 0 {
		t.Errorf("no analysis completed: %v", got["analyze"].Status)
	}
	for _, ep := range []string{"read", "upload"} {
		st := got[ep]
		if st.Count == 0 || st.Status["200"]+st.Status["201"] != st.Count {
			t.Errorf("%s: %v, want every request answered", ep, st.Status)
		}
		// The target is p99 ≤ 50 ms. On an idle machine that is what
		// counts: there the baseline's reads are fast already (p99 81 ms
		// without admission), so a fourfold cut cannot be asked of them.
		// On a machine busy with other work (CI runs builds and tests side
		// by side) no server can promise an absolute 50 ms; there the
		// baseline of the same run is slow too, and shedding plus the
		// lanes (cmd/obscura/lanes.go) must cut the p99 at least fourfold.
		// Either passes; a p99 that is neither fast nor cut fails.
		if full && st.P99ms > loadTargetP99ms && st.P99ms*4 > base[ep].P99ms {
			t.Errorf("%s p99 %.1f ms with admission (%.1f ms without): above %v ms and not a fourfold cut",
				ep, st.P99ms, base[ep].P99ms, loadTargetP99ms)
		}
	}
}
