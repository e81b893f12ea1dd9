package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Issue 19 "done when": TTL expiry under an injected clock → nothing
// left. The server is a test build of cmd/obscura (build tag
// obscuratestclock, cmd/obscura/testclock.go) whose clock is the system
// time plus an offset read from a file, so the test moves the server past
// draft_ttl (the default hour) without sleeping for it; the real sweeper
// (every second here) then removes the drafts' records and sealed blobs.

// testClockEnv is the variable cmd/obscura/testclock.go reads.
const testClockEnv = "OBSCURA_TEST_CLOCK_FILE"

// testClockBinary builds cmd/obscura with the test clock once per run.
var testClockBinary = sync.OnceValues(func() (string, error) {
	return buildObscura("obscura-e2e-testclock", "-tags", "obscuratestclock")
})

// setClock moves the test server's clock to the system time plus d. The
// file is replaced atomically, so the server never reads a half-written
// offset.
func setClock(t *testing.T, path string, d time.Duration) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(d.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestMemeDraftTTLInjectedClock(t *testing.T) {
	t.Parallel()
	bin, err := testClockBinary()
	if err != nil {
		t.Fatalf("build with -tags obscuratestclock: %v", err)
	}
	data := t.TempDir()
	tn := createTenant(t, data, "Meme TTL E2E")
	clockFile := filepath.Join(t.TempDir(), "clock-offset")
	s := startServerBinary(t, bin, data, testClockEnv+"="+clockFile, "OBSCURA_SWEEP_EVERY=1s") // draft_ttl: the default hour
	key := tn.APIKey
	const subj = "meme-ttl-subject-e2e-4417"
	src := uploadPhotoAs(t, s, key, subj, samplePhoto(t))
	grantPurpose(t, s, key, subj, "meme_generation", "")

	made := time.Now()
	code, b := do(t, "POST", s.base+"/v1/assets/"+src+"/memes", key, []byte(`{"count":2}`))
	var drafts memeDrafts
	if json.Unmarshal(b, &drafts); code != 201 || len(drafts.Drafts) != 2 {
		t.Fatalf("memes: %d %s", code, b)
	}
	for _, d := range drafts.Drafts {
		if ttl := d.ExpiresAt.Sub(made); ttl < 59*time.Minute || ttl > 61*time.Minute {
			t.Fatalf("draft expires in %s, want the default draft_ttl of 1h", ttl)
		}
	}
	left := func() (ids []string, blobs, rows int) {
		return listDrafts(t, s, key, subj), memeBlobs(t, data, "meme_generation"), countRows(t, data, "SELECT count(*) FROM drafts")
	}
	if ids, blobs, rows := left(); len(ids) != 2 || blobs != 2 || rows != 2 {
		t.Fatalf("after creation: %d drafts listed, %d blobs, %d rows; want 2 of each", len(ids), blobs, rows)
	}

	// A minute before the TTL ends, sweeps come and go (every second of
	// real time) and the drafts stay: the clock alone decides.
	setClock(t, clockFile, 59*time.Minute)
	time.Sleep(2500 * time.Millisecond)
	if ids, blobs, rows := left(); len(ids) != 2 || blobs != 2 || rows != 2 {
		t.Fatalf("before the TTL: %d drafts listed, %d blobs, %d rows; want 2 of each", len(ids), blobs, rows)
	}

	// Past the TTL: the next sweep removes records and sealed blobs.
	setClock(t, clockFile, 61*time.Minute)
	// The sweep runs every second; the deadline only bounds a server that
	// never sweeps (a loaded machine has stretched a sweep and the
	// listing to seconds).
	deadline := time.Now().Add(90 * time.Second)
	ids, blobs, rows := left()
	for time.Now().Before(deadline) && len(ids)+blobs+rows > 0 {
		time.Sleep(250 * time.Millisecond)
		ids, blobs, rows = left()
	}
	if len(ids)+blobs+rows > 0 {
		t.Fatalf("after the TTL: %d drafts listed, %d blobs, %d rows left; want none", len(ids), blobs, rows)
	}
	if waited := time.Since(made); waited > 5*time.Minute {
		t.Errorf("expiry took %s of real time for a 1 h TTL", waited)
	}
	for _, d := range drafts.Drafts {
		if code, _ := do(t, "POST", s.base+"/v1/drafts/"+d.DraftID+"/download", key, nil); code != 404 {
			t.Errorf("an expired draft still downloads: %d", code)
		}
	}
}

// TestProductionBinaryHasNoTestClock: the binary every other e2e test runs
// (built without tags, as `make build` and releases are) carries none of
// the test clock: not its environment variable, its type or its messages.
// The test build carries all three, which shows the scan can find them.
func TestProductionBinaryHasNoTestClock(t *testing.T) {
	t.Parallel()
	prod, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	test, err := testClockBinary()
	if err != nil {
		t.Fatal(err)
	}
	markers := []string{testClockEnv, "main.fileClock", "test clock: "}
	for _, c := range []struct {
		bin  string
		want bool
	}{{prod, false}, {test, true}} {
		b, err := os.ReadFile(c.bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range markers {
			if got := bytes.Contains(b, []byte(m)); got != c.want {
				t.Errorf("%s contains %q: %v, want %v", filepath.Base(filepath.Dir(c.bin)), m, got, c.want)
			}
		}
	}
}
