package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/incident"
)

// operatorClient is an operator's browser without JavaScript: a cookie
// jar and form posts.
type operatorClient struct {
	t    *testing.T
	s    *server
	http *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func newOperator(t *testing.T, s *server) *operatorClient {
	jar, _ := cookiejar.New(nil)
	o := &operatorClient{t: t, s: s, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	o.get("/console")
	return o
}

func (o *operatorClient) read(res *http.Response, err error) (int, http.Header, string) {
	o.t.Helper()
	if err != nil {
		o.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfField.FindStringSubmatch(string(b)); m != nil {
		o.csrf = m[1]
	}
	return res.StatusCode, res.Header, string(b)
}

func (o *operatorClient) get(path string) (int, string) {
	o.t.Helper()
	code, _, body := o.read(o.http.Get(o.s.base + path))
	return code, body
}

// post sends a form with the page's CSRF token.
func (o *operatorClient) post(path string, form url.Values) (int, http.Header, string) {
	o.t.Helper()
	form.Set("csrf", o.csrf)
	return o.read(o.http.PostForm(o.s.base+path, form))
}

func (o *operatorClient) login(key string) {
	o.t.Helper()
	if code, _, body := o.post("/console/login", url.Values{"key": {key}}); code != 200 || !strings.Contains(body, `id="kill-h"`) {
		o.t.Fatalf("login: %d %s", code, body)
	}
}

// statusText is the text of the page's role=status or role=alert element.
func statusText(body string) string {
	m := regexp.MustCompile(`(?s)role="(?:status|alert)"[^>]*>(.*?)</`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// uploadPhotoAs uploads data for subj and returns the asset id.
func uploadPhotoAs(t *testing.T, s *server, key, subj string, data []byte) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"subject": subj, "content_type": "image/jpeg"})
	code, b := do(t, "POST", s.base+"/v1/uploads", key, body)
	if code != 201 {
		t.Fatalf("create upload: %d %s", code, b)
	}
	var up struct {
		UploadURL string `json:"upload_url"`
	}
	json.Unmarshal(b, &up)
	code, b = do(t, "PUT", up.UploadURL, "", data)
	if code != 201 {
		t.Fatalf("PUT: %d %s", code, b)
	}
	var asset struct {
		AssetID string `json:"asset_id"`
	}
	json.Unmarshal(b, &asset)
	return asset.AssetID
}

// downloadable reports whether the asset's bytes still come back.
func downloadable(t *testing.T, s *server, key, id string) bool {
	t.Helper()
	code, b := do(t, "POST", s.base+"/v1/assets/"+id+"/download", key, nil)
	if code != 200 {
		return false
	}
	var dl struct {
		DownloadURL string `json:"download_url"`
	}
	json.Unmarshal(b, &dl)
	code, _ = do(t, "GET", dl.DownloadURL, "", nil)
	return code == 200
}

// TestOperatorConsoleWithoutJavaScript drives every operator-console
// action over plain form posts against a real server: API keys (created
// and shown once, scoped, revoked — ending a session signed in with it),
// key versions (rotate, rewrap, revoke; photos still open), purge (dry
// run deletes nothing; the real one needs the tenant id typed and deletes
// only its scope), the audit browser's paging, and the signed tenant
// forensic bundle (verifies under the pinned key, names no other tenant).
func TestOperatorConsoleWithoutJavaScript(t *testing.T) {
	data := t.TempDir()
	tn := createTenant(t, data, "Console App")
	other := createTenant(t, data, "Other App")
	s := startServer(t, data)
	photo := jpegPhoto(t)
	ursula := []string{uploadPhotoAs(t, s, tn.APIKey, "ursula", photo), uploadPhotoAs(t, s, tn.APIKey, "ursula", photo)}
	victor := uploadPhotoAs(t, s, tn.APIKey, "victor", photo)
	uploadPhotoAs(t, s, other.APIKey, "olga", photo)

	o := newOperator(t, s)
	o.login(tn.APIKey)

	// API keys: no scope is refused; an ingest key is shown once and works
	// for ingest only; revoked, it stops.
	if code, _, body := o.post("/console/keys/create", url.Values{}); code != 400 || !strings.Contains(statusText(body), "at least one scope") {
		t.Errorf("key without scope: %d %q", code, statusText(body))
	}
	code, _, body := o.post("/console/keys/create", url.Values{"scope": {"ingest"}})
	m := regexp.MustCompile(`id="new-key" readonly value="([^"]+)"`).FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("create key: %d %s", code, body)
	}
	newKey, keyID := m[1], newKeyID(t, body)
	if _, again := o.get("/console"); strings.Contains(again, newKey) {
		t.Error("the new key is shown a second time")
	}
	if c, _ := do(t, "POST", s.base+"/v1/uploads", newKey, []byte(`{"subject":"x","content_type":"image/jpeg"}`)); c != 201 {
		t.Errorf("new ingest key cannot ingest: %d", c)
	}
	if c, _ := do(t, "POST", s.base+"/v1/assets/"+victor+"/analyze", newKey, []byte(`{"features":["tags"]}`)); c != 403 {
		t.Errorf("ingest key may analyze: %d", c)
	}
	if c, _, _ := o.post("/console/keys/revoke", url.Values{"id": {keyID}}); c != 200 {
		t.Errorf("revoke: %d", c)
	}
	if c, _ := do(t, "POST", s.base+"/v1/uploads", newKey, []byte(`{"subject":"x","content_type":"image/jpeg"}`)); c != 401 {
		t.Errorf("revoked key still works: %d", c)
	}

	// A session lives only as long as its key.
	_, _, body = o.post("/console/keys/create", url.Values{"scope": {"admin"}})
	adminKey := regexp.MustCompile(`id="new-key" readonly value="([^"]+)"`).FindStringSubmatch(body)[1]
	adminID := newKeyID(t, body)
	second := newOperator(t, s)
	second.login(adminKey)
	o.post("/console/keys/revoke", url.Values{"id": {adminID}})
	if _, page := second.get("/console"); !strings.Contains(page, `id="login"`) || strings.Contains(page, `id="kill-h"`) {
		t.Error("a session outlived the revocation of its key")
	}

	// Key versions: rotate, rewrap, revoke v1 (needs the box ticked; the
	// primary cannot go); every photo still opens.
	if _, _, body = o.post("/console/kek", url.Values{"action": {"rotate"}}); !strings.Contains(statusText(body), "New key version 2") {
		t.Errorf("rotate: %q", statusText(body))
	}
	_, _, body = o.post("/console/kek", url.Values{"action": {"rewrap"}})
	var rewrapped int
	if _, err := fmt.Sscanf(statusText(body), "Rewrapped %d data keys; every", &rewrapped); err != nil || rewrapped < 2 {
		t.Errorf("rewrap: %q", statusText(body))
	}
	if c, _, _ := o.post("/console/kek", url.Values{"action": {"revoke"}, "version": {"1"}}); c != 400 {
		t.Errorf("revoke without confirmation: %d", c)
	}
	if c, _, _ := o.post("/console/kek", url.Values{"action": {"revoke"}, "version": {"2"}, "confirm": {"yes"}}); c != 409 {
		t.Errorf("revoke the primary: %d", c)
	}
	if c, _, body := o.post("/console/kek", url.Values{"action": {"revoke"}, "version": {"1"}, "confirm": {"yes"}}); c != 200 || !strings.Contains(body, "<td>1</td><td>revoked</td>") {
		t.Errorf("revoke v1: %d %q", c, statusText(body))
	}
	for _, id := range append([]string{victor}, ursula...) {
		if !downloadable(t, s, tn.APIKey, id) {
			t.Errorf("photo %s does not open after rewrap and revoking v1", id)
		}
	}

	// Purge: a dry run counts and deletes nothing; without the tenant id
	// typed nothing goes; then only ursula goes.
	form := url.Values{"scope": {"subject"}, "subject": {"ursula"}, "action": {"dry-run"}}
	if _, _, body = o.post("/console/purge", form); !strings.Contains(statusText(body), "would delete 1 subjects (every key, photo, result and consent state) and 2 photos") {
		t.Errorf("dry run: %q", statusText(body))
	}
	form.Set("action", "purge")
	for _, confirm := range []string{"", "yes", other.TenantID} {
		form.Set("confirm", confirm)
		if c, _, _ := o.post("/console/purge", form); c != 400 {
			t.Errorf("purge confirmed with %q: %d", confirm, c)
		}
	}
	if !downloadable(t, s, tn.APIKey, ursula[0]) {
		t.Fatal("an unconfirmed purge or a dry run deleted a photo")
	}
	form.Set("confirm", tn.TenantID)
	if _, _, body = o.post("/console/purge", form); !strings.Contains(statusText(body), "Purged 1 subjects") {
		t.Errorf("purge: %q", statusText(body))
	}
	for _, id := range ursula {
		if c, _ := do(t, "POST", s.base+"/v1/assets/"+id+"/download", tn.APIKey, nil); c != 404 {
			t.Errorf("purged photo %s: %d", id, c)
		}
	}
	if !downloadable(t, s, tn.APIKey, victor) {
		t.Error("the purge took another subject's photo")
	}
	if c, _, _ := o.post("/console/purge", url.Values{"scope": {"range"}, "from": {"2026-01-02T00:00"}, "to": {"2026-01-01T00:00"}, "action": {"dry-run"}}); c != 400 {
		t.Errorf("backwards range: %d", c)
	}

	// The audit browser pages back through more than a page of entries.
	for range 30 {
		o.post("/console/verify", url.Values{})
	}
	_, page := o.get("/console")
	older := regexp.MustCompile(`href="/console\?before=(\d+)#audit-h"`).FindStringSubmatch(page)
	if older == nil {
		t.Fatal("no link to older audit entries")
	}
	_, page = o.get("/console?before=" + older[1])
	first := regexp.MustCompile(`<tr><td>(\d+)</td>`).FindStringSubmatch(page)
	if n, _ := strconv.Atoi(first[1]); first == nil || n >= mustAtoi(older[1]) {
		t.Errorf("older page starts at %v, want below %s", first, older[1])
	}
	for _, action := range []string{"console.key.create", "console.key.revoke", "console.kek.rotate", "console.kek.rewrap", "console.kek.revoke", "console.purge.dry_run", "console.purge"} {
		if !strings.Contains(page, "<td>"+action+"</td>") && !strings.Contains(mustGet(o, "/console"), "<td>"+action+"</td>") {
			t.Errorf("no audit entry %s in the browser", action)
		}
	}

	// Forensic export: a signed download of this tenant's trail.
	now := time.Now().UTC()
	code, hdr, raw := o.post("/console/forensic", url.Values{"from": {now.Add(-time.Hour).Format("2006-01-02T15:04")}, "to": {now.Add(2 * time.Minute).Format("2006-01-02T15:04")}})
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Disposition"), `attachment; filename="forensic-`+tn.TenantID) {
		t.Fatalf("forensic export: %d %v", code, hdr)
	}
	b, err := incident.ParseBundle([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	pin, err := consent.ParsePublicKey(obscura(t, data, "incident", "audit-key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incident.VerifyBundle(b, pin); err != nil {
		t.Errorf("the console's bundle does not verify: %v", err)
	}
	if b.Tenant != tn.TenantID || strings.Contains(raw, other.TenantID) || !strings.Contains(raw, `"console.purge"`) {
		t.Errorf("bundle of %s: names the other tenant %v, has the purge %v", b.Tenant, strings.Contains(raw, other.TenantID), strings.Contains(raw, `"console.purge"`))
	}
	for _, secret := range []string{"ursula", "victor", tn.APIKey, newKey} {
		if strings.Contains(raw, secret) {
			t.Errorf("bundle holds %q", secret)
		}
	}
}

func newKeyID(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`New key <code>(key_[a-z0-9]+)</code>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no new key id on the page: %s", statusText(body))
	}
	return m[1]
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func mustGet(o *operatorClient, path string) string {
	_, body := o.get(path)
	return body
}
