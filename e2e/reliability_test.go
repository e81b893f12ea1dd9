package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// runServe runs `obscura serve` on data and returns its exit error and
// stderr once it exits by itself (it must, within the timeout).
func runServe(t *testing.T, data string, env ...string) (string, error) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", freeAddr(t))
	cmd.Env = append(append(os.Environ(), "OBSCURA_DATA="+data), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return stderr.String(), err
	case <-time.After(150 * time.Second): // serve loads its workers first; tests start servers in parallel
		cmd.Process.Kill()
		<-done
		t.Fatalf("serve kept running: %s", stderr.String())
		return "", nil
	}
}

// Issue 17.1: a data dir that holds data but lost master.key is refused by
// the server (naming the file), and no new key is written.
func TestServeRefusesLostMasterKey(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	createTenant(t, data, "Keyed")
	key := filepath.Join(data, "master.key")
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	stderr, err := runServe(t, data)
	if err == nil || !strings.Contains(stderr, key+" does not exist but "+data+" holds data") {
		t.Errorf("serve without its master key: %v, stderr %q", err, stderr)
	}
	if strings.Contains(stderr, "GENERATED A NEW MASTER KEY") {
		t.Error("serve generated a new master key for a data dir that holds data")
	}
	if _, err := os.Stat(key); err == nil {
		t.Error("a new master.key was written")
	}
}

// kill9 kills the server like a crash would: no shutdown, no cleanup.
func (s *server) kill9(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.cmd.Wait()
}

// countRows runs a count query on the data dir's database (WAL: fine
// while a server runs or after it was killed).
func countRows(t *testing.T, data, query string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "obscura.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// countBlobs counts the photos' ciphertext objects under the data dir
// (t/<tenant>/s/<subject>/_/ast_…; analysis results live under their
// purpose's segment and are not counted).
func countBlobs(t *testing.T, data string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(data, "blobs", "objects"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && filepath.Base(filepath.Dir(p)) == "_" && strings.HasPrefix(d.Name(), "ast_") {
			n++
		}
		return nil
	})
	return n
}

// uploadQuietly runs one upload and reports whether it was acknowledged;
// transport errors (the server was killed) are not failures here.
func uploadQuietly(base, key string, photo []byte) bool {
	body, _ := json.Marshal(map[string]string{"subject": "kill-loop", "content_type": "image/jpeg"})
	req, _ := http.NewRequest("POST", base+"/v1/uploads", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	var up struct {
		UploadURL string `json:"upload_url"`
	}
	json.NewDecoder(res.Body).Decode(&up)
	res.Body.Close()
	if res.StatusCode != 201 {
		return false
	}
	req, _ = http.NewRequest("PUT", up.UploadURL, bytes.NewReader(photo))
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == 201
}

// Issues 17.4 and 17.5: uploads and queued analyses under kill -9. The
// crashes leave ciphertext without a record and jobs stuck in "running";
// the restarted server's sweeper removes exactly those blobs after the
// grace period, River's rescuer retries the stuck jobs (job timeout and
// rescue delay shortened for the test), every job completes, and every
// acknowledged upload is still there.
func TestKillLoopRecovers(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tn := createTenant(t, data, "Kill Loop")
	photo := jpegPhoto(t)
	const jobEnv1, jobEnv2 = "OBSCURA_JOB_TIMEOUT=15s", "OBSCURA_JOB_RESCUE_AFTER=16s"
	acked := 0
	var jobs []string
	var killedAt time.Time
	const rounds = 3
	for round := range rounds {
		s := startServer(t, data, jobEnv1, jobEnv2)
		var wg sync.WaitGroup
		var mu sync.Mutex
		stop := make(chan struct{})
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if uploadQuietly(s.base, tn.APIKey, photo) {
						mu.Lock()
						acked++
						mu.Unlock()
					}
				}
			}()
		}
		if round < rounds-1 {
			time.Sleep(time.Duration(400+round*200) * time.Millisecond)
		} else {
			jobs = queueUntilRunning(t, s, tn.APIKey, photo)
		}
		s.kill9(t)
		killedAt = time.Now()
		close(stop)
		wg.Wait()
	}
	running := countRows(t, data, `SELECT count(*) FROM river_job WHERE kind = 'analyze' AND state = 'running'`)
	blobs, assets, pending := countBlobs(t, data), countRows(t, data, `SELECT count(*) FROM assets`), countRows(t, data, `SELECT count(*) FROM pending_assets`)
	t.Logf("after %d kills: %d acknowledged uploads, %d assets, %d blobs, %d pending marks, %d jobs left running", rounds, acked, assets, blobs, pending, running)
	if assets < acked {
		t.Fatalf("%d assets for %d acknowledged uploads: an acknowledged upload was lost", assets, acked)
	}
	if blobs > assets && pending < blobs-assets {
		t.Errorf("%d orphan blobs but only %d pending marks", blobs-assets, pending)
	}
	if running == 0 {
		t.Fatal("no job was left running by the kill: the test did not exercise the rescue")
	}

	// Restart once the stuck jobs are past the rescue delay, so River's
	// rescuer (which runs when the queue starts, then every 30 s) takes them.
	time.Sleep(time.Until(killedAt.Add(16 * time.Second)))
	s := startServer(t, data, jobEnv1, jobEnv2, "OBSCURA_ORPHAN_GRACE=1s")
	deadline := time.Now().Add(90 * time.Second)
	for countBlobs(t, data) != countRows(t, data, `SELECT count(*) FROM assets`) || countRows(t, data, `SELECT count(*) FROM pending_assets`) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the sweep: %d blobs, %d assets, %d pending marks; logs: %s", countBlobs(t, data),
				countRows(t, data, `SELECT count(*) FROM assets`), countRows(t, data, `SELECT count(*) FROM pending_assets`), s.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := countRows(t, data, `SELECT count(*) FROM assets`); got != assets {
		t.Errorf("the sweep changed the asset count: %d → %d", assets, got)
	}
	// The rescued jobs wait for the one analysis slot within their job
	// timeout; on a loaded machine some time out and are retried after
	// River's backoff, so they get jobsWithin, not what the sweep left.
	deadline = time.Now().Add(jobsWithin)
	for _, id := range jobs {
		for {
			code, _, b := s.get(t, "/v1/jobs/"+id, tn.APIKey)
			if code == 200 && strings.Contains(string(b), `"state":"completed"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s after the restart: %d %s", id, code, b)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// queueUntilRunning grants tagging consent, uploads a photo, queues
// analyses and returns their ids as soon as one of them is running.
func queueUntilRunning(t *testing.T, s *server, key string, photo []byte) []string {
	t.Helper()
	if code, b := do(t, "POST", s.base+"/v1/subjects/kill-jobs/consents", key, []byte(`{"purpose":"tagging","notice_version":"1"}`)); code != 201 {
		t.Fatalf("grant: %d %s", code, b)
	}
	asset := uploadPhotoAs(t, s, key, "kill-jobs", photo)
	var ids []string
	for range 6 {
		code, b := do(t, "POST", s.base+"/v1/assets/"+asset+"/analyze", key, []byte(`{"features":["tags"],"async":true}`))
		var job struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &job); code != 202 {
			t.Fatalf("queue: %d %s", code, b)
		}
		ids = append(ids, job.ID)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, id := range ids {
			if _, _, b := s.get(t, "/v1/jobs/"+id, key); strings.Contains(string(b), `"state":"running"`) {
				return ids
			}
		}
		time.Sleep(5 * time.Millisecond) // a poll, not a spin: the server needs the core
	}
	t.Fatal("no queued analysis was seen running")
	return nil
}

// Issues 17.2 and 17.3 on a real full disk: the data directory on a small
// tmpfs, filled up while the server runs. A PUT answers 503 storage_full
// with Retry-After (not 500), /readyz is 503; once space is freed /readyz
// recovers without a restart and the same upload URL works. Needs root
// (mount); skipped otherwise.
func TestDiskFullOnTmpfs(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	data := filepath.Join(t.TempDir(), "data")
	os.Mkdir(data, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", data).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", data).Run() })
	tn := createTenant(t, data, "Full Disk")
	s := startServer(t, data)
	photo := jpegPhoto(t)
	body, _ := json.Marshal(map[string]string{"subject": "full-disk", "content_type": "image/jpeg"})
	code, b := do(t, "POST", s.base+"/v1/uploads", tn.APIKey, body)
	var up struct {
		UploadURL string `json:"upload_url"`
	}
	if json.Unmarshal(b, &up); code != 201 {
		t.Fatalf("create upload: %d %s", code, b)
	}

	filler := filepath.Join(data, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 256<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	req, _ := http.NewRequest("PUT", up.UploadURL, bytes.NewReader(photo))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Code string `json:"code"`
	}
	json.NewDecoder(res.Body).Decode(&p)
	res.Body.Close()
	if res.StatusCode != 503 || p.Code != "storage_full" || res.Header.Get("Retry-After") == "" {
		t.Errorf("PUT on a full disk: %d %q Retry-After=%q", res.StatusCode, p.Code, res.Header.Get("Retry-After"))
	}
	if code, _, b := s.get(t, "/readyz", ""); code != 503 || !strings.Contains(string(b), "storage_full") {
		t.Errorf("/readyz on a full disk: %d %s", code, b)
	}

	os.Remove(filler)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, b := s.get(t, "/readyz", "")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after space was freed: %d %s", code, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, b := do(t, "PUT", up.UploadURL, "", photo); code != 201 {
		t.Errorf("retry of the same upload URL after space was freed: %d %s", code, b)
	}
	if strings.Contains(s.logs.String(), `"code":"internal"`) {
		t.Error("a full disk was logged as an internal error")
	}
}
