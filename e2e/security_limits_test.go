package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/sanitize/sanitizetest"
)

// Security regressions for issue 16 findings 1 and 2 (rate classes,
// tenant-wide limits, upload amplification) against a real `obscura serve`.
//
// OBSCURA_E2E_BINARY runs these against another build (e.g. the one before
// the fix) to measure it; the figures are logged with -v.

// limitsServer starts `obscura serve` on data (startServer honours
// OBSCURA_E2E_BINARY).
func limitsServer(t *testing.T, data string, env ...string) *server {
	t.Helper()
	return startServer(t, data, env...)
}

// limitsDo sends one request and returns the status, Retry-After and the
// problem code (if any) and body.
func limitsDo(t *testing.T, method, url, key string, body []byte) (int, string, string, []byte) {
	t.Helper()
	code, h, b := request(t, &http.Client{Timeout: 3 * time.Minute}, method, url, key, body, nil)
	var p struct {
		Code string `json:"code"`
	}
	json.Unmarshal(b, &p)
	return code, h.Get("Retry-After"), p.Code, b
}

// limitsUploadURL asks for a single-use upload URL.
func limitsUploadURL(t *testing.T, s *server, key, ctype string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"subject": "bomb-subject", "content_type": ctype})
	code, _, _, b := limitsDo(t, "POST", s.base+"/v1/uploads", key, body)
	if code != 201 {
		t.Fatalf("create upload: %d %s", code, b)
	}
	var up struct {
		UploadURL string `json:"upload_url"`
	}
	json.Unmarshal(b, &up)
	return up.UploadURL
}

// Finding 16.1: the analysis class applies to analyze and face suggestions,
// the tenant-wide bucket caps a tenant however many keys it mints, and PUT
// /v1/upload/{token} is limited per client address.
func TestSecurityLimitsRateClasses(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tn := createTenant(t, data, "Limits App")
	s := limitsServer(t, data)
	// untilRefused counts requests before the first 429, and returns how
	// many a bucket of burst b refilling at r/s may let through in the
	// time that took (burst + refill + one in flight).
	type refusal struct {
		n, code int
		ra, c   string
		allowed func(burst int, rate float64) int
	}
	untilRefused := func(max int, send func(i int) (int, string, string, []byte)) refusal {
		start := time.Now()
		for i := range max {
			code, ra, c, _ := send(i)
			if code == http.StatusTooManyRequests {
				el := time.Since(start).Seconds()
				return refusal{i, code, ra, c, func(b int, r float64) int { return b + int(math.Ceil(r*el)) + 1 }}
			}
		}
		return refusal{n: max, allowed: func(int, float64) int { return -1 }}
	}
	// The rate limit runs before the handler: a missing asset is enough.
	r := untilRefused(150, func(int) (int, string, string, []byte) {
		return limitsDo(t, "POST", s.base+"/v1/assets/ast_missing/analyze", tn.APIKey, []byte(`{"features":["tags"]}`))
	})
	if r.n < 20 || r.n > r.allowed(20, 10) || r.c != "rate_limited" || r.ra == "" {
		t.Errorf("analyze: %d requests before %d %s (Retry-After %q), want the analysis burst 20 (+ refill at 10/s: at most %d)", r.n, r.code, r.c, r.ra, r.allowed(20, 10))
	}
	r = untilRefused(150, func(int) (int, string, string, []byte) {
		return limitsDo(t, "POST", s.base+"/v1/assets/ast_missing/faces/suggest", tn.APIKey, nil)
	})
	if r.n > r.allowed(0, 10) {
		t.Errorf("face suggestions after the analyze burst: %d got through, want only the refill (same class, same key)", r.n)
	}

	// Four more keys: the tenant still gets the tenant-wide burst (40), not 5×20.
	keys := []string{}
	for range 5 {
		code, _, _, b := limitsDo(t, "POST", s.base+"/v1/keys", tn.APIKey, []byte(`{"scopes":["analyze"]}`))
		var k struct {
			APIKey string `json:"api_key"`
		}
		if json.Unmarshal(b, &k); code != 201 || k.APIKey == "" {
			t.Fatalf("create key: %d %s", code, b)
		}
		keys = append(keys, k.APIKey)
	}
	time.Sleep(2 * time.Second) // the tenant bucket refills 20/s: full again
	r = untilRefused(300, func(i int) (int, string, string, []byte) {
		return limitsDo(t, "POST", s.base+"/v1/assets/ast_missing/analyze", keys[i%5], []byte(`{"features":["tags"]}`))
	})
	if r.n < 40 || r.n > r.allowed(40, 20) {
		t.Errorf("five fresh keys of one tenant: %d analyses before 429, want the tenant burst 40 (+ refill at 20/s: at most %d), not 5×20", r.n, r.allowed(40, 20))
	}

	// PUT /v1/upload/{token}: 20 from one address, then 429 (even with
	// forged tokens: the address limit is checked first).
	r = untilRefused(100, func(i int) (int, string, string, []byte) {
		return limitsDo(t, "PUT", s.base+"/v1/upload/forged"+strconv.Itoa(i), "", []byte("x"))
	})
	if r.n < 20 || r.n > r.allowed(20, 10) || r.c != "rate_limited" || r.ra == "" {
		t.Errorf("PUT upload: %d before %d %s (Retry-After %q), want 20 (+ refill at 10/s: at most %d) then 429", r.n, r.code, r.c, r.ra, r.allowed(20, 10))
	}
}

// limitsProcStatus reads VmRSS and VmHWM (peak RSS) of a process, in MB.
func limitsProcStatus(t *testing.T, pid int) (rss, hwm int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "VmRSS:" || f[0] == "VmHWM:") {
			kb, _ := strconv.Atoi(f[1])
			if f[0] == "VmRSS:" {
				rss = kb / 1024
			} else {
				hwm = kb / 1024
			}
		}
	}
	return rss, hwm
}

// Finding 16.2: a 381 KB 16-bit 7000×7000 PNG with orientation 6 took 16 s
// and +760 MB, four at once 61 s and RSS 1.4 → 4.3 GB that stayed; a
// 575 KB 7000×7000 JPEG with orientation 6 took 18 s. Now the PNG is
// refused from its header, the JPEG (8-bit, within the documented limits)
// is accepted, four of them queue on the decode gate, and memory goes back
// after the burst.
func TestSecurityLimitsUploadAmplification(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tn := createTenant(t, data, "Bomb App")
	s := limitsServer(t, data)
	pid := s.cmd.Process.Pid
	png, jpg := sanitizetest.PNG(7000, 7000, 6), sanitizetest.JPEG(7000, 7000, 6)
	t.Logf("crafted PNG %d bytes, JPEG %d bytes", len(png), len(jpg))
	rss0, _ := limitsProcStatus(t, pid)

	put := func(file []byte, ctype string) (time.Duration, int, string) {
		url := limitsUploadURL(t, s, tn.APIKey, ctype)
		start := time.Now()
		code, _, c, _ := limitsDo(t, "PUT", url, "", file)
		return time.Since(start), code, c
	}
	four := func(file []byte, ctype string) (time.Duration, []int) {
		urls := make([]string, 4)
		for i := range urls {
			urls[i] = limitsUploadURL(t, s, tn.APIKey, ctype)
		}
		codes := make([]int, 4)
		var wg sync.WaitGroup
		start := time.Now()
		for i, u := range urls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _, _, _ = limitsDo(t, "PUT", u, "", file)
			}()
		}
		wg.Wait()
		return time.Since(start), codes
	}

	d, code, c := put(png, "image/png")
	rss, hwm := limitsProcStatus(t, pid)
	t.Logf("PNG once: %v → %d %s; RSS %d MB (start %d), peak %d MB", d.Round(time.Millisecond), code, c, rss, rss0, hwm)
	if code != 422 || c != "image_too_large" {
		t.Errorf("16-bit 49 MP PNG bomb: %d %s, want 422 image_too_large", code, c)
	}
	d4, codes := four(png, "image/png")
	rss, hwm = limitsProcStatus(t, pid)
	t.Logf("PNG ×4 at once: %v → %v; RSS %d MB, peak %d MB", d4.Round(time.Millisecond), codes, rss, hwm)
	if hwm-rss0 > 200 {
		t.Errorf("PNG bombs raised peak RSS by %d MB; refused from the header they should cost nothing", hwm-rss0)
	}

	d, code, c = put(jpg, "image/jpeg")
	rss, hwm1 := limitsProcStatus(t, pid)
	t.Logf("JPEG once: %v → %d %s; RSS %d MB, peak %d MB", d.Round(time.Millisecond), code, c, rss, hwm1)
	if code != 201 {
		t.Errorf("8-bit 49 MP JPEG (within the documented limits): %d %s, want 201", code, c)
	}
	d4, codes = four(jpg, "image/jpeg")
	rss, hwm4 := limitsProcStatus(t, pid)
	t.Logf("JPEG ×4 at once: %v → %v; RSS %d MB, peak %d MB", d4.Round(time.Millisecond), codes, rss, hwm4)
	for _, code := range codes {
		if code != 201 {
			t.Errorf("four JPEGs at once: %v, want all 201 (a queue, not a refusal)", codes)
			break
		}
	}
	// Decodes queue on the gate: four at once peak about like one.
	if hwm4-rss0 > 2*(hwm1-rss0)+150 {
		t.Errorf("four at once raised peak RSS by %d MB, one by %d MB: decodes were not bounded", hwm4-rss0, hwm1-rss0)
	}
	// Memory goes back after the burst (the decode gate frees it when it
	// goes idle, in its own goroutine: a loaded machine can take seconds to
	// get there, so the deadline only bounds memory that never goes back).
	var settled int
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		if settled, _ = limitsProcStatus(t, pid); settled-rss0 < 150 {
			break
		}
	}
	t.Logf("RSS after the burst: %d MB (start %d MB)", settled, rss0)
	if settled-rss0 >= 150 {
		t.Errorf("RSS stayed %d MB above its start after the burst", settled-rss0)
	}
}
