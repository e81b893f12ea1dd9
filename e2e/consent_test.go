package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runCLI runs the obscura binary and returns stdout, stderr and whether it succeeded.
func runCLI(t *testing.T, data string, args ...string) (string, string, bool) {
	t.Helper()
	return runCLIEnv(t, data, nil, args...)
}

// runCLIEnv is runCLI with extra environment variables (KEY=VALUE).
func runCLIEnv(t *testing.T, data string, env []string, args ...string) (string, string, bool) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "OBSCURA_DATA="+data), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err == nil
}

func scanTree(t *testing.T, root string, markers map[string][]byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for name, m := range markers {
			if bytes.Contains(b, m) {
				hits = append(hits, name+" in "+p)
			}
		}
		return nil
	})
	return hits
}

// TestConsentExportEraseLeakScan runs consent, revocation purge, export and
// erase over real HTTP, then scans everything persisted for planted markers.
func TestConsentExportEraseLeakScan(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	created := createTenant(t, data, "Consent E2E")
	s := startServer(t, data)
	key := created.APIKey
	subj := "MARKER-SUBJECT-7d1e4c@example.com"
	base := s.base + "/v1/subjects/" + url.PathEscape(subj)

	// A photo, uploaded through the single-use URL flow.
	photo := uploadAndDownloadFor(t, s, key, subj, jpegPhoto(t))
	photoMarker := photo[len(photo)/2 : len(photo)/2+48] // plaintext bytes of the stored photo

	// Consents, with receipts.
	for _, p := range []string{"tagging", "face_recognition"} {
		code, b := do(t, "POST", base+"/consents", key, []byte(`{"purpose":"`+p+`","notice_version":"2026-11"}`))
		if code != 201 || !strings.Contains(string(b), `"action":"grant"`) {
			t.Fatalf("grant %s: %d %s", p, code, b)
		}
	}
	// Derived biometric data for this subject (the analysis API is not here yet: plant it as an operator).
	derived := filepath.Join(t.TempDir(), "emb.bin")
	os.WriteFile(derived, []byte("MARKER-DERIVED-EMBEDDING-91ac"), 0o600)
	if _, e, ok := runCLI(t, data, "object", "put", "--tenant", created.TenantID, "--subject", subj, "--purpose", "face_recognition", "--id", "emb_1", derived); !ok {
		t.Fatalf("plant derived data: %s", e)
	}

	// Revoke biometric consent: purged before the response.
	code, b := do(t, "DELETE", base+"/consents/face_recognition", key, nil)
	if code != 200 || !strings.Contains(string(b), `"action":"revoke"`) {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if _, _, ok := runCLI(t, data, "object", "get", "--tenant", created.TenantID, "--subject", subj, "--purpose", "face_recognition", "--id", "emb_1"); ok {
		t.Error("derived biometric data readable after revocation")
	}
	if hits := scanTree(t, data, map[string][]byte{"derived": []byte("MARKER-DERIVED-EMBEDDING-91ac")}); len(hits) > 0 {
		t.Errorf("after revoke: %v", hits)
	}

	// Receipts verify offline with the served key.
	_, rb := do(t, "GET", base+"/consents", key, nil)
	_, kb := do(t, "GET", s.base+"/v1/tenant/consent-key", key, nil)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "receipts.json"), rb, 0o600)
	os.WriteFile(filepath.Join(dir, "key.json"), kb, 0o600)
	if out, e, ok := runCLI(t, data, "consent", "verify", filepath.Join(dir, "receipts.json"), "--pubkey", filepath.Join(dir, "key.json")); !ok || !strings.Contains(out, "ok: 3 receipts") {
		t.Errorf("consent verify: %s %s", out, e)
	}
	var listed struct {
		Consents []struct{ Purpose, State string } `json:"consents"`
	}
	json.Unmarshal(rb, &listed)
	if len(listed.Consents) != 2 || listed.Consents[0].Purpose != "face_recognition" || listed.Consents[0].State != "revoked" {
		t.Errorf("consents: %s", rb)
	}

	// Export: a single-use bundle with the photo, consents, receipts and a manifest.
	code, b = do(t, "POST", base+"/export", key, nil)
	var ex struct {
		DownloadURL string `json:"download_url"`
	}
	json.Unmarshal(b, &ex)
	if code != 200 || !strings.Contains(ex.DownloadURL, "/v1/exports/xt1.") {
		t.Fatalf("export: %d %s", code, b)
	}
	code, bundle := do(t, "GET", ex.DownloadURL, "", nil)
	if code != 200 {
		t.Fatalf("export download: %d %s", code, bundle)
	}
	if code, _ := do(t, "GET", ex.DownloadURL, "", nil); code != 409 {
		t.Errorf("export replay: %d", code)
	}
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	var manifest struct {
		Format string `json:"format"`
		Files  []struct {
			Path, SHA256 string
		} `json:"files"`
	}
	json.Unmarshal(files["manifest.json"], &manifest)
	if manifest.Format != "obscura-export-v1" || len(manifest.Files) != 3 {
		t.Fatalf("manifest: %s", files["manifest.json"])
	}
	for _, f := range manifest.Files {
		sum := sha256.Sum256(files[f.Path])
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s digest mismatch", f.Path)
		}
		if strings.HasPrefix(f.Path, "photos/") && strings.HasSuffix(f.Path, ".jpg") && !bytes.Equal(files[f.Path], photo) {
			t.Errorf("exported photo differs from the stored one")
		}
	}
	if !bytes.Contains(files["consents.json"], []byte(`"receipts"`)) {
		t.Error("bundle lacks receipts")
	}

	// Erase: nothing of the subject remains but receipts (hashed ids only).
	code, b = do(t, "DELETE", base, key, nil)
	if code != 200 {
		t.Fatalf("erase: %d %s", code, b)
	}
	code, b = do(t, "GET", base+"/consents", key, nil)
	if code != 200 || !strings.Contains(string(b), `"consents":[]`) || !strings.Contains(string(b), `"receipts":[{`) {
		t.Errorf("after erase: %d %s", code, b)
	}
	// Scan everything persisted (database, WAL, blobs, key files) and the server log.
	markers := map[string][]byte{"subject": []byte("MARKER-SUBJECT-7d1e4c"), "photo": photoMarker, "derived": []byte("MARKER-DERIVED-EMBEDDING-91ac")}
	if hits := scanTree(t, data, markers); len(hits) > 0 {
		t.Errorf("leak scan after erase: %v", hits)
	}
	for name, m := range markers {
		if bytes.Contains([]byte(s.logs.String()), m) {
			t.Errorf("server log contains the %s marker", name)
		}
	}
	var left []string
	filepath.WalkDir(filepath.Join(data, "blobs", "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("objects left after erase: %v", left)
	}
	// The audit chain of all of the above verifies, and names no raw id.
	if out, e, ok := runCLI(t, data, "audit", "verify"); !ok || !strings.HasPrefix(out, "ok: ") {
		t.Errorf("audit verify: %s %s", out, e)
	}
	if out, _, _ := runCLI(t, data, "audit", "list", "--limit", "1000"); !strings.Contains(out, "revoke-consent") || !strings.Contains(out, "erase-subject") || strings.Contains(out, "MARKER-SUBJECT") {
		t.Errorf("audit list:\n%s", out)
	}
	// The scan can find things: the tenant id is in the database.
	if hits := scanTree(t, data, map[string][]byte{"tenant": []byte(created.TenantID)}); len(hits) == 0 {
		t.Error("scan found no tenant id; it would not find leaks either")
	}
}

func newRequest(method, url, key string) (*http.Request, error) {
	req, err := http.NewRequest(method, url, nil)
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return req, err
}

func httpClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

func jpegPhoto(t *testing.T) []byte {
	t.Helper()
	return photoBytes(t)
}

// uploadAndDownloadFor is uploadAndDownload for a given subject.
func uploadAndDownloadFor(t *testing.T, s *server, key, subj string, data []byte) []byte {
	t.Helper()
	got := download(t, s, key, uploadPhotoAs(t, s, key, subj, data))
	if got == nil {
		t.Fatal("download failed")
	}
	if _, err := jpeg.Decode(bytes.NewReader(got)); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestRevokeCrashResumesPurge kills the server right after a revocation is
// committed and before its purge; the restarted server finishes the purge.
func TestRevokeCrashResumesPurge(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	created := createTenant(t, data, "Crash E2E")
	s := startServer(t, data, "OBSCURA_TEST_CRASH_POINT=after-revoke-recorded")
	base := s.base + "/v1/subjects/crash-subject"
	if code, b := do(t, "POST", base+"/consents", created.APIKey, []byte(`{"purpose":"face_recognition","notice_version":"1"}`)); code != 201 {
		t.Fatalf("grant: %d %s", code, b)
	}
	derived := filepath.Join(t.TempDir(), "emb.bin")
	os.WriteFile(derived, []byte("MARKER-CRASH-DERIVED-5b2f"), 0o600)
	if _, e, ok := runCLI(t, data, "object", "put", "--tenant", created.TenantID, "--subject", "crash-subject", "--purpose", "face_recognition", "--id", "emb_1", derived); !ok {
		t.Fatal(e)
	}
	// The revoke request dies with the server.
	req, _ := newRequest("DELETE", base+"/consents/face_recognition", created.APIKey)
	if res, err := httpClient().Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("server answered %d; the crash hook did not fire", res.StatusCode)
	}
	s.cmd.Wait()
	if code := s.cmd.ProcessState.ExitCode(); code != 86 {
		t.Fatalf("server exit code %d, want 86 (crash hook)", code)
	}
	// Before restart the derived data is still there (purge never ran) …
	if _, _, ok := runCLI(t, data, "object", "get", "--tenant", created.TenantID, "--subject", "crash-subject", "--purpose", "face_recognition", "--id", "emb_1"); !ok {
		t.Fatal("derived data missing before restart: the crash came too late to test resumption")
	}
	// … and after restart it is gone, and consent stays revoked.
	s2 := startServer(t, data)
	if !strings.Contains(s2.logs.String(), "finished purges interrupted by a previous crash") {
		t.Errorf("restart did not report resumed purges:\n%s", s2.logs.String())
	}
	if _, _, ok := runCLI(t, data, "object", "get", "--tenant", created.TenantID, "--subject", "crash-subject", "--purpose", "face_recognition", "--id", "emb_1"); ok {
		t.Error("derived data survived the restart")
	}
	if hits := scanTree(t, data, map[string][]byte{"derived": []byte("MARKER-CRASH-DERIVED-5b2f")}); len(hits) > 0 {
		t.Errorf("leak: %v", hits)
	}
	_, b := do(t, "GET", s2.base+"/v1/subjects/crash-subject/consents", created.APIKey, nil)
	if !strings.Contains(string(b), `"state":"revoked"`) {
		t.Errorf("consent after crash: %s", b)
	}
}

// killSwitchWithin bounds how long a running server may take to obey a
// kill switch the CLI set or cleared in the store. The server re-reads the
// switches every second (wire.Graph.killPoll; 500 ms on a shared store);
// on an idle machine it obeys within that. The bound is not that second:
// under a loaded CI machine (load 15-20) a poll tick, its query and the
// request after it can take several seconds, and a bound on load fails
// the suite without a defect. Twenty polls still catch a switch that is
// read only at start-up or on the sweep's minute.
const killSwitchWithin = 20 * time.Second

// TestKillSwitchFromCLIReachesRunningServer flips the switch with the CLI
// beside a running server: refused within a few polls, and after a restart.
func TestKillSwitchFromCLIReachesRunningServer(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	created := createTenant(t, data, "Kill E2E")
	s := startServer(t, data)
	body := []byte(`{"subject":"k","content_type":"image/jpeg"}`)
	if code, b := do(t, "POST", s.base+"/v1/uploads", created.APIKey, body); code != 201 {
		t.Fatalf("before: %d %s", code, b)
	}
	if out, e, ok := runCLI(t, data, "incident", "kill-switch", "on"); !ok || !strings.Contains(out, "global") {
		t.Fatalf("kill-switch on: %s %s", out, e)
	}
	flipped := time.Now()
	code, b := untilStatus(t, 503, func() (int, []byte) { return do(t, "POST", s.base+"/v1/uploads", created.APIKey, body) })
	if code != 503 || !strings.Contains(string(b), `"code":"kill_switch"`) {
		t.Fatalf("after switching on: %d %s", code, b)
	}
	t.Logf("running server refused %v after the CLI flipped the switch", time.Since(flipped).Round(10*time.Millisecond))
	// Health and consent revocation still work during the incident.
	if code, _ := do(t, "GET", s.base+"/healthz", "", nil); code != 200 {
		t.Errorf("healthz during incident: %d", code)
	}
	// Survives a restart.
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	s2 := startServer(t, data)
	if code, _ := do(t, "POST", s2.base+"/v1/uploads", created.APIKey, body); code != 503 {
		t.Errorf("after restart: %d", code)
	}
	if out, e, ok := runCLI(t, data, "incident", "kill-switch", "off"); !ok {
		t.Fatalf("kill-switch off: %s %s", out, e)
	}
	if code, b := untilStatus(t, 201, func() (int, []byte) { return do(t, "POST", s2.base+"/v1/uploads", created.APIKey, body) }); code != 201 {
		t.Errorf("after switching off: %d %s", code, b)
	}
}

// untilStatus repeats req until it answers want or killSwitchWithin
// passes, and returns the last answer.
func untilStatus(t *testing.T, want int, req func() (int, []byte)) (int, []byte) {
	t.Helper()
	deadline := time.Now().Add(killSwitchWithin)
	for {
		code, b := req()
		if code == want || time.Now().After(deadline) {
			return code, b
		}
		time.Sleep(50 * time.Millisecond)
	}
}
