package api

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/api/photos"
	"github.com/obscuraproject/obscura/internal/audit"
)

func TestAuditRecordsOperationsWithHashedIDsOnly(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	subj := "RAW-SUBJECT-MARKER-42"
	// Several operations, including failures.
	e.req(t, "GET", e.srv.URL+"/v1/tenant", "obs_wrong", "", nil)
	code, _, b := e.req(t, "POST", e.srv.URL+"/v1/uploads", e.keys["a"], "application/json", []byte(`{"subject":"`+subj+`","content_type":"image/jpeg"}`))
	if code != 201 {
		t.Fatal(code)
	}
	var up struct {
		UploadURL string `json:"upload_url"`
	}
	json.Unmarshal(b, &up)
	_, _, b = e.req(t, "PUT", up.UploadURL, "", "image/jpeg", photo(t, 16, 16))
	var asset photos.AssetInfo
	json.Unmarshal(b, &asset)
	e.req(t, "PUT", up.UploadURL, "", "image/jpeg", photo(t, 16, 16)) // replay: denied
	e.req(t, "POST", e.srv.URL+"/v1/subjects/"+subj+"/consents", e.keys["a"], "application/json", []byte(`{"purpose":"tagging","notice_version":"v1"}`))
	// The subject's export, downloaded with its token (no API key).
	code, _, b = e.req(t, "POST", e.srv.URL+"/v1/subjects/"+subj+"/export", e.keys["a"], "", nil)
	if code != 200 {
		t.Fatalf("export: %d %s", code, b)
	}
	var ex struct {
		DownloadURL string `json:"download_url"`
	}
	if code != 202 && code != 200 && code != 201 {
		t.Fatalf("export: %d %s", code, b)
	}
	json.Unmarshal(b, &ex)
	if code, _, _ := e.req(t, "GET", ex.DownloadURL, "", "", nil); code != 200 {
		t.Fatalf("export download: %d", code)
	}
	e.req(t, "GET", e.srv.URL+"/v1/assets/"+asset.AssetID, e.keys["b"], "", nil) // cross-tenant probe

	// An outcome entry is appended after its response is written: wait
	// until the entries this test checks are in (the minute only stops a
	// hung log; a fixed 50 ms sleep was too short on a loaded machine),
	// then read through the API.
	waitFor(t, func() bool {
		all, _, err := audit.Page(context.Background(), e.st, "", 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, en := range all {
			seen[en.Action+"/"+en.Result] = true
			seen[en.Action+"/"+en.Code] = true
		}
		for _, k := range []string{"create-upload/ok", "put-upload/ok", "grant-consent/ok", "grant-consent.intent/ok", "get-export/ok",
			"get-tenant/unauthenticated", "put-upload/token_used", "get-asset/not_found"} {
			if !seen[k] {
				return false
			}
		}
		return true
	})
	code, _, b = e.req(t, "GET", e.srv.URL+"/v1/admin/audit?limit=100", e.keys["a"], "", nil)
	if code != 200 {
		t.Fatalf("audit page: %d %s", code, b)
	}
	for _, raw := range []string{subj, asset.AssetID, e.keys["a"], "user-42"} {
		if strings.Contains(string(b), raw) {
			t.Errorf("audit entries contain %q", raw)
		}
	}
	var page struct {
		Entries []audit.Entry `json:"entries"`
	}
	json.Unmarshal(b, &page)
	actions := map[string]audit.Entry{}
	for _, en := range page.Entries {
		if en.Tenant != "ten_a" {
			t.Errorf("tenant A's page holds an entry of %q", en.Tenant)
		}
		key := en.Action + "/" + en.Result
		actions[key] = en
	}
	for _, want := range []string{"create-upload/ok", "put-upload/ok", "grant-consent/ok"} {
		if _, ok := actions[want]; !ok {
			t.Errorf("no %s entry in %v", want, page.Entries)
		}
	}
	// Regression: the download had no tenant (so no tenant saw it) and the
	// grant no purpose (it is in the body, not the path).
	if en, ok := actions["get-export/ok"]; !ok || en.Tenant != "ten_a" {
		t.Errorf("export download entry lacks the tenant: %+v", en)
	}
	if en := actions["grant-consent/ok"]; en.Purpose != "tagging" {
		t.Errorf("consent grant entry lacks the purpose: %+v", en)
	}
	if en := actions["grant-consent/ok"]; en.Subject == "" || en.Subject == subj || en.Actor == "" {
		t.Errorf("consent entry lacks hashed subject or actor: %+v", en)
	}
	// The grant's intent (written before the consent is) names the purpose
	// too, and the same hashed subject and actor (issue 18).
	in, ok := actions["grant-consent.intent/ok"]
	if out := actions["grant-consent/ok"]; !ok || in.Purpose != "tagging" || in.Subject != out.Subject || in.Actor != out.Actor || in.Seq >= out.Seq {
		t.Errorf("consent grant intent %+v (found %v), outcome %+v", in, ok, out)
	}
	if en := actions["put-upload/ok"]; en.Object == "" || en.Bytes == 0 {
		t.Errorf("upload entry: %+v", en)
	}
	// Failures are recorded too (with no tenant, they are not on A's page).
	all, _, err := audit.Page(context.Background(), e.st, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var authFail, replay, probe bool
	for _, en := range all {
		authFail = authFail || (en.Action == "get-tenant" && en.Code == "unauthenticated" && en.Result == audit.ResultDenied)
		replay = replay || (en.Action == "put-upload" && en.Code == "token_used")
		probe = probe || (en.Action == "get-asset" && en.Tenant == "ten_b" && en.Code == "not_found")
	}
	if !authFail || !replay || !probe {
		t.Errorf("missing failure entries: auth=%v replay=%v probe=%v", authFail, replay, probe)
	}
	if _, err := audit.Verify(context.Background(), e.st, e.auditPub, 0); err != nil {
		t.Errorf("chain: %v", err)
	}
}

func TestKillSwitchThroughAPI(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	url := e.uploadURL(t, "a", "image/jpeg", "") // issued before the incident
	code, _, b := e.req(t, "PUT", e.srv.URL+"/v1/admin/kill-switch", e.keys["a"], "application/json", []byte(`{"on":true,"feature":"uploads"}`))
	if code != 200 || !strings.Contains(string(b), "tenant:ten_a/feature:uploads") {
		t.Fatalf("set: %d %s", code, b)
	}
	if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/uploads", e.keys["a"], "application/json", []byte(`{"subject":"s","content_type":"image/jpeg"}`)); code != 503 || codeOf(t, b) != "kill_switch" {
		t.Errorf("new upload URL under kill switch: %d %s", code, b)
	}
	if code, _, b := e.req(t, "PUT", url, "", "image/jpeg", photo(t, 8, 8)); code != 503 || codeOf(t, b) != "kill_switch" {
		t.Errorf("upload with an earlier URL under kill switch: %d %s", code, b)
	}
	// Tenant B is not affected, and cannot see or lift A's switch.
	e.uploadURL(t, "b", "image/jpeg", "")
	_, _, b = e.req(t, "GET", e.srv.URL+"/v1/admin/kill-switch", e.keys["b"], "", nil)
	if strings.Contains(string(b), "ten_a") {
		t.Errorf("tenant B sees A's switch: %s", b)
	}
	e.req(t, "PUT", e.srv.URL+"/v1/admin/kill-switch", e.keys["b"], "application/json", []byte(`{"on":false,"feature":"uploads"}`))
	if code, _, _ := e.req(t, "POST", e.srv.URL+"/v1/uploads", e.keys["a"], "application/json", []byte(`{"subject":"s","content_type":"image/jpeg"}`)); code != 503 {
		t.Errorf("tenant B lifted A's switch: %d", code)
	}
	// Off again: the earlier URL was never spent and works.
	e.req(t, "PUT", e.srv.URL+"/v1/admin/kill-switch", e.keys["a"], "application/json", []byte(`{"on":false,"feature":"uploads"}`))
	if code, _, b := e.req(t, "PUT", url, "", "image/jpeg", photo(t, 8, 8)); code != 201 {
		t.Errorf("after the switch is off: %d %s", code, b)
	}
}

func TestRateLimitThroughAPI(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t) // api class: 5/s, burst 60
	var last int
	var hdr map[string][]string
	var body []byte
	n := 0
	for ; n < 200; n++ {
		code, h, b := e.req(t, "GET", e.srv.URL+"/v1/tenant", e.keys["a"], "", nil)
		if code == 429 {
			last, hdr, body = code, h, b
			break
		}
	}
	if last != 429 || n != 60 {
		t.Fatalf("first 429 after %d requests (want 60): %d", n, last)
	}
	if codeOf(t, body) != "rate_limited" || hdr["Retry-After"][0] != "1" {
		t.Errorf("429 body %s, Retry-After %v", body, hdr["Retry-After"])
	}
	// Another key is not affected; time refills the bucket.
	if code, _, _ := e.req(t, "GET", e.srv.URL+"/v1/tenant", e.keys["b"], "", nil); code != 200 {
		t.Errorf("other key: %d", code)
	}
	e.clk.Advance(time.Second)
	if code, _, _ := e.req(t, "GET", e.srv.URL+"/v1/tenant", e.keys["a"], "", nil); code != 200 {
		t.Errorf("after refill: %d", code)
	}
}

// failingAudit is a unit-test double for an audit log whose disk is gone.
type failingAudit struct{}

func (failingAudit) Append(context.Context, audit.Entry) error { return errors.New("disk full") }

func TestNoStateChangeWithoutAuditTrace(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	e.api.d.Audit = failingAudit{}
	code, _, b := e.req(t, "POST", e.srv.URL+"/v1/keys", e.keys["a"], "application/json", []byte(`{"scopes":["ingest"]}`))
	if code != 503 || codeOf(t, b) != "unavailable" {
		t.Fatalf("create key with the audit log down: %d %s", code, b)
	}
	keys, _ := e.st.APIKeys(context.Background(), "ten_a")
	if len(keys) != 1 {
		t.Errorf("a key was created without an audit trace: %d keys", len(keys))
	}
	if code, _, b := e.req(t, "POST", e.srv.URL+"/v1/subjects/s1/consents", e.keys["a"], "application/json", []byte(`{"purpose":"tagging","notice_version":"1"}`)); code != 503 {
		t.Errorf("grant with the audit log down: %d %s", code, b)
	}
	if code, _, b := e.req(t, "GET", e.srv.URL+"/v1/subjects/s1/consents", e.keys["a"], "", nil); code != 200 || strings.Contains(string(b), "tagging") {
		t.Errorf("a consent was recorded without an audit trace: %d %s", code, b)
	}
	// Reads still work.
	if code, _, _ := e.req(t, "GET", e.srv.URL+"/v1/tenant", e.keys["a"], "", nil); code != 200 {
		t.Errorf("read with the audit log down: %d", code)
	}
}

func TestNoUploadWithoutAuditTrace(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	url := e.uploadURL(t, "a", "image/jpeg", "")
	e.api.d.Audit = failingAudit{}
	if code, _, b := e.req(t, "PUT", url, "", "image/jpeg", photo(t, 8, 8)); code != 503 || codeOf(t, b) != "unavailable" {
		t.Fatalf("upload with the audit log down: %d %s", code, b)
	}
	if as, _ := e.st.TenantAssets(context.Background(), "ten_a", time.Time{}, time.Now().Add(time.Hour)); len(as) != 0 {
		t.Errorf("%d assets stored without an audit trace", len(as))
	}
}
