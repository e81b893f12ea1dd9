package serverbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/perf"
)

// LoadTarget is a running server and what the mixed load needs on it: one
// key per kind of traffic (so per-key limits do not mix them up), a photo
// its subject consented to analyse, and a small photo to upload.
type LoadTarget struct {
	Base       string // http://host:port
	AnalyzeKey string
	ReadKey    string
	IngestKey  string
	AssetID    string
	Features   []string
	Subject    string
	Upload     []byte // a small JPEG
}

// LoadMix is the open-loop arrival rate per endpoint, in requests per
// second, and how long to send.
type LoadMix struct {
	Analyze, Read, Upload float64
	Duration              time.Duration
}

// DefaultLoadMix is issue 17.6's mixed load: 72 HTTP requests per second
// (an upload is two), within every default per-key limit, of which the
// analyses alone are enough to saturate two cores.
var DefaultLoadMix = LoadMix{Analyze: 8, Read: 48, Upload: 8, Duration: 10 * time.Second}

// EndpointStats are one endpoint's latencies and answers.
type EndpointStats struct {
	Endpoint string         `json:"endpoint"`
	Count    int            `json:"count"`
	P50ms    float64        `json:"p50_ms"`
	P99ms    float64        `json:"p99_ms"`
	Status   map[string]int `json:"status"` // "200", "503 overloaded", "error" …
}

func (s EndpointStats) String() string {
	var st []string
	for k, v := range s.Status {
		st = append(st, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(st)
	return fmt.Sprintf("%-24s n=%-4d p50 %8.1f ms  p99 %8.1f ms  %s", s.Endpoint, s.Count, s.P50ms, s.P99ms, strings.Join(st, " "))
}

type sample struct {
	endpoint string
	d        time.Duration
	status   string
}

// RunLoad sends the mix to the target, open loop (requests start on
// schedule whether or not earlier ones finished, as independent clients
// would), and reports p50/p99 per endpoint: analyze (POST …/analyze),
// read (GET /v1/assets/{id}), upload (POST /v1/uploads, then PUT of the
// photo, timed together; each of the two HTTP requests is also reported
// on its own, as upload-url and upload-put).
func RunLoad(ctx context.Context, t LoadTarget, mix LoadMix) ([]EndpointStats, error) {
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var mu sync.Mutex
	var samples []sample
	record := func(s sample) {
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
	}
	body, _ := json.Marshal(map[string]any{"features": t.Features})
	analyze := func() {
		start := time.Now()
		st := do(ctx, client, "POST", t.Base+"/v1/assets/"+t.AssetID+"/analyze", t.AnalyzeKey, body, nil)
		record(sample{"analyze", time.Since(start), st})
	}
	read := func() {
		start := time.Now()
		st := do(ctx, client, "GET", t.Base+"/v1/assets/"+t.AssetID, t.ReadKey, nil, nil)
		record(sample{"read", time.Since(start), st})
	}
	upload := func() {
		start := time.Now()
		req, _ := json.Marshal(map[string]string{"subject": t.Subject, "content_type": "image/jpeg"})
		var grant struct {
			UploadURL string `json:"upload_url"`
		}
		st := do(ctx, client, "POST", t.Base+"/v1/uploads", t.IngestKey, req, &grant)
		granted := time.Now()
		record(sample{"upload-url", granted.Sub(start), st})
		if st == "201" {
			st = do(ctx, client, "PUT", grant.UploadURL, "", t.Upload, nil)
			record(sample{"upload-put", time.Since(granted), st})
		}
		record(sample{"upload", time.Since(start), st})
	}
	var wg sync.WaitGroup
	stop := time.Now().Add(mix.Duration)
	for _, s := range []struct {
		rate float64
		f    func()
	}{{mix.Analyze, analyze}, {mix.Read, read}, {mix.Upload, upload}} {
		if s.rate <= 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Duration(float64(time.Second) / s.rate))
			defer tick.Stop()
			for time.Now().Before(stop) {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				wg.Add(1)
				go func() { defer wg.Done(); s.f() }()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return summarize(samples), nil
}

// do sends one request and returns its status ("200", "503 overloaded",
// "error"); into, if set, receives a 2xx JSON body.
func do(ctx context.Context, c *http.Client, method, url, key string, body []byte, into any) string {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return "error"
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return "error"
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	st := fmt.Sprint(res.StatusCode)
	if res.StatusCode >= 400 {
		var p struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(b, &p) == nil && p.Code != "" {
			st += " " + p.Code
		}
	} else if into != nil {
		json.Unmarshal(b, into)
	}
	return st
}

// summarize computes per-endpoint percentiles (nearest rank).
func summarize(samples []sample) []EndpointStats {
	by := map[string][]sample{}
	for _, s := range samples {
		by[s.endpoint] = append(by[s.endpoint], s)
	}
	var out []EndpointStats
	for _, ep := range []string{"analyze", "read", "upload", "upload-url", "upload-put"} {
		ss := by[ep]
		if len(ss) == 0 {
			continue
		}
		ds := make([]time.Duration, len(ss))
		st := map[string]int{}
		for i, s := range ss {
			ds[i] = s.d
			st[s.status]++
		}
		slices.Sort(ds)
		out = append(out, EndpointStats{Endpoint: ep, Count: len(ss), P50ms: perf.Ms(perf.Percentile(ds, 50)), P99ms: perf.Ms(perf.Percentile(ds, 99)), Status: st})
	}
	return out
}
