package mediabench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/wire"
)

// The import benchmark (issue 25.6): a mixed library imported through the
// real CLI, `obscura import --analyze faces,tags,sensitive` (sniff,
// sanitize and rotate in a sandboxed worker, encrypt, store, journal,
// queue one analysis job per photo), then the queue drained by a jobs
// node built as `obscura serve` builds it (River on the same SQLite
// database, the consent gate, decrypting each photo, the models, sealing
// each feature's result) until every job has completed. The clock runs
// from the CLI's start to the last completed job.

// ImportFeatures are what every imported photo is analysed for.
var ImportFeatures = []string{"faces", "tags", "sensitive"}

// ImportVision is one way of running the drain's decodes and models.
type ImportVision struct {
	// Case names the configuration's rows.
	Case string
	// Insecure passes --insecure-no-sandbox to the CLI.
	Insecure bool
	// Open starts the vision the jobs run on (not timed), once per
	// configuration: every run of the configuration, its warm-up
	// included, uses it, as a serve that has been running would. pids
	// are processes whose CPU time counts beside this one's (the
	// workers).
	Open func(ctx context.Context) (v wire.Vision, pids func() []int, closeFn func() error, err error)
}

// ImportRow is one full import: photos per second over the whole run,
// CPU per photo (this process, the CLI process and its worker, the
// drain's workers), and the two phases' wall times.
type ImportRow struct {
	Case string `json:"case"`
	// Rep is the repetition (0-based); runs of the configurations are
	// interleaved A B, B A, A B, … (ABBA).
	Rep       int     `json:"rep"`
	Photos    int     `json:"photos"`
	PhotosSec float64 `json:"photos_per_s"`
	CPUMs     float64 `json:"cpu_ms_per_photo"`
	// ImportCPUMs is the CLI's share of CPUMs (with its sanitizing
	// worker), DrainCPUMs the analyses' (this process and the workers).
	ImportCPUMs float64 `json:"import_cpu_ms_per_photo"`
	DrainCPUMs  float64 `json:"analyses_cpu_ms_per_photo"`
	// DrainSelfCPUMs is this process's share of DrainCPUMs (the jobs
	// node: queue, store, decrypting, and the analyses themselves when
	// in process), DrainSelfFaults its minor page faults per photo.
	DrainSelfCPUMs  float64 `json:"analyses_self_cpu_ms_per_photo"`
	DrainSelfFaults float64 `json:"analyses_self_faults_per_photo"`
	// IdleWorkersCPUMs is the analysis workers' CPU per photo while the
	// CLI imports (they have nothing to do then; it is part of
	// ImportCPUMs).
	IdleWorkersCPUMs float64 `json:"idle_workers_cpu_ms_per_photo,omitempty"`
	// SentMB is the request blobs (image bytes, pixels) the workers
	// received per photo during the analyses (sandboxed runs): pixels
	// appear in it when a picture's keeping worker was busy and another
	// took the model pass.
	SentMB    float64 `json:"sent_mb_per_photo,omitempty"`
	ImportS   float64 `json:"import_s"`
	DrainS    float64 `json:"drain_s"`
	LoadStart float64 `json:"load_start"`
	Load      float64 `json:"load_after"`
	runStats
}

// PinnedLibrary is MixedLibrary of n photos made from the six pinned
// sample group photos in the models directory, each file made distinct
// (the import journal skips a file whose bytes it has seen): a repeated
// variant carries its number in a JPEG comment or a PNG text chunk, which
// the sanitizer strips like any other metadata.
func PinnedLibrary(modelDir string, n int) ([][]byte, error) {
	var srcs [][]byte
	for i := 1; i <= 6; i++ {
		srcs = append(srcs, mustLoad(modelDir, fmt.Sprintf("sample%d.jpg", i)))
	}
	lib, err := MixedLibrary(srcs, n)
	if err != nil {
		return nil, err
	}
	for i, b := range lib {
		lib[i] = numbered(b, i)
	}
	return lib, nil
}

// numbered is photo b carrying the number i in a metadata segment.
func numbered(b []byte, i int) []byte {
	text := []byte(fmt.Sprintf("bench photo %d", i))
	if bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		const ihdrEnd = 8 + 8 + 13 + 4 // signature, IHDR length and type, data, CRC
		data := append([]byte("Comment\x00"), text...)
		typed := append([]byte("tEXt"), data...)
		chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		chunk = append(chunk, typed...)
		chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(typed))
		return append(append(append([]byte(nil), b[:ihdrEnd]...), chunk...), b[ihdrEnd:]...)
	}
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xFE}, uint16(len(text)+2))
	seg = append(seg, text...)
	return append(append(append([]byte(nil), b[:2]...), seg...), b[2:]...)
}

// RunImportCLI imports lib with the obscura binary exe reps times per
// vision in vs, each run into a fresh installation under dir. Each vision
// is opened once and first imports a warm-up library of warm photos
// (discarded), so both sides run with warm caches: the binary and the
// photos in the page cache, the models loaded, the workers' heaps grown.
// The runs are interleaved ABBA (A B, B A, A B, …) so a drift in the
// machine's load falls on both sides alike.
func RunImportCLI(ctx context.Context, exe, dir string, lib [][]byte, vs []ImportVision, reps, warm int, progress io.Writer) (ImportReport, error) {
	rep := ImportReport{LoadBefore: loadAverage(), Reps: reps, Warm: min(warm, len(lib))}
	photos, err := writeLibrary(filepath.Join(dir, "import-photos"), lib)
	if err != nil {
		return rep, err
	}
	warmDir, err := writeLibrary(filepath.Join(dir, "import-warm"), lib[:rep.Warm])
	if err != nil {
		return rep, err
	}
	say := func(r ImportRow) {
		if progress != nil {
			fmt.Fprintf(progress, "  %-40s %4d photos  %6.2f photos/s  CPU %7.1f ms/photo (import %.1f with idle workers %.1f, analyses %.1f, of it this process %.1f)  (import %.1f s, analyses %.1f s; load %.1f → %.1f; faults/photo here %.0f, workers %.0f; %.1f MB/photo to the workers; worker starts %d, peak RSS workers %.0f MiB, sanitizer %.0f MiB)\n",
				r.Case, r.Photos, r.PhotosSec, r.CPUMs, r.ImportCPUMs, r.IdleWorkersCPUMs, r.DrainCPUMs, r.DrainSelfCPUMs, r.ImportS, r.DrainS, r.LoadStart, r.Load, r.DrainSelfFaults, r.WorkerFaults, r.SentMB, r.WorkerStarts, r.WorkerRSSMiB, r.SanitizerRSSMiB)
		}
	}
	opened := make([]openVision, len(vs))
	defer func() {
		for _, o := range opened {
			if o.close != nil {
				o.close()
			}
		}
	}()
	for i, v := range vs {
		vis, pids, closeVis, err := v.Open(ctx)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", v.Case, err)
		}
		opened[i] = openVision{ImportVision: v, vis: vis, pids: pids, close: closeVis}
		if rep.Warm > 0 {
			r, err := importOnce(ctx, exe, dir, fmt.Sprintf("warm-%d", i), warmDir, rep.Warm, opened[i])
			if err != nil {
				return rep, fmt.Errorf("%s warm-up: %w", v.Case, err)
			}
			r.Case += " (warm-up, discarded)"
			say(r)
		}
	}
	for k := range reps {
		for j := range opened {
			i := j
			if k%2 == 1 {
				i = len(opened) - 1 - j
			}
			r, err := importOnce(ctx, exe, dir, fmt.Sprintf("import-%d-%d", i, k), photos, len(lib), opened[i])
			if err != nil {
				return rep, fmt.Errorf("%s: %w", vs[i].Case, err)
			}
			r.Rep = k
			rep.Rows = append(rep.Rows, r)
			say(r)
		}
	}
	rep.summarize(vs)
	return rep, nil
}

// writeLibrary writes lib's photos into dir, numbered, and returns dir.
func writeLibrary(dir string, lib [][]byte) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	for i, b := range lib {
		ext := ".jpg"
		if bytes.HasPrefix(b, []byte("\x89PNG")) {
			ext = ".png"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d%s", i, ext)), b, 0o600); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// openVision is an ImportVision once opened.
type openVision struct {
	ImportVision
	vis   wire.Vision
	pids  func() []int
	close func() error
}

// importOnce is one run into a fresh installation dir/name.
func importOnce(ctx context.Context, exe, dir, name, photos string, n int, v openVision) (ImportRow, error) {
	row := ImportRow{Case: v.Case, LoadStart: loadAverage()}
	// The installation, its tenant and the subject's consents (not timed).
	g, err := perf.NewServices(ctx, dir, name, nil)
	if err != nil {
		return row, err
	}
	for _, p := range []string{"face_detection", "tagging", "sensitive_content"} {
		if _, err := g.Consents.Grant(ctx, perf.Tenant, "bench-subject", consent.Grant{Purpose: p, Notice: "bench"}); err != nil {
			g.Close()
			return row, err
		}
	}
	cfg := g.Config
	if err := g.Close(); err != nil {
		return row, err
	}
	vis, pids := v.vis, v.pids
	mon := startMonitor(pids)
	defer mon.stop()
	c0, f0, w0, iw0 := cpuClock(pids), workerFaults(pids), time.Now(), workersCPU(pids)
	args := []string{"import", photos, "--tenant", perf.Tenant, "--subject", "bench-subject",
		"--analyze", strings.Join(ImportFeatures, ","), "--json", "--data", cfg.Data}
	if v.Insecure {
		args = append(args, "--insecure-no-sandbox")
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Start()
	if err == nil {
		mon.watchChildren(cmd.Process.Pid)
		err = cmd.Wait()
	}
	mon.watchChildren(0)
	if err != nil {
		return row, fmt.Errorf("obscura import: %v: %s", err, lastLine(stderr.String()))
	}
	// wait4's usage covers the CLI and the worker it waited for.
	cliCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var res struct {
		Imported int      `json:"imported"`
		Jobs     []string `json:"jobs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return row, fmt.Errorf("obscura import output: %w", err)
	}
	if res.Imported != n || len(res.Jobs) != n {
		return row, fmt.Errorf("obscura import: imported %d and queued %d of %d photos", res.Imported, len(res.Jobs), n)
	}
	row.ImportS = time.Since(w0).Seconds()

	// The drain: a jobs node on the same database, as serve builds it.
	sent, _ := vis.(interface{ Sent() int64 })
	sent0 := int64(0)
	if sent != nil {
		sent0 = sent.Sent()
	}
	w1, c1, s1, sf1 := time.Now(), cpuClock(pids), cpuClock(nil), minorFaults()
	row.IdleWorkersCPUMs = pipeMs(workersCPU(pids)-iw0) / float64(n)
	g, err = wire.Open(ctx, wire.Options{Config: cfg, Clock: clock.System{}, Log: slog.New(slog.DiscardHandler), Vision: vis})
	if err != nil {
		return row, err
	}
	defer g.Close()
	if err := g.Kill.Refresh(ctx); err != nil {
		return row, err
	}
	q, err := g.Queue(ctx, true)
	if err != nil {
		return row, err
	}
	defer q.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(time.Duration(n) * time.Minute)
	for _, id := range res.Jobs {
		for {
			j, err := q.Get(ctx, perf.Tenant, id)
			if err != nil {
				return row, err
			}
			if j.State == "completed" {
				break
			}
			if j.State == "failed" || time.Now().After(deadline) {
				return row, fmt.Errorf("queued analysis: %s %s", j.State, j.Error)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wall := time.Since(w0)
	row.DrainS = time.Since(w1).Seconds()
	row.Photos = n
	row.PhotosSec = float64(n) / wall.Seconds()
	c2 := cpuClock(pids)
	row.DrainSelfCPUMs = pipeMs(cpuClock(nil)-s1) / float64(n)
	if sent != nil {
		row.SentMB = float64(sent.Sent()-sent0) / float64(n) / (1 << 20)
	}
	row.DrainSelfFaults = float64(minorFaults()-sf1) / float64(n)
	row.runStats = mon.stop()
	row.WorkerFaults = float64(workerFaults(pids)-f0) / float64(n)
	row.CPUMs = pipeMs(c2-c0+cliCPU) / float64(n)
	row.ImportCPUMs = pipeMs(c1-c0+cliCPU) / float64(n)
	row.DrainCPUMs = pipeMs(c2-c1) / float64(n)
	row.Load = loadAverage()
	return row, nil
}

// workersCPU is the CPU time of the processes pids lists.
func workersCPU(pids func() []int) time.Duration {
	var d time.Duration
	if pids != nil {
		for _, pid := range pids() {
			d += procCPU(pid)
		}
	}
	return d
}

// lastLine is the last non-empty line of s (a CLI's one clear line).
func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return ls[len(ls)-1]
}
