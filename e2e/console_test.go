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

// download fetches the asset's bytes through a single-use download URL,
// or nil if the asset no longer opens.
func download(t *testing.T, s *server, key, id string) []byte {
	t.Helper()
	code, b := do(t, "POST", s.base+"/v1/assets/"+id+"/download", key, nil)
	if code != 200 {
		return nil
	}
	var dl struct {
		DownloadURL string `json:"download_url"`
	}
	json.Unmarshal(b, &dl)
	code, got := do(t, "GET", dl.DownloadURL, "", nil)
	if code != 200 {
		return nil
	}
	return got
}

// downloadable reports whether the asset's bytes still come back.
func downloadable(t *testing.T, s *server, key, id string) bool {
	t.Helper()
	return download(t, s, key, id) != nil
}

// TestOperatorConsoleWithoutJavaScript drives every operator-console
// action over plain form posts against a real server: API keys (created
// and shown once, scoped, revoked — ending a session signed in with it),
// key versions (rotate, rewrap, revoke; photos still open), purge (dry
// run deletes nothing; the real one needs the tenant id typed and deletes
// only its scope), the audit browser's paging, and the signed tenant
// forensic bundle (verifies under the pinned key, names no other tenant).
func TestOperatorConsoleWithoutJavaScript(t *testing.T) {
	t.Parallel()
	s, data := sharedServer(t)
	tn := createTenant(t, data, "Console App")
	other := createTenant(t, data, "Other App")
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
	// A time range: the photos uploaded in it go (victor's), nothing else.
	hour := time.Now().UTC().Truncate(time.Minute)
	rng := url.Values{"scope": {"range"}, "from": {hour.Add(-time.Hour).Format("2006-01-02T15:04")}, "to": {hour.Add(2 * time.Minute).Format("2006-01-02T15:04")}, "action": {"dry-run"}}
	if _, _, body = o.post("/console/purge", rng); !strings.Contains(statusText(body), "0 subjects (every key, photo, result and consent state) and 1 photos") {
		t.Errorf("range dry run: %q", statusText(body))
	}
	rng.Set("action", "purge")
	rng.Set("confirm", tn.TenantID)
	if _, _, body = o.post("/console/purge", rng); !strings.Contains(statusText(body), "Purged 0 subjects") || !strings.Contains(statusText(body), "and 1 photos") {
		t.Errorf("range purge: %q", statusText(body))
	}
	if c, _ := do(t, "POST", s.base+"/v1/assets/"+victor+"/download", tn.APIKey, nil); c != 404 {
		t.Errorf("photo in the purged range: %d", c)
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
	first := regexp.MustCompile(`<tr><td>(\d+)</td>`).FindStringSubmatch(regexp.MustCompile(`(?s)<table id="audit">.*?</table>`).FindString(page))
	if n, _ := strconv.Atoi(first[1]); first == nil || n >= mustAtoi(older[1]) {
		t.Errorf("older page starts at %v, want below %s", first, older[1])
	}
	// Paging back to the start shows every entry once, newest first, and
	// every console change with its intent before it.
	var seqs []int
	all := ""
	for path, pages := "/console", 0; path != "" && pages < 50; pages++ {
		_, page := o.get(path)
		table := regexp.MustCompile(`(?s)<table id="audit">.*?</table>`).FindString(page)
		all += table
		for _, m := range regexp.MustCompile(`<tr><td>(\d+)</td>`).FindAllStringSubmatch(table, -1) {
			seqs = append(seqs, mustAtoi(m[1]))
		}
		path = ""
		if m := regexp.MustCompile(`href="(/console\?before=\d+)#audit-h"`).FindStringSubmatch(page); m != nil {
			path = m[1]
		}
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] >= seqs[i-1] {
			t.Fatalf("audit pages not strictly newest first at %d: %d then %d", i, seqs[i-1], seqs[i])
		}
	}
	for _, action := range []string{"console.key.create", "console.key.revoke", "console.kek.rotate", "console.kek.rewrap", "console.kek.revoke", "console.purge.dry_run", "console.purge"} {
		if !strings.Contains(all, "<td>"+action+"</td>") {
			t.Errorf("no audit entry %s in the browser", action)
		}
	}
	for _, intent := range []string{"console.keys.create.intent", "console.kek.intent", "console.purge.intent"} {
		if !strings.Contains(all, "<td>"+intent+"</td>") {
			t.Errorf("no intent entry %s", intent)
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

// TestInstallationConsole: `obscura console link` opens, once, a session
// for the installation operator, who sees every tenant, creates one (its
// first key shown once, and working), acts on one tenant by naming it,
// stops a feature everywhere and exports the installation's signed
// bundle. A tenant's admin can do none of that, whatever its forms say.
func TestInstallationConsole(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	a := createTenant(t, data, "Alpha App")
	b := createTenant(t, data, "Beta App")
	s := startServer(t, data)

	// A refused sign-in is audited (never the key typed).
	intruder := newOperator(t, s)
	if code, _, _ := intruder.post("/console/login", url.Values{"key": {"obs_guessing_" + strings.Repeat("x", 40)}}); code != 401 {
		t.Errorf("bad key: %d", code)
	}
	var link struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(obscura(t, data, "console", "link", "--json", "--addr", strings.TrimPrefix(s.base, "http://")), &link); err != nil || !strings.HasPrefix(link.URL, s.base+"/console/open/cl1.") {
		t.Fatalf("console link %q: %v", link.URL, err)
	}
	o := newOperator(t, s)
	if code, page := o.get(strings.TrimPrefix(link.URL, s.base)); code != 200 || !strings.Contains(page, `id="continue"`) {
		t.Fatalf("opening the link: %d %s", code, page)
	}
	if code, page := o.get("/console"); code != 200 || !strings.Contains(page, `id="installation"`) || !strings.Contains(page, a.TenantID) || !strings.Contains(page, b.TenantID) {
		t.Fatalf("installation overview: %d %s", code, statusText(page))
	}
	if _, page := o.get("/console"); !regexp.MustCompile(`<td>console.login</td><td><code></code></td><td>denied</td><td>unauthenticated</td>`).MatchString(page) || strings.Contains(page, "obs_guessing") {
		t.Error("the refused sign-in is not in the audit log as denied (or the key typed is)")
	}
	other := newOperator(t, s)
	if code, page := other.get(strings.TrimPrefix(link.URL, s.base)); code != 403 || !strings.Contains(page, "already used") {
		t.Errorf("second use of the link: %d %q", code, statusText(page))
	}

	// Create a tenant: its first key is shown once and works.
	if code, _, _ := o.post("/console/tenants", url.Values{"name": {"  "}}); code != 400 {
		t.Errorf("blank tenant name: %d", code)
	}
	code, _, page := o.post("/console/tenants", url.Values{"name": {"Gamma App"}})
	id := regexp.MustCompile(`id="new-tenant">(ten_[a-z0-9]+)<`).FindStringSubmatch(page)
	key := regexp.MustCompile(`id="new-key" readonly value="([^"]+)"`).FindStringSubmatch(page)
	if code != 200 || id == nil || key == nil {
		t.Fatalf("create tenant: %d %q", code, statusText(page))
	}
	if c, body := do(t, "GET", s.base+"/v1/tenant", key[1], nil); c != 200 || !strings.Contains(string(body), id[1]) || !strings.Contains(string(body), "Gamma App") {
		t.Errorf("the new tenant's key: %d %s", c, body)
	}

	// Acting on one tenant: the key made lands in the tenant named.
	if code, page := o.get("/console?tenant=" + b.TenantID); code != 200 || !strings.Contains(page, `<code id="tenant">`+b.TenantID) {
		t.Fatalf("tenant view: %d", code)
	}
	_, _, page = o.post("/console/keys/create", url.Values{"tenant": {b.TenantID}, "scope": {"ingest"}})
	bKey := regexp.MustCompile(`id="new-key" readonly value="([^"]+)"`).FindStringSubmatch(page)
	if bKey == nil {
		t.Fatalf("key for %s: %q", b.TenantID, statusText(page))
	}
	if c, body := do(t, "POST", s.base+"/v1/uploads", bKey[1], []byte(`{"subject":"x","content_type":"image/jpeg"}`)); c != 201 {
		t.Errorf("the key made for beta: %d %s", c, body)
	}
	if code, _, _ := o.post("/console/keys/create", url.Values{"scope": {"ingest"}}); code != 400 {
		t.Errorf("a key with no tenant chosen: %d", code)
	}
	if code, _ := o.get("/console?tenant=ten_doesnotexist"); code != 404 {
		t.Errorf("unknown tenant: %d", code)
	}

	// Stop analysis everywhere, then resume.
	analyze := func(key string) int {
		c, _ := do(t, "POST", s.base+"/v1/assets/ast_nothere/analyze", key, []byte(`{"features":["tags"]}`))
		return c
	}
	o.post("/console/kill-switch", url.Values{"feature": {"analyze"}, "on": {"true"}})
	if ca, cb := analyze(a.APIKey), analyze(b.APIKey); ca != 503 || cb != 503 {
		t.Errorf("analysis stopped everywhere: alpha %d, beta %d", ca, cb)
	}
	o.post("/console/kill-switch", url.Values{"feature": {"analyze"}, "on": {"false"}})
	if ca := analyze(a.APIKey); ca != 404 {
		t.Errorf("after resuming: %d", ca)
	}

	// The installation's bundle: every entry in full, verifying.
	now := time.Now().UTC()
	code, hdr, raw := o.post("/console/forensic", url.Values{"from": {now.Add(-time.Hour).Format("2006-01-02T15:04")}, "to": {now.Add(2 * time.Minute).Format("2006-01-02T15:04")}})
	if code != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "forensic-installation-") {
		t.Fatalf("installation export: %d %v", code, hdr)
	}
	bundle, err := incident.ParseBundle([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	pin, _ := consent.ParsePublicKey(obscura(t, data, "incident", "audit-key"))
	if _, err := incident.VerifyBundle(bundle, pin); err != nil || bundle.Tenant != "" || !strings.Contains(raw, a.TenantID) || !strings.Contains(raw, b.TenantID) {
		t.Errorf("installation bundle (tenant %q): %v", bundle.Tenant, err)
	}

	// obscura console sign-out ends the session at once.
	obscura(t, data, "console", "sign-out")
	if _, page := o.get("/console"); !strings.Contains(page, `id="login"`) || strings.Contains(page, `id="tenants"`) {
		t.Error("an installation session outlived console sign-out")
	}

	// A tenant's admin: no tenants list, no creating tenants, and naming
	// another tenant in a form acts on its own.
	ta := newOperator(t, s)
	ta.login(a.APIKey)
	if _, page := ta.get("/console?tenant=" + b.TenantID); strings.Contains(page, b.TenantID) || strings.Contains(page, `id="tenants"`) {
		t.Error("a tenant's admin sees another tenant")
	}
	if code, _, _ := ta.post("/console/tenants", url.Values{"name": {"Sneaky"}}); code != 403 {
		t.Errorf("a tenant's admin creates a tenant: %d", code)
	}
	_, _, page = ta.post("/console/keys/create", url.Values{"tenant": {b.TenantID}, "scope": {"ingest"}})
	sneaky := regexp.MustCompile(`id="new-key" readonly value="([^"]+)"`).FindStringSubmatch(page)
	if sneaky == nil {
		t.Fatal("no key made")
	}
	if _, body := do(t, "GET", s.base+"/v1/tenant", sneaky[1], nil); !strings.Contains(string(body), a.TenantID) {
		t.Errorf("a key made by alpha's admin naming beta belongs to: %s", body)
	}
}
