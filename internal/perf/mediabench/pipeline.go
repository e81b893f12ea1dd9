package mediabench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/obscuraproject/obscura/internal/perf"

	xdraw "golang.org/x/image/draw"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/centernet"
	"github.com/obscuraproject/obscura/internal/vision/nsfw"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// The pipeline benchmark (issue 25 items 5 and 6): analysis of a 12 MP
// photo against the bare models it runs, the rotated 12 MP ingest, and a
// sustained import with analysis of a mixed library, with and without the
// sandbox. The machines it runs on are shared and loaded, so every case
// reports process CPU time (getrusage, plus the workers' CPU read from
// /proc) beside wall time, and the load average when it ran.

// PipelineRow is one case: per operation, wall and CPU milliseconds (CPU
// includes the sandboxed workers' CPU), or photos per second.
type PipelineRow struct {
	Case      string  `json:"case"`
	WallMs    float64 `json:"wall_ms"`
	CPUMs     float64 `json:"cpu_ms"`
	PhotosSec float64 `json:"photos_per_s,omitempty"`
	N         int     `json:"n"`
	// Faults and WorkerFaults are minor page faults per operation in
	// this process and in the workers: on these VMs each costs ≈ 20 µs.
	Faults       int64 `json:"faults,omitempty"`
	WorkerFaults int64 `json:"worker_faults,omitempty"`
}

// PipelineReport is the whole pipeline benchmark.
type PipelineReport struct {
	Rows []PipelineRow `json:"rows"`
	// Faces is how many faces the 12 MP photo has (each embedded).
	Faces int `json:"faces"`
	// AnalyzeVsBare is analyze (in process) / (bare models on pre-made
	// tensors + one scaled decode), by CPU time and by wall time.
	AnalyzeVsBareCPU  float64 `json:"analyze_vs_bare_cpu"`
	AnalyzeVsBareWall float64 `json:"analyze_vs_bare_wall"`
	// SandboxAnalyzeCPU is sandboxed / in-process analyze, by CPU time
	// (the sandboxed figure measured again once the worker's heap is
	// warm, as are the ratios below).
	SandboxAnalyzeCPU float64 `json:"sandbox_analyze_vs_in_process_cpu"`
	// ImportSandboxCost is 1 − sandboxed / in-process photos per second
	// (wall) of the mixed-library import with analysis.
	ImportSandboxCost float64 `json:"import_sandbox_cost"`
	// ImportSandboxCPU is sandboxed / in-process CPU per photo.
	ImportSandboxCPU float64 `json:"import_sandbox_cpu_ratio"`
	// SandboxVsBareCPU is sandboxed analyze / (bare models + one scaled
	// decode), by CPU time (issue 25.6 target ≤ 1.15).
	SandboxVsBareCPU float64 `json:"sandbox_analyze_vs_bare_cpu"`
	// CacheCPU is sandboxed analyze with the worker's picture cache /
	// without it (the pixels resent for each model pass), by CPU time;
	// SentMB and SentUncachedMB are the request bytes sent to the worker
	// per analysis with and without it.
	CacheCPU               float64 `json:"picture_cache_cpu_ratio"`
	SentMB, SentUncachedMB float64
	// RotatedVsUprightCPU is the sandboxed sanitize of the rotated 12 MP
	// photo / of the same photo upright (metadata strip only), by CPU.
	RotatedVsUprightCPU float64 `json:"rotated_vs_upright_sanitize_cpu"`
	// Load is the 1-minute load average before and after the run.
	LoadBefore, LoadAfter float64
}

// pipelineEngine is what both the in-process engine and the sandbox pool
// offer the services.
type pipelineEngine interface {
	Decode(data []byte) (*picture.Picture, error)
	AnalyzePicture(ctx context.Context, p *picture.Picture, features []string) (*vision.Result, error)
	Embeddings(ctx context.Context, p *picture.Picture) ([]vision.Embedding, error)
}

// pipelineSanitizer sanitizes an upload (the pool, or in process).
type pipelineSanitizer func(ctx context.Context, data []byte) error

// PipelinePool is the sandbox pool as the benchmark uses it.
type PipelinePool interface {
	pipelineEngine
	Sanitize(ctx context.Context, data []byte, lim sanitize.Limits) (sanitize.Result, error)
	PIDs() []int
	// Release ends a decoded picture's use (the worker keeping it drops it).
	Release(p *picture.Picture)
	// Sent counts the request bytes written to the workers.
	Sent() int64
}

// uncached is the pool with its per-worker picture cache defeated: every
// decoded picture is released at once, so each model pass carries the
// pixels again (the pipeline before issue 25.6's cache).
type uncached struct{ PipelinePool }

func (u uncached) Decode(data []byte) (*picture.Picture, error) {
	p, err := u.PipelinePool.Decode(data)
	if err == nil {
		u.Release(p)
	}
	return p, err
}

// analyzeOnce is one analysis as the services run it: faces with their
// embeddings (one detection pass), tags and the sensitive rating, on one
// decode.
func analyzeOnce(ctx context.Context, eng pipelineEngine, photo []byte) error {
	p, err := eng.Decode(photo)
	if err != nil {
		return err
	}
	if rel, ok := eng.(interface{ Release(*picture.Picture) }); ok {
		defer rel.Release(p) // as the consented run does
	}
	if _, err := eng.AnalyzePicture(ctx, p, []string{vision.Tags, vision.Sensitive}); err != nil {
		return err
	}
	_, err = eng.Embeddings(ctx, p)
	return err
}

// cpuClock is the CPU time of this process plus that of pids (the
// sandboxed workers, read from /proc; clock ticks of 10 ms).
func cpuClock(pids func() []int) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) + workersCPU(pids)
}

// procCPU is a process's user + system time from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	f := procStat(pid)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 overall
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return time.Duration(ut+st) * (time.Second / 100)
}

// workerFaults is the minor page faults of pids (from /proc).
func workerFaults(pids func() []int) int64 {
	var n int64
	if pids != nil {
		for _, pid := range pids() {
			if f := procStat(pid); len(f) > 7 {
				v, _ := strconv.ParseInt(f[7], 10, 64) // field 10 overall: minflt
				n += v
			}
		}
	}
	return n
}

// procStat is the fields of /proc/<pid>/stat after the command name (the
// state is f[0], field 3 overall); nil if unreadable.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	// The command name may hold spaces: fields start after the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	return strings.Fields(s)
}

// loadAverage is the 1-minute load average (0 if unreadable).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// timeIt runs f n times after one warm-up run and returns the mean wall
// and CPU time per run.
func timeIt(n int, pids func() []int, f func() error) (wall, cpu time.Duration, err error) {
	if err := f(); err != nil {
		return 0, 0, err
	}
	c0, w0 := cpuClock(pids), time.Now()
	for range n {
		if err := f(); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(w0) / time.Duration(n), (cpuClock(pids) - c0) / time.Duration(n), nil
}

// MixedLibrary returns n photos made from the pinned sample photos (group
// photos with faces) and the repository's samples: long sides from 640 to
// 4032 pixels, JPEG (upright and with EXIF orientations 3, 6 and 8) and
// PNG. Variants repeat after the distinct ones are exhausted (nothing in
// the pipeline caches by content).
func MixedLibrary(sources [][]byte, n int) ([][]byte, error) {
	sides := []int{640, 1600, 2400, 4032}
	orients := []uint16{1, 6, 1, 3, 8}
	var distinct [][]byte
	for i, src := range sources {
		img, _, err := image.Decode(bytes.NewReader(src))
		if err != nil {
			return nil, fmt.Errorf("library source %d: %w", i, err)
		}
		for j, side := range sides {
			b := img.Bounds()
			w, h := side, side*b.Dy()/b.Dx()
			if b.Dy() > b.Dx() {
				w, h = side*b.Dx()/b.Dy(), side
			}
			dst := image.NewRGBA(image.Rect(0, 0, w, h))
			xdraw.ApproxBiLinear.Scale(dst, dst.Rect, img, b, xdraw.Src, nil)
			var buf bytes.Buffer
			if (i+j)%4 == 1 && side <= 1600 { // a few PNGs (screenshots, exports)
				if err := png.Encode(&buf, dst); err != nil {
					return nil, err
				}
				distinct = append(distinct, buf.Bytes())
				continue
			}
			if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 88}); err != nil {
				return nil, err
			}
			distinct = append(distinct, withOrientation(buf.Bytes(), orients[(i+j)%len(orients)]))
		}
	}
	out := make([][]byte, n)
	for k := range out {
		out[k] = distinct[k%len(distinct)]
	}
	return out, nil
}

// withOrientation prefixes a JPEG's segments with an EXIF block carrying
// orientation o (as a phone writes it); 1 leaves the JPEG as it is.
func withOrientation(j []byte, o uint16) []byte {
	if o == 1 {
		return j
	}
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00")
	tiff = binary.LittleEndian.AppendUint16(tiff, 0x0112) // Orientation, SHORT, 1
	tiff = binary.LittleEndian.AppendUint16(tiff, 3)
	tiff = binary.LittleEndian.AppendUint32(tiff, 1)
	tiff = binary.LittleEndian.AppendUint32(tiff, uint32(o))
	tiff = append(tiff, 0, 0, 0, 0) // no next IFD
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	out := binary.BigEndian.AppendUint16([]byte{0xFF, 0xD8, 0xFF, 0xE1}, uint16(len(app1)+2))
	out = append(out, app1...)
	return append(out, j[2:]...)
}

// RunPipeline measures the pipeline cases on e's 12 MP photo with libSize
// photos in the import case; pool nil skips the sandboxed cases. reps is
// how many runs each per-photo case is averaged over. Each row is also
// written to progress (if not nil) as soon as it is measured: the full
// run takes long on a loaded machine.
func RunPipeline(ctx context.Context, e *VisionEnv, pool PipelinePool, libSize, reps int, progress io.Writer) (PipelineReport, error) {
	rep := PipelineReport{LoadBefore: loadAverage()}
	say := func(r PipelineRow) {
		if progress != nil {
			fmt.Fprintf(progress, "  %-44s wall %8.1f ms  CPU %8.1f ms  %6.2f photos/s  faults %6d + %6d in workers  (load %.1f)\n", r.Case, r.WallMs, r.CPUMs, r.PhotosSec, r.Faults, r.WorkerFaults, loadAverage())
		}
	}
	// timed is timeIt that also counts the minor page faults per run
	// (this process and the workers) into faults, for add.
	var faults, wfaults int64
	timed := func(n int, pids func() []int, f func() error) (time.Duration, time.Duration, error) {
		var f0, w0 int64
		warm := false
		w, c, err := timeIt(n, pids, func() error {
			if !warm { // timeIt's warm-up run
				warm = true
				defer func() { f0, w0 = minorFaults(), workerFaults(pids) }()
			}
			return f()
		})
		faults, wfaults = (minorFaults()-f0)/int64(n), (workerFaults(pids)-w0)/int64(n)
		return w, c, err
	}
	add := func(name string, n int, wall, cpu time.Duration) {
		rep.Rows = append(rep.Rows, PipelineRow{Case: name, WallMs: pipeMs(wall), CPUMs: pipeMs(cpu), N: n, Faults: faults, WorkerFaults: wfaults})
		say(rep.Rows[len(rep.Rows)-1])
	}
	var pids func() []int
	if pool != nil {
		pids = pool.PIDs
	}
	// Bare: the models alone on pre-made tensors, plus one scaled decode.
	p, err := picture.Decode(e.Photo, picture.DefaultOptions)
	if err != nil {
		return rep, err
	}
	faces, err := e.det.Detect(ctx, p)
	if err != nil {
		return rep, err
	}
	rep.Faces = len(faces)
	ident, err := arcface.New(mustLoad(e.dir, arcface.ModelFile), e.threads)
	if err != nil {
		return rep, err
	}
	defer ident.Close()
	bfIn, cnIn, nsIn := blazeface.Input(p), centernet.Input(p), nsfw.Input(p)
	var idIn [][]float32
	for _, f := range faces {
		idIn = append(idIn, arcface.Input(p, f, ident.Order))
	}
	bare := func() error {
		if _, err := picture.Decode(e.Photo, picture.DefaultOptions); err != nil {
			return err
		}
		if _, err := e.det.Raw(bfIn); err != nil {
			return err
		}
		for _, in := range idIn {
			if _, err := ident.Raw(in); err != nil {
				return err
			}
		}
		if _, err := e.objs.Raw(cnIn); err != nil {
			return err
		}
		_, err := e.nsfw.Raw(nsIn, 1)
		return err
	}
	bw, bc, err := timed(reps, nil, bare)
	if err != nil {
		return rep, fmt.Errorf("bare: %w", err)
	}
	add(fmt.Sprintf("bare models + scaled decode (%d faces)", len(faces)), reps, bw, bc)
	iw, ic, err := timed(reps, nil, func() error { return analyzeOnce(ctx, e.Eng, e.Photo) })
	if err != nil {
		return rep, fmt.Errorf("analyze in process: %w", err)
	}
	add("analyze 12MP in process", reps, iw, ic)
	rep.AnalyzeVsBareCPU, rep.AnalyzeVsBareWall = ratio(ic, bc), ratio(iw, bw)
	if pool != nil {
		sw, sc, err := timed(reps, pids, func() error { return analyzeOnce(ctx, pool, e.Photo) })
		if err != nil {
			return rep, fmt.Errorf("analyze sandboxed: %w", err)
		}
		add("analyze 12MP sandboxed", reps, sw, sc)
		s0 := pool.Sent()
		analyzeOnce(ctx, pool, e.Photo)
		rep.SentMB = float64(pool.Sent()-s0) / 1e6
		uw, uc, err := timed(reps, pids, func() error { return analyzeOnce(ctx, uncached{pool}, e.Photo) })
		if err != nil {
			return rep, fmt.Errorf("analyze sandboxed without the picture cache: %w", err)
		}
		add("analyze 12MP sandboxed, no picture cache", reps, uw, uc)
		s0 = pool.Sent()
		analyzeOnce(ctx, uncached{pool}, e.Photo)
		rep.SentUncachedMB = float64(pool.Sent()-s0) / 1e6
		// Again after the uncached runs: the first sandboxed case runs
		// while the worker's Go heap is still growing to its limit (fresh
		// pages fault in), which inflated the first case's CPU before.
		aw, ac, err := timed(reps, pids, func() error { return analyzeOnce(ctx, pool, e.Photo) })
		if err != nil {
			return rep, fmt.Errorf("analyze sandboxed again: %w", err)
		}
		add("analyze 12MP sandboxed, again", reps, aw, ac)
		rep.CacheCPU = ratio(ac, uc)
		rep.SandboxAnalyzeCPU, rep.SandboxVsBareCPU = ratio(ac, ic), ratio(ac, bc)
	}
	// The rotated 12 MP ingest (sanitize: metadata strip + lossless rotation).
	rotated := perf.Photo12MP(6)
	rw, rc, err := timed(reps, nil, func() error { _, err := sanitize.Sanitize(rotated, sanitize.DefaultLimits); return err })
	if err != nil {
		return rep, fmt.Errorf("sanitize rotated: %w", err)
	}
	add("sanitize rotated 12MP in process", reps, rw, rc)
	if pool != nil {
		rw, rc, err := timed(reps, pids, func() error { _, err := pool.Sanitize(ctx, rotated, sanitize.DefaultLimits); return err })
		if err != nil {
			return rep, fmt.Errorf("sanitize rotated sandboxed: %w", err)
		}
		add("sanitize rotated 12MP sandboxed", reps, rw, rc)
		upright := perf.Photo12MP(1)
		uw, uc, err := timed(reps, pids, func() error { _, err := pool.Sanitize(ctx, upright, sanitize.DefaultLimits); return err })
		if err != nil {
			return rep, fmt.Errorf("sanitize upright sandboxed: %w", err)
		}
		add("sanitize upright 12MP sandboxed (baseline)", reps, uw, uc)
		rep.RotatedVsUprightCPU = ratio(rc, uc)
	}
	// Sustained import with analysis of a mixed library: sanitize, then
	// decode and analyse the sanitized bytes, photo after photo.
	if libSize > 0 {
		var srcs [][]byte
		for i := 1; i <= 6; i++ {
			srcs = append(srcs, mustLoad(e.dir, fmt.Sprintf("sample%d.jpg", i)))
		}
		lib, err := MixedLibrary(srcs, libSize)
		if err != nil {
			return rep, err
		}
		run := func(eng pipelineEngine, san pipelineSanitizer, pids func() []int) (PipelineRow, error) {
			c0, w0 := cpuClock(pids), time.Now()
			for _, photo := range lib {
				if err := san(ctx, photo); err != nil {
					return PipelineRow{}, err
				}
			}
			wall, cpu := time.Since(w0), cpuClock(pids)-c0
			return PipelineRow{WallMs: pipeMs(wall) / float64(len(lib)), CPUMs: pipeMs(cpu) / float64(len(lib)),
				PhotosSec: float64(len(lib)) / wall.Seconds(), N: len(lib)}, nil
		}
		importWith := func(eng pipelineEngine, sz func(context.Context, []byte) (sanitize.Result, error)) pipelineSanitizer {
			return func(ctx context.Context, photo []byte) error {
				res, err := sz(ctx, photo)
				if err != nil {
					return err
				}
				return analyzeOnce(ctx, eng, res.Data)
			}
		}
		inProc := func(_ context.Context, b []byte) (sanitize.Result, error) {
			return sanitize.Sanitize(b, sanitize.DefaultLimits)
		}
		r, err := run(e.Eng, importWith(e.Eng, inProc), nil)
		if err != nil {
			return rep, fmt.Errorf("import in process: %w", err)
		}
		r.Case = "import+analyze mixed, in process"
		rep.Rows = append(rep.Rows, r)
		say(r)
		if pool != nil {
			sb := func(ctx context.Context, b []byte) (sanitize.Result, error) {
				return pool.Sanitize(ctx, b, sanitize.DefaultLimits)
			}
			s, err := run(pool, importWith(pool, sb), pids)
			if err != nil {
				return rep, fmt.Errorf("import sandboxed: %w", err)
			}
			s.Case = "import+analyze mixed, sandboxed"
			rep.Rows = append(rep.Rows, s)
			say(s)
			rep.ImportSandboxCost = 1 - s.PhotosSec/r.PhotosSec
			rep.ImportSandboxCPU = s.CPUMs / r.CPUMs
		}
	}
	rep.LoadAfter = loadAverage()
	return rep, nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// mustLoad is a pinned file's verified bytes (nil if missing: the caller's
// decode then fails with its own message).
func mustLoad(dir, name string) []byte {
	b, _ := models.Pinned().Load(dir, name)
	return b
}

func pipeMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// AnalyzeRow times analyses of photo (as RunPipeline's analyze cases run
// them: faces with embeddings, tags, sensitive) on eng, an engine set up
// differently from the report's (another thread count), in process.
func AnalyzeRow(ctx context.Context, name string, eng *vision.Engine, photo []byte, reps int) (PipelineRow, error) {
	f0 := minorFaults()
	w, c, err := timeIt(reps, nil, func() error { return analyzeOnce(ctx, eng, photo) })
	if err != nil {
		return PipelineRow{}, err
	}
	return PipelineRow{Case: name, WallMs: pipeMs(w), CPUMs: pipeMs(c), N: reps, Faults: (minorFaults() - f0) / int64(reps+1)}, nil
}
