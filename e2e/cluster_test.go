package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/obscuraproject/obscura/internal/blob/blobtest"
	"github.com/obscuraproject/obscura/internal/blob/s3blob"
	"github.com/obscuraproject/obscura/internal/store/postgres/pgtest"
)

// TestClusterAgainstRealServers is issue 24 item 5: a real Postgres
// (pgtest), a real S3 server (versitygw) and three `obscura serve`
// processes sharing them and one master key — two `--role api` nodes (A,
// B) and one `--role jobs` node (J). Through A a photo is uploaded and
// analysed asynchronously; as neither api node works jobs, J does it; B
// reads the job's results and downloads the photo. A kill switch set from
// the CLI stops both api nodes within a few polls. J is killed with SIGKILL
// while it runs jobs; restarted, it finishes every job, each photo keeping
// exactly one result. A burst from one key across A and B is held to the
// key's one limit (within 10%), not to one limit per node. Revoking the
// consent through B purges the results J stored.
func TestClusterAgainstRealServers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	gw, err := blobtest.StartVersityGW()
	if err != nil {
		t.Fatalf("S3 test server: %v", err)
	}
	t.Cleanup(gw.Stop)
	const bucket = "obscura-cluster"
	if _, err := s3blob.Open(ctx, s3blob.Config{Endpoint: gw.Endpoint, AccessKey: gw.AccessKey, SecretKey: gw.SecretKey,
		Bucket: bucket, Region: gw.Region, Create: true}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	master := make([]byte, 32)
	rand.Read(master)
	// What every node (and the CLI) shares: database, blobs, master key.
	// Passed to each process (not set with t.Setenv), so the test runs in
	// parallel with the others.
	env := []string{
		"OBSCURA_DATABASE_URL=" + dbURL,
		"OBSCURA_BLOB=s3://" + bucket + "?endpoint=" + gw.Endpoint + "&tls=false&region=" + gw.Region,
		"OBSCURA_S3_ACCESS_KEY=" + gw.AccessKey,
		"OBSCURA_S3_SECRET_KEY=" + gw.SecretKey,
		"OBSCURA_MASTER_KEY=" + base64.StdEncoding.EncodeToString(master),
		// A job's time includes its wait for the jobs node's one analysis
		// slot: with four jobs queued on a loaded machine 5 s ran out (a
		// baseline run of session 10 failed with the jobs retried,
		// "unavailable"). The rescue delay must exceed it.
		"OBSCURA_JOB_TIMEOUT=20s",
		"OBSCURA_JOB_RESCUE_AFTER=21s",
	}
	dataA, dataB, dataJ := t.TempDir(), t.TempDir(), t.TempDir()
	app := createTenantEnv(t, dataA, env, "Cluster App")
	burst := createTenantEnv(t, dataA, env, "Burst App")
	// The burst tenant's keys: 4 cheap requests a second, burst 20.
	const perSecond, burstSize = 4, 20
	cfg := filepath.Join(t.TempDir(), "obscura.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "rate_limits:\n  tenants:\n    %s:\n      api: {per_second: %d, burst: %d}\n",
		burst.TenantID, perSecond, burstSize), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(env, "OBSCURA_CONFIG="+cfg)
	apiEnv, jobsEnv := append(env[:len(env):len(env)], "OBSCURA_ROLE=api"), append(env[:len(env):len(env)], "OBSCURA_ROLE=jobs")

	a := startServer(t, dataA, apiEnv...)
	b := startServer(t, dataB, apiEnv...)
	j := startServer(t, dataJ, jobsEnv...)

	// The jobs node answers its probes and nothing else.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/v1/tenant": 404} {
		if code, _, body := j.get(t, path, app.APIKey); code != want {
			t.Errorf("jobs node %s: %d %s, want %d", path, code, body, want)
		}
	}

	// Upload through A, analyse asynchronously (J works it), read the
	// results and download through B.
	const subj = "cluster-subject-5e1d"
	grantPurpose(t, b, app.APIKey, subj, "tagging", "")
	photo := samplePhoto(t)
	asset := uploadPhotoAs(t, a, app.APIKey, subj, photo)
	job := enqueueTags(t, a, app.APIKey, asset)
	if body := waitJob(t, b, app.APIKey, job, jobsWithin); !strings.Contains(body, `"person"`) {
		t.Fatalf("job read through B: %s", body)
	}
	got := download(t, b, app.APIKey, asset)
	if len(got) < 2 || got[0] != 0xFF || got[1] != 0xD8 {
		t.Fatalf("download through B: %d bytes, not a JPEG", len(got))
	}

	// A kill switch set from the CLI reaches both api nodes (each re-reads
	// the shared store every 500 ms; the bound is killSwitchWithin, which
	// only a node that never re-reads exceeds, not a loaded machine).
	if out, e, ok := runCLIEnv(t, dataB, env, "incident", "kill-switch", "on", "--tenant", app.TenantID, "--feature", "analyze"); !ok {
		t.Fatalf("kill-switch on: %s %s", out, e)
	}
	flipped := time.Now()
	for _, n := range []*server{a, b} {
		code, body := untilStatus(t, 503, func() (int, []byte) {
			return do(t, "POST", n.base+"/v1/assets/"+asset+"/analyze", app.APIKey, []byte(`{"features":["tags"],"async":true}`))
		})
		if code != 503 || !strings.Contains(string(body), `"kill_switch"`) {
			t.Fatalf("%s still analyses %v after the kill switch: %d %s", n.base, time.Since(flipped), code, body)
		}
	}
	t.Logf("kill switch enforced by both api nodes %v after the CLI returned", time.Since(flipped).Round(time.Millisecond))
	if out, e, ok := runCLIEnv(t, dataB, env, "incident", "kill-switch", "off", "--tenant", app.TenantID, "--feature", "analyze"); !ok {
		t.Fatalf("kill-switch off: %s %s", out, e)
	}

	// Kill -9 the jobs node while it runs jobs; restarted after the
	// rescue delay, it finishes every one; no photo has two results or none.
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	assets := []string{asset}
	for range 3 {
		assets = append(assets, uploadPhotoAs(t, a, app.APIKey, subj, photo))
	}
	var jobs []string
	for _, id := range assets {
		jobs = append(jobs, enqueueTags(t, a, app.APIKey, id))
	}
	waitRunning(t, pool, jobsWithin)
	j.kill9(t)
	killed := time.Now()
	time.Sleep(time.Until(killed.Add(21500 * time.Millisecond))) // past OBSCURA_JOB_RESCUE_AFTER
	j = startServer(t, dataJ, jobsEnv...)
	for _, id := range jobs {
		waitJob(t, b, app.APIKey, id, jobsWithin)
	}
	var retried int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'analyze' AND attempt > 1`).Scan(&retried); err != nil || retried == 0 {
		t.Errorf("no analysis was retried after the kill (%d, %v): the test did not exercise the rescue", retried, err)
	}
	for i, id := range assets {
		if n := countPG(t, pool, `SELECT count(*) FROM results WHERE asset_id = $1 AND feature = 'tags'`, id); n != 1 {
			t.Errorf("photo %d: %d tags results, want exactly 1", i, n)
		}
	}

	// One key bursting through both api nodes gets one key's limit. Four
	// clients keep requests in flight for at least 2 s and until one is
	// refused (so the burst was spent). The limit allows at most the burst
	// plus the refill over the whole run (the server admitted every
	// request inside it). It lets through at least the burst plus the
	// refill between the first answer and the last request sent: requests
	// were in flight all that time and took each token as it came. That
	// window, not the whole run, is what a client can vouch for: the
	// refill during the first and last round trips need not be taken, and
	// on a loaded machine a round trip can take most of a second (the old
	// bound, 90% of burst plus refill over the whole 2 s, could then fail).
	var admitted, refused atomic.Int64
	var mu sync.Mutex
	var firstAnswer, lastSend time.Time
	var wg sync.WaitGroup
	start := time.Now()
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := []*server{a, b}[i%2]
			for time.Since(start) < 2*time.Second || refused.Load() == 0 {
				if time.Since(start) > time.Minute {
					t.Error("burst: no request refused within a minute")
					return
				}
				req, _ := newRequest("GET", n.base+"/v1/tenant", burst.APIKey)
				sent := time.Now()
				res, err := httpClient().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				mu.Lock()
				if firstAnswer.IsZero() {
					firstAnswer = time.Now()
				}
				if sent.After(lastSend) {
					lastSend = sent
				}
				mu.Unlock()
				switch res.StatusCode {
				case 200:
					admitted.Add(1)
				case 429:
					refused.Add(1)
				default:
					t.Errorf("burst: status %d", res.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	most := burstSize + perSecond*elapsed
	least := burstSize + perSecond*max(0, lastSend.Sub(firstAnswer).Seconds())
	t.Logf("burst over %.2fs through two nodes: %d admitted, %d refused; one key's limit allows %.1f to %.1f", elapsed, admitted.Load(), refused.Load(), least, most)
	if got := float64(admitted.Load()); got > most*1.1 || got < least*0.9 || refused.Load() == 0 {
		t.Errorf("admitted %v across two nodes, want %.1f to %.1f ± 10%% (and refusals)", got, least, most)
	}

	// Revoke through B: the results J stored are purged.
	if code, body := do(t, "DELETE", b.base+"/v1/subjects/"+subj+"/consents/tagging", app.APIKey, nil); code != 200 && code != 204 {
		t.Fatalf("revoke through B: %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for countPG(t, pool, `SELECT count(*) FROM results WHERE tenant_id = $1`, app.TenantID) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("results still stored 10 s after revocation")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, body := a.get(t, "/v1/assets/"+asset+"/analysis", app.APIKey); code == 200 && strings.Contains(string(body), `"person"`) {
		t.Errorf("results still served through A after revocation: %s", body)
	}
	for _, n := range []*server{a, b, j} {
		if strings.Contains(n.logs.String(), subj) {
			t.Errorf("%s logged the subject id", n.base)
		}
	}
}

// enqueueTags queues an asynchronous tags analysis and returns its job id.
func enqueueTags(t *testing.T, s *server, key, asset string) string {
	t.Helper()
	code, body := do(t, "POST", s.base+"/v1/assets/"+asset+"/analyze", key, []byte(`{"features":["tags"],"async":true}`))
	var job struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &job); code != 202 || job.ID == "" {
		t.Fatalf("queue analysis: %d %s", code, body)
	}
	return job.ID
}

// jobsWithin bounds the wait for queued analyses. It only bounds a node
// that never works them: on a loaded machine an attempt can time out and
// River retries it after a backoff (1 s, 16 s, 81 s, ...), and a minute,
// the old bound, was not always enough.
const jobsWithin = 5 * time.Minute

// waitJob polls a job until it completed and returns its body.
func waitJob(t *testing.T, s *server, key, id string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, _, body := s.get(t, "/v1/jobs/"+id, key)
		if code == 200 && strings.Contains(string(body), `"state":"completed"`) {
			return string(body)
		}
		if time.Now().After(deadline) || strings.Contains(string(body), `"state":"failed"`) {
			t.Fatalf("job %s: %d %s", id, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRunning waits until an analysis job is running.
func waitRunning(t *testing.T, pool *pgxpool.Pool, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for countPG(t, pool, `SELECT count(*) FROM river_job WHERE kind = 'analyze' AND state = 'running'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no analysis job was seen running")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countPG(t *testing.T, pool *pgxpool.Pool, q string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
