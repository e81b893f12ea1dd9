package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/jobs"
	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

var (
	engineOnce sync.Once
	engine     *vision.Engine
	engineErr  error
)

// testEngine is the real vision engine, opened once for the package.
func testEngine(t *testing.T) *vision.Engine {
	t.Helper()
	dir := visiontest.Dir(t)
	engineOnce.Do(func() { engine, engineErr = vision.Open(models.Pinned(), dir, vision.Options{Threads: 2}) })
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engine
}

// uploadPhoto stores a pinned sample photo for subject and returns its asset id.
func (e *uploadEnv) uploadPhoto(t *testing.T, tenant, subject, sample string) string {
	t.Helper()
	return e.uploadAs(t, tenant, subject, "image/jpeg", visiontest.Load(t, sample))
}

// uploadAs stores an image of content type ctype for subject under tenant's
// key and returns its asset id.
func (e *uploadEnv) uploadAs(t *testing.T, tenant, subject, ctype string, data []byte) string {
	t.Helper()
	code, _, b := e.req(t, "POST", e.srv.URL+"/v1/uploads", e.keys[tenant], "application/json",
		[]byte(`{"subject":"`+subject+`","content_type":"`+ctype+`"}`))
	if code != 201 {
		t.Fatalf("create upload: %d %s", code, b)
	}
	var up struct {
		UploadURL string `json:"upload_url"`
	}
	json.Unmarshal(b, &up)
	code, _, b = e.req(t, "PUT", up.UploadURL, "", ctype, data)
	if code != 201 {
		t.Fatalf("upload: %d %s", code, b)
	}
	var as struct {
		AssetID string `json:"asset_id"`
	}
	json.Unmarshal(b, &as)
	return as.AssetID
}

func (e *uploadEnv) grant(t *testing.T, tenant, subject string, purposes ...string) {
	t.Helper()
	for _, p := range purposes {
		if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/subjects/"+subject+"/consents", e.keys[tenant], "application/json",
			[]byte(`{"purpose":"`+p+`","notice_version":"v1"}`)); code != 201 && code != 200 {
			t.Fatalf("grant %s: %d %s", p, code, b)
		}
	}
}

// keysOf collects every JSON object key in v, recursively.
func keysOf(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			into[k] = true
			keysOf(c, into)
		}
	case []any:
		for _, c := range x {
			keysOf(c, into)
		}
	}
}

func TestAnalyzeConsentHardeningStorageAndRetention(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	id := e.uploadPhoto(t, "a", "alice", "sample1.jpg")
	url := e.srv.URL + "/v1/assets/" + id + "/analyze"
	body := []byte(`{"features":["faces","tags","sensitive","text"]}`)

	// No consent: refused, naming every purpose missing (issue 17.11); nothing stored.
	code, _, b := e.req(t, "POST", url, e.keys["a"], "application/json", body)
	var refusal Problem
	json.Unmarshal(b, &refusal)
	if code != http.StatusForbidden || refusal.Code != "consent_required" || refusal.Purpose != "face_detection" ||
		strings.Join(refusal.Purposes, ",") != "face_detection,tagging,sensitive_content,text_detection" {
		t.Fatalf("without consent: %d %s", code, b)
	}
	// Some purposes granted, one missing: still refused, for the missing one.
	e.grant(t, "a", "alice", "face_detection", "tagging", "sensitive_content")
	code, _, b = e.req(t, "POST", url, e.keys["a"], "application/json", body)
	if code != http.StatusForbidden || !strings.Contains(string(b), "text_detection") {
		t.Fatalf("text_detection missing: %d %s", code, b)
	}
	e.grant(t, "a", "alice", "text_detection")
	code, _, b = e.req(t, "POST", url, e.keys["a"], "application/json", body)
	if code != 200 {
		t.Fatalf("analyze: %d %s", code, b)
	}
	var res struct {
		AssetID string `json:"asset_id"`
		Width   int    `json:"width"`
		Faces   []struct {
			Box   map[string]float64 `json:"box"`
			Score float64            `json:"score"`
		} `json:"faces"`
		Tags []struct {
			Label string  `json:"label"`
			Score float64 `json:"score"`
		} `json:"tags"`
		Sensitive struct {
			Label  string             `json:"label"`
			Scores map[string]float64 `json:"scores"`
		} `json:"sensitive"`
		Text      []any     `json:"text"`
		Retention string    `json:"retention"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	// Hardened shape: 3 faces in sample1, at most 5 tags above 0.35, two
	// decimals everywhere, nothing but the documented keys.
	if res.AssetID != id || res.Width != 1920 || len(res.Faces) != 3 || len(res.Tags) == 0 || len(res.Tags) > 5 || res.Sensitive.Label != "safe" || len(res.Sensitive.Scores) != 5 || res.Text == nil {
		t.Fatalf("result %s", b)
	}
	twoDecimals := func(v float64) bool { return v*100 == float64(int64(v*100+0.5)) }
	for _, tg := range res.Tags {
		if tg.Score < 0.35 || !twoDecimals(tg.Score) {
			t.Errorf("tag %+v not hardened", tg)
		}
	}
	for _, f := range res.Faces {
		if !twoDecimals(f.Score) {
			t.Errorf("face score %v not rounded", f.Score)
		}
	}
	var generic any
	json.Unmarshal(b, &generic)
	keys := map[string]bool{}
	keysOf(generic, keys)
	allowed := "asset_id width height faces box x y w h score tags label sensitive scores drawing hentai neutral porn sexy text retention expires_at"
	for k := range keys {
		if !strings.Contains(" "+allowed+" ", " "+k+" ") {
			t.Errorf("unexpected key %q in the analysis response", k)
		}
	}
	if res.Retention != "analysis" || !res.ExpiresAt.Equal(e.clk.Now().Add(30*24*time.Hour).Truncate(time.Second)) {
		t.Errorf("retention %s until %v", res.Retention, res.ExpiresAt)
	}

	// Stored results come back decrypted, per feature.
	stored := func() map[string]json.RawMessage {
		t.Helper()
		code, _, b := e.req(t, "GET", e.srv.URL+"/v1/assets/"+id+"/analysis", e.keys["a"], "", nil)
		if code != 200 {
			t.Fatalf("stored: %d %s", code, b)
		}
		var out struct {
			Results map[string]json.RawMessage `json:"results"`
		}
		json.Unmarshal(b, &out)
		return out.Results
	}
	if got := stored(); len(got) != 4 || !strings.Contains(string(got["tags"]), `"person"`) {
		t.Fatalf("stored results %v", got)
	}
	// Not another tenant's: 404 on both endpoints.
	if code, _, _ := e.req(t, "POST", url, e.keys["b"], "application/json", body); code != 404 {
		t.Errorf("other tenant analyze: %d", code)
	}
	if code, _, _ := e.req(t, "GET", e.srv.URL+"/v1/assets/"+id+"/analysis", e.keys["b"], "", nil); code != 404 {
		t.Errorf("other tenant stored: %d", code)
	}
	// Revoking tagging crypto-shreds the tags result only.
	if code, _, b := e.req(t, "DELETE", e.srv.URL+"/v1/subjects/alice/consents/tagging", e.keys["a"], "", nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if got := stored(); len(got) != 3 || got["tags"] != nil || got["faces"] == nil {
		t.Fatalf("after revoking tagging: %v", got)
	}
	// Retention: 30 days later the sweeper deletes the rest, with audit entries.
	e.clk.Advance(30*24*time.Hour + time.Second)
	if got := stored(); len(got) != 0 {
		t.Errorf("expired results still served: %v", got)
	}
	n, err := e.analysis.Sweep(t.Context(), 100)
	if err != nil || n != 3 {
		t.Fatalf("Sweep = %d, %v; want 3", n, err)
	}
	recs, _ := e.st.Results(t.Context(), "ten_a", id)
	if len(recs) != 0 {
		t.Errorf("%d result records left after sweep", len(recs))
	}
	entries, _ := e.st.AuditRange(t.Context(), "ten_a", 0, 1000)
	deletions, runs := 0, 0
	for _, en := range entries {
		raw := string(en.Body)
		if strings.Contains(raw, `"retention.delete"`) {
			deletions++
		}
		if strings.Contains(raw, `"analysis.run"`) {
			runs++
		}
		if strings.Contains(raw, "alice") || strings.Contains(raw, id) || strings.Contains(raw, "person") {
			t.Errorf("audit entry holds a raw id or result: %s", raw)
		}
	}
	if deletions != 3 || runs != 4 {
		t.Errorf("audit: %d retention deletions, %d analysis runs; want 3 and 4", deletions, runs)
	}
	if n, _ := e.analysis.Sweep(t.Context(), 100); n != 0 {
		t.Errorf("second sweep deleted %d", n)
	}
}

func TestAnalyzeRejectsBadRequests(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	id := e.uploadPhoto(t, "a", "bob", "sample2.jpg")
	url := e.srv.URL + "/v1/assets/" + id + "/analyze"
	for name, body := range map[string]string{
		"unknown feature": `{"features":["age"]}`,
		"no features":     `{"features":[]}`,
		"repeated":        `{"features":["tags","tags"]}`,
		"not json":        `{`,
	} {
		if code, _, b := e.req(t, "POST", url, e.keys["a"], "application/json", []byte(body)); code != 422 && code != 400 {
			t.Errorf("%s: %d %s", name, code, b)
		}
	}
	if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/ast_missing/analyze", e.keys["a"], "application/json", []byte(`{"features":["tags"]}`)); code != 404 {
		t.Errorf("missing asset: %d %s", code, b)
	}
}

// TestAsyncAnalysis queues an analysis on the River queue and fetches the
// job until it completes; consent is checked when queueing and again when
// the job runs.
func TestAsyncAnalysis(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	id := e.uploadPhoto(t, "a", "dora", "sample5.jpg")
	url := e.srv.URL + "/v1/assets/" + id + "/analyze"
	body := []byte(`{"features":["faces","tags"],"async":true}`)
	if code, _, b := e.req(t, "POST", url, e.keys["a"], "application/json", body); code != 403 || codeOf(t, b) != "consent_required" {
		t.Fatalf("async without consent: %d %s", code, b)
	}
	e.grant(t, "a", "dora", "face_detection", "tagging")
	code, _, b := e.req(t, "POST", url, e.keys["a"], "application/json", body)
	if code != http.StatusAccepted {
		t.Fatalf("async: %d %s", code, b)
	}
	var job struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	json.Unmarshal(b, &job)
	if !strings.HasPrefix(job.ID, "job_") || job.State != "queued" {
		t.Fatalf("job %s", b)
	}
	jobURL := e.srv.URL + "/v1/jobs/" + job.ID
	var got struct {
		State   string                     `json:"state"`
		AssetID string                     `json:"asset_id"`
		Results map[string]json.RawMessage `json:"results"`
	}
	// The job queues behind the analyses of the package's other parallel
	// tests on the one shared engine (under -race, on a loaded machine):
	// the deadline only stops a hung queue.
	deadline := time.Now().Add(5 * time.Minute)
	for got.State != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("job not completed within 5 min: %+v", got)
		}
		code, _, b := e.req(t, "GET", jobURL, e.keys["a"], "", nil)
		if code != 200 {
			t.Fatalf("get job: %d %s", code, b)
		}
		json.Unmarshal(b, &got)
		if got.State == "failed" || got.State == "cancelled" {
			t.Fatalf("job %s", b)
		}
		time.Sleep(150 * time.Millisecond) // polling a real queue, not timing an assertion
	}
	if got.AssetID != id || !strings.Contains(string(got.Results["faces"]), `"box"`) || !strings.Contains(string(got.Results["tags"]), `"person"`) {
		t.Errorf("completed job: %+v", got)
	}
	// Another tenant's key cannot see the job.
	if code, _, _ := e.req(t, "GET", jobURL, e.keys["b"], "", nil); code != 404 {
		t.Errorf("other tenant job: %d", code)
	}
	// Consent revoked after queueing: the job runs, is refused, and fails
	// with the synchronous answer's code.
	code, _, b = e.req(t, "POST", url, e.keys["a"], "application/json", []byte(`{"features":["tags"],"async":true}`))
	if code != 202 {
		t.Fatalf("second async: %d %s", code, b)
	}
	json.Unmarshal(b, &job)
	e.req(t, "DELETE", e.srv.URL+"/v1/subjects/dora/consents/tagging", e.keys["a"], "", nil)
	jobURL = e.srv.URL + "/v1/jobs/" + job.ID
	var j2 struct{ State, Error string }
	deadline = time.Now().Add(5 * time.Minute)
	for j2.State != "failed" && j2.State != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("job not finished: %+v", j2)
		}
		_, _, b := e.req(t, "GET", jobURL, e.keys["a"], "", nil)
		json.Unmarshal(b, &j2)
		time.Sleep(150 * time.Millisecond)
	}
	// The revoke may land before or after the job ran; if after, tagging
	// was purged with the revocation either way.
	if j2.State == "failed" && j2.Error != "consent_required" {
		t.Errorf("failed job error %q", j2.Error)
	}
	if code, _, b := e.req(t, "GET", e.srv.URL+"/v1/assets/"+id+"/analysis", e.keys["a"], "", nil); code != 200 || strings.Contains(string(b), `"tags"`) {
		t.Errorf("tags outlived revocation: %d %s", code, b)
	}
}

// TestAsyncWebhook: a finished job is announced to the app's webhook,
// signed with the tenant's secret; the body names the job, not results.
func TestAsyncWebhook(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer hook.Close()
	id := e.uploadPhoto(t, "a", "erin", "sample4.jpg")
	e.grant(t, "a", "erin", "tagging")
	url := e.srv.URL + "/v1/assets/" + id + "/analyze"
	for name, body := range map[string]string{
		"not https":       `{"features":["tags"],"async":true,"webhook":"http://app.example/hook"}`,
		"metadata server": `{"features":["tags"],"async":true,"webhook":"http://169.254.169.254/"}`,
		"sync":            `{"features":["tags"],"webhook":"` + hook.URL + `"}`,
	} {
		if code, _, b := e.req(t, "POST", url, e.keys["a"], "application/json", []byte(body)); code != 422 && code != 400 {
			t.Errorf("%s: %d %s", name, code, b)
		}
	}
	code, _, b := e.req(t, "POST", url, e.keys["a"], "application/json", []byte(`{"features":["tags"],"async":true,"webhook":"`+hook.URL+`"}`))
	if code != 202 {
		t.Fatalf("async: %d %s", code, b)
	}
	var r *http.Request
	select {
	case r = <-got:
	case <-time.After(5 * time.Minute): // a hung queue: the analysis waits behind the other tests' on the shared engine
		t.Fatal("no webhook within 5 min")
	}
	body := <-bodies
	code, _, sb := e.req(t, "GET", e.srv.URL+"/v1/tenant/webhook-secret", e.keys["a"], "", nil)
	var sec struct{ Secret string }
	json.Unmarshal(sb, &sec)
	if code != 200 || sec.Secret == "" {
		t.Fatalf("secret: %d %s", code, sb)
	}
	if err := jobs.Verify([]byte(sec.Secret), body, r.Header.Get(jobs.SignatureHeader), time.Now(), 5*time.Minute); err != nil {
		t.Errorf("webhook signature: %v (%s)", err, r.Header.Get(jobs.SignatureHeader))
	}
	if !strings.Contains(string(body), `"state":"completed"`) || strings.Contains(string(body), "person") || strings.Contains(string(body), "erin") {
		t.Errorf("webhook body %s", body)
	}
	// Another tenant's secret does not verify it.
	_, _, ob := e.req(t, "GET", e.srv.URL+"/v1/tenant/webhook-secret", e.keys["b"], "", nil)
	var other struct{ Secret string }
	json.Unmarshal(ob, &other)
	if other.Secret == sec.Secret || jobs.Verify([]byte(other.Secret), body, r.Header.Get(jobs.SignatureHeader), time.Now(), 5*time.Minute) == nil {
		t.Error("tenant b's secret verifies tenant a's webhook")
	}
}

// TestExtractionGuardOverHTTP: a key that floods analyze is throttled
// (429 with Retry-After), then blocked (403 key_blocked), with alerts;
// another key of the same tenant is unaffected.
func TestExtractionGuardOverHTTP(t *testing.T) {
	e := newUploadEnv(t)
	id := e.uploadPhoto(t, "a", "gina", "sample3.jpg")
	e.grant(t, "a", "gina", "sensitive_content")
	url := e.srv.URL + "/v1/assets/" + id + "/analyze"
	body := []byte(`{"features":["sensitive"]}`)
	code := 0
	var h http.Header
	var b []byte
	for i := 0; i < 40; i++ {
		code, h, b = e.req(t, "POST", url, e.keys["a"], "application/json", body)
		if code != 200 {
			break
		}
	}
	if code != 429 || codeOf(t, b) != "rate_limited" || h.Get("Retry-After") == "" {
		t.Fatalf("flood: %d %s (Retry-After %q)", code, b, h.Get("Retry-After"))
	}
	// Throttled: one query per interval, and each one still counts.
	blocked := false
	for range 10 {
		e.clk.Advance(11 * time.Second)
		code, _, b = e.req(t, "POST", url, e.keys["a"], "application/json", body)
		if code == 403 {
			blocked = codeOf(t, b) == "key_blocked"
			break
		}
		if code != 200 {
			t.Fatalf("throttled query after the interval: %d %s", code, b)
		}
	}
	if !blocked {
		t.Fatalf("key never blocked: %d %s", code, b)
	}
	e.clk.Advance(time.Hour)
	if code, _, b := e.req(t, "POST", url, e.keys["a"], "application/json", body); code != 403 || codeOf(t, b) != "key_blocked" {
		t.Errorf("blocked key an hour later: %d %s", code, b)
	}
	alerts, _ := e.st.Alerts(t.Context(), "ten_a", 10)
	states := map[string]bool{}
	for _, al := range alerts {
		if al.Rule == "extraction_suspected" {
			states[al.Severity] = true
		}
	}
	if !states["throttled"] || !states["blocked"] {
		t.Errorf("alerts %+v", alerts)
	}
}
