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
	// Case names the row.
	Case string
	// Insecure passes --insecure-no-sandbox to the CLI.
	Insecure bool
	// Open starts the vision the jobs run on (not timed): the sandboxed
	// worker pool or the in-process engine; pids are processes whose CPU
	// time counts beside this one's (the workers).
	Open func(ctx context.Context) (v wire.Vision, pids func() []int, closeFn func() error, err error)
}

// ImportRow is one full import: photos per second over the whole run,
// CPU per photo (this process, the CLI process and its worker, the
// drain's workers), and the two phases' wall times.
type ImportRow struct {
	Case      string  `json:"case"`
	Photos    int     `json:"photos"`
	PhotosSec float64 `json:"photos_per_s"`
	CPUMs     float64 `json:"cpu_ms_per_photo"`
	// ImportCPUMs is the CLI's share of CPUMs (with its sanitizing
	// worker), DrainCPUMs the analyses' (this process and the workers).
	ImportCPUMs float64 `json:"import_cpu_ms_per_photo"`
	DrainCPUMs  float64 `json:"analyses_cpu_ms_per_photo"`
	ImportS     float64 `json:"import_s"`
	DrainS      float64 `json:"drain_s"`
	Load        float64 `json:"load_after"`
}

// ImportReport compares the runs; SandboxCost is 1 − sandboxed /
// unsandboxed photos per second and SandboxCPU the CPU-per-photo ratio
// (the first row against the second).
type ImportReport struct {
	Rows        []ImportRow `json:"rows"`
	SandboxCost float64     `json:"sandbox_cost"`
	SandboxCPU  float64     `json:"sandbox_cpu_ratio"`
	// SandboxDrainCPU is the ratio of the analyses' CPU alone (the
	// import step is the same in both runs).
	SandboxDrainCPU float64 `json:"sandbox_analyses_cpu_ratio"`
	LoadBefore      float64 `json:"load_before"`
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

// RunImportCLI imports lib with the obscura binary exe once per vision
// in vs, each into a fresh installation under dir.
func RunImportCLI(ctx context.Context, exe, dir string, lib [][]byte, vs []ImportVision, progress io.Writer) (ImportReport, error) {
	rep := ImportReport{LoadBefore: loadAverage()}
	photos := filepath.Join(dir, "import-photos")
	if err := os.MkdirAll(photos, 0o700); err != nil {
		return rep, err
	}
	for i, b := range lib {
		ext := ".jpg"
		if bytes.HasPrefix(b, []byte("\x89PNG")) {
			ext = ".png"
		}
		if err := os.WriteFile(filepath.Join(photos, fmt.Sprintf("%04d%s", i, ext)), b, 0o600); err != nil {
			return rep, err
		}
	}
	for i, v := range vs {
		r, err := importOnce(ctx, exe, dir, fmt.Sprintf("import-%d", i), photos, len(lib), v)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", v.Case, err)
		}
		rep.Rows = append(rep.Rows, r)
		if progress != nil {
			fmt.Fprintf(progress, "  %-40s %4d photos  %6.2f photos/s  CPU %7.1f ms/photo (import %.1f, analyses %.1f)  (import %.1f s, analyses %.1f s; load %.1f)\n",
				r.Case, r.Photos, r.PhotosSec, r.CPUMs, r.ImportCPUMs, r.DrainCPUMs, r.ImportS, r.DrainS, r.Load)
		}
	}
	if len(rep.Rows) == 2 && rep.Rows[1].PhotosSec > 0 && rep.Rows[1].CPUMs > 0 {
		rep.SandboxCost = 1 - rep.Rows[0].PhotosSec/rep.Rows[1].PhotosSec
		rep.SandboxCPU = rep.Rows[0].CPUMs / rep.Rows[1].CPUMs
		rep.SandboxDrainCPU = rep.Rows[0].DrainCPUMs / rep.Rows[1].DrainCPUMs
	}
	return rep, nil
}

// importOnce is one run into a fresh installation dir/name.
func importOnce(ctx context.Context, exe, dir, name, photos string, n int, v ImportVision) (ImportRow, error) {
	row := ImportRow{Case: v.Case}
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
	vis, pids, closeVis, err := v.Open(ctx)
	if err != nil {
		return row, err
	}
	defer closeVis()

	c0, w0 := cpuClock(pids), time.Now()
	args := []string{"import", photos, "--tenant", perf.Tenant, "--subject", "bench-subject",
		"--analyze", strings.Join(ImportFeatures, ","), "--json", "--data", cfg.Data}
	if v.Insecure {
		args = append(args, "--insecure-no-sandbox")
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
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
	w1, c1 := time.Now(), cpuClock(pids)
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
	row.CPUMs = pipeMs(c2-c0+cliCPU) / float64(n)
	row.ImportCPUMs = pipeMs(c1-c0+cliCPU) / float64(n)
	row.DrainCPUMs = pipeMs(c2-c1) / float64(n)
	row.Load = loadAverage()
	return row, nil
}

// lastLine is the last non-empty line of s (a CLI's one clear line).
func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return ls[len(ls)-1]
}
