// Package wasmhost is the plugin sandbox (docs/spec/plugin-v1.md): a
// wazero runtime (pure Go, no cgo) that compiles a module only if every
// import is on the allow-list of harmless functions, hands a run only the
// photo's pixels, the face boxes if it declared them and its validated
// parameters (the obscura host module), answers the few WASI functions it
// allows without touching the host (a fixed clock, no files, no network,
// an empty environment), and bounds each run: wall-time deadline, memory
// sized to the input, output size, log volume, runs at once.
//
// Does not protect against: bugs in wazero itself; timing side channels
// between concurrent runs on one machine.
package wasmhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/obscuraproject/obscura/internal/fault"
)

var (
	// ErrRejected: the module is refused at install (malformed, or it
	// imports something outside the allow-list: see Rejection).
	ErrRejected = fault.New(fault.Invalid, "plugin rejected")
	// ErrFailed: a run broke a limit, trapped or returned no output (see
	// Failure).
	ErrFailed = fault.New(fault.Invalid, "plugin failed")
	// ErrBusy: every run slot stayed taken until the request gave up.
	ErrBusy = fault.New(fault.Unavailable, "plugin runs are busy")
)

// Config bounds the runtime. Zero fields take the defaults.
type Config struct {
	// Timeout is a run's wall time (default 2 s); at the deadline the
	// module is closed.
	Timeout time.Duration
	// MaxMemory caps one run's linear memory (default 512 MiB); a run's
	// own cap is its input plus its largest allowed output plus Allowance,
	// up to MaxMemory.
	MaxMemory int64
	// Allowance is the memory a run gets beyond its input and output
	// (default 64 MiB: the Go runtime, code and data, parameters, scratch).
	Allowance int64
	// MaxOutputPixels caps an output image (default 64 Mpx); a run's own
	// cap is twice its input's pixels (at least 1 Mpx), up to this.
	MaxOutputPixels int
	// MaxLogBytes is how much a run may write to its log (default 64 KiB).
	MaxLogBytes int
	// Concurrency bounds the runs at once (default 2), so their total
	// memory stays under Concurrency × MaxMemory.
	Concurrency int
	// CacheDir keeps compiled modules across restarts ("" = in memory).
	CacheDir string
	// Cache, when set, is a compilation cache shared with other runtimes
	// (it wins over CacheDir and is not closed with the runtime).
	Cache wazero.CompilationCache
	// MaxModuleBytes caps a .wasm file (default 32 MiB).
	MaxModuleBytes int
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.MaxMemory <= 0 {
		c.MaxMemory = 512 << 20
	}
	if c.Allowance <= 0 {
		c.Allowance = 64 << 20
	}
	if c.MaxOutputPixels <= 0 {
		c.MaxOutputPixels = 64 << 20
	}
	if c.MaxLogBytes <= 0 {
		c.MaxLogBytes = 64 << 10
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 2
	}
	if c.MaxModuleBytes <= 0 {
		c.MaxModuleBytes = 32 << 20
	}
	return c
}

// Reasons a run fails (a fixed vocabulary: audit details, alerts, metrics).
const (
	ReasonTimeout  = "timeout"
	ReasonMemory   = "memory"
	ReasonOutput   = "output_too_large"
	ReasonLogFlood = "log_flood"
	ReasonTrap     = "trap"      // a trap or panic inside the module
	ReasonExit     = "exit"      // the module exited (proc_exit)
	ReasonNoOutput = "no_output" // returned without handing over an image
	ReasonStatus   = "status"    // obscura_run returned non-zero
)

// Failure is a run that broke a limit or failed; it wraps ErrFailed.
type Failure struct {
	Reason string
	err    error
}

func (f *Failure) Error() string {
	if f.err != nil {
		return "plugin failed: " + f.Reason + ": " + f.err.Error()
	}
	return "plugin failed: " + f.Reason
}

// Unwrap lets errors.Is(err, ErrFailed) hold.
func (f *Failure) Unwrap() []error {
	return []error{fault.New(fault.Invalid, "plugin failed: "+f.Reason), ErrFailed}
}

// Rejection is a module refused at install; it wraps ErrRejected.
type Rejection struct {
	// Imports lists the imports outside the allow-list ("module.name").
	Imports []string
	// Problem is another reason (malformed module, missing exports).
	Problem string
}

// EscapeAttempt reports whether the module asked for something outside
// the sandbox (an import not on the allow-list).
func (r *Rejection) EscapeAttempt() bool { return len(r.Imports) > 0 }

func (r *Rejection) Error() string {
	if r.EscapeAttempt() {
		return "plugin rejected: imports outside the allow-list: " + strings.Join(r.Imports, ", ")
	}
	return "plugin rejected: " + r.Problem
}

// Unwrap lets errors.Is(err, ErrRejected) hold.
func (r *Rejection) Unwrap() []error {
	return []error{fault.New(fault.Invalid, r.Error()), ErrRejected}
}

// Runtime compiles and runs plugins. It is safe for concurrent use.
type Runtime struct {
	cfg      Config
	rt       wazero.Runtime
	cache    wazero.CompilationCache
	ownCache bool
	allowed  map[string][]api.ValueType // "module.name" → params then results, flattened with a separator
	slots    chan struct{}

	mu       sync.Mutex
	compiled map[string]wazero.CompiledModule // by SHA-256
	pool     *memPool
}

// NewRuntime starts a runtime with the host modules instantiated.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg = cfg.withDefaults()
	cache, owned := cfg.Cache, cfg.Cache == nil
	switch {
	case !owned: // shared with other runtimes
	case cfg.CacheDir != "":
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("plugin compilation cache: %w", err)
		}
		cache = c
	default:
		cache = wazero.NewCompilationCache()
	}
	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(min(cfg.MaxMemory/65536, 65536))).
		WithCompilationCache(cache).
		WithCoreFeatures(api.CoreFeaturesV2)
	r := &Runtime{cfg: cfg, rt: wazero.NewRuntimeWithConfig(ctx, rc), cache: cache, ownCache: owned,
		allowed: map[string][]api.ValueType{}, slots: make(chan struct{}, cfg.Concurrency),
		compiled: map[string]wazero.CompiledModule{}, pool: &memPool{max: cfg.Concurrency}}
	for mod, fns := range map[string][]hostFunc{wasiModule: wasiFuncs(), hostModule: obscuraFuncs()} {
		for _, f := range fns {
			r.allowed[mod+"."+f.Name] = signature(f.params, f.results)
		}
		if err := instantiateHost(ctx, r.rt, mod, fns); err != nil {
			_ = r.Close(ctx)
			return nil, fmt.Errorf("plugin host module %s: %w", mod, err)
		}
	}
	return r, nil
}

// AllowedImports lists every function a plugin may import, with why it is
// safe.
func AllowedImports() []AllowedImport {
	var out []AllowedImport
	for _, f := range append(wasiFuncs(), obscuraFuncs()...) {
		out = append(out, f.AllowedImport)
	}
	return out
}

// signature flattens a function type for comparison (0 separates params
// from results).
func signature(params, results []api.ValueType) []api.ValueType {
	return append(append(slices.Clone(params), 0), results...)
}

// Close releases the runtime and everything compiled in it.
func (r *Runtime) Close(ctx context.Context) error {
	err := r.rt.Close(ctx)
	if r.ownCache {
		err = errors.Join(err, r.cache.Close(ctx))
	}
	return err
}

// Compile checks a module and compiles it (or takes it from the cache):
// every import must be on the allow-list with the right signature, it may
// import no memory, table or global, and it must export _initialize and
// obscura_run. A refused module returns a *Rejection.
func (r *Runtime) Compile(ctx context.Context, wasm []byte) (wazero.CompiledModule, error) {
	if len(wasm) > r.cfg.MaxModuleBytes {
		return nil, &Rejection{Problem: "module too large"}
	}
	h := sha256.Sum256(wasm)
	sum := hex.EncodeToString(h[:])
	r.mu.Lock()
	cm, ok := r.compiled[sum]
	r.mu.Unlock()
	if ok {
		return cm, nil
	}
	cm, err := r.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, &Rejection{Problem: "not a valid WebAssembly module"}
	}
	if rej := r.check(cm); rej != nil {
		_ = cm.Close(ctx)
		return nil, rej
	}
	r.mu.Lock()
	if prev, ok := r.compiled[sum]; ok {
		r.mu.Unlock()
		_ = cm.Close(ctx)
		return prev, nil
	}
	r.compiled[sum] = cm
	r.mu.Unlock()
	return cm, nil
}

// Forget drops a compiled module from memory (plugin removed).
func (r *Runtime) Forget(ctx context.Context, sha string) {
	r.mu.Lock()
	cm, ok := r.compiled[sha]
	delete(r.compiled, sha)
	r.mu.Unlock()
	if ok {
		_ = cm.Close(ctx)
	}
}

func (r *Runtime) check(cm wazero.CompiledModule) *Rejection {
	rej := &Rejection{}
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		id := mod + "." + name
		want, ok := r.allowed[id]
		if !ok || !slices.Equal(want, signature(f.ParamTypes(), f.ResultTypes())) {
			if !slices.Contains(rej.Imports, id) {
				rej.Imports = append(rej.Imports, sanitizeName(id))
			}
		}
	}
	for _, m := range cm.ImportedMemories() {
		mod, name, _ := m.Import()
		rej.Imports = append(rej.Imports, sanitizeName(mod+"."+name))
	}
	if rej.EscapeAttempt() {
		slices.Sort(rej.Imports)
		return rej
	}
	exp := cm.ExportedFunctions()
	if f, ok := exp["obscura_run"]; !ok || len(f.ParamTypes()) != 0 || !slices.Equal(f.ResultTypes(), []api.ValueType{i32}) {
		return &Rejection{Problem: "no obscura_run() i32 export (build with the SDK, -buildmode=c-shared)"}
	}
	if f, ok := exp["_initialize"]; !ok || len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0 {
		return &Rejection{Problem: "no _initialize export (build with -buildmode=c-shared)"}
	}
	if _, ok := exp["_start"]; ok {
		return &Rejection{Problem: "a command module (_start): build with -buildmode=c-shared"}
	}
	return nil
}

// sanitizeName keeps an import's name printable and short: it comes from
// an untrusted module and ends up in errors and alerts.
func sanitizeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// Box is a face box in pixels.
type Box struct{ X, Y, W, H int }

// Input is what a run hands the plugin.
type Input struct {
	Image *image.RGBA // tight (Stride = 4 × width, origin 0,0)
	// Faces are the face boxes; UseFaces says the plugin declared the
	// capability and the subject's consent allows it (only then can the
	// plugin see them).
	Faces    []Box
	UseFaces bool
	// Params are the validated parameters (Manifest.CheckParams).
	Params []byte
}

// Output is a run's result.
type Output struct {
	Image *image.RGBA
	// Log is the first few KiB the plugin logged (never stored).
	Log []byte
	// Memory is the run's peak linear memory in bytes.
	Memory int64
	// Duration is the run's wall time, instantiation included.
	Duration time.Duration
}

// Limits reports the memory and output caps a run on an image of w×h
// pixels gets.
func (r *Runtime) Limits(w, h int) (memory int64, outPixels int) {
	px := w * h
	outPixels = min(max(2*px, 1<<20), r.cfg.MaxOutputPixels)
	memory = min(4*int64(px)+4*int64(outPixels)+r.cfg.Allowance, r.cfg.MaxMemory)
	return memory, outPixels
}

// Run runs a compiled plugin once on in. An output of the input's size is
// written over in.Image's pixels (the caller gives the input up). A run that breaks a limit, traps
// or returns no image ends with a *Failure; the runtime carries on.
func (r *Runtime) Run(ctx context.Context, cm wazero.CompiledModule, in Input) (Output, error) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return Output{}, fault.Wrap(fault.Unavailable, "plugin runs are busy", errors.Join(ErrBusy, ctx.Err()))
	}
	defer func() { <-r.slots }()

	b := in.Image.Bounds()
	if b.Min != (image.Point{}) || in.Image.Stride != 4*b.Dx() {
		return Output{}, fmt.Errorf("plugin input: image is not tight")
	}
	memLimit, outPixels := r.Limits(b.Dx(), b.Dy())
	s := &run{w: b.Dx(), h: b.Dy(), pix: in.Image.Pix[:4*b.Dx()*b.Dy()], params: in.Params,
		hasFaces: in.UseFaces, maxOutPixels: outPixels, maxLog: r.cfg.MaxLogBytes}
	if in.UseFaces {
		s.faces = packFaces(in.Faces)
	}
	alloc := &allocator{limit: uint64(memLimit), pool: r.pool}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	rctx = context.WithValue(rctx, runKey{}, s)
	rctx = experimental.WithMemoryAllocator(rctx, alloc)

	out := Output{}
	fail := func(reason string, err error) (Output, error) {
		out.Log, out.Memory, out.Duration = s.logBuf, alloc.peak.Load(), time.Since(start)
		return out, &Failure{Reason: reason, err: err}
	}
	classify := func(err error) (Output, error) {
		switch {
		case s.reason != "":
			return fail(s.reason, nil)
		case alloc.hit.Load():
			return fail(ReasonMemory, nil)
		case rctx.Err() != nil && ctx.Err() == nil:
			return fail(ReasonTimeout, nil)
		case ctx.Err() != nil:
			return out, fault.Wrap(fault.Unavailable, "plugin run cancelled", ctx.Err())
		}
		var ee *sys.ExitError
		if errors.As(err, &ee) {
			return fail(ReasonExit, fmt.Errorf("exit code %d", ee.ExitCode()))
		}
		return fail(ReasonTrap, err)
	}
	mod, err := r.rt.InstantiateModule(rctx, cm, wazero.NewModuleConfig().
		WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		return classify(err)
	}
	defer mod.Close(context.WithoutCancel(ctx))
	res, err := mod.ExportedFunction("obscura_run").Call(rctx)
	if err != nil {
		return classify(err)
	}
	if status := api.DecodeI32(res[0]); status != 0 {
		if alloc.hit.Load() {
			return fail(ReasonMemory, nil)
		}
		return fail(ReasonStatus, fmt.Errorf("status %d", status))
	}
	if s.out == nil {
		return fail(ReasonNoOutput, nil)
	}
	out.Image = &image.RGBA{Pix: s.out, Stride: 4 * s.outW, Rect: image.Rect(0, 0, s.outW, s.outH)}
	out.Log, out.Memory, out.Duration = s.logBuf, alloc.peak.Load(), time.Since(start)
	return out, nil
}

// allocator backs a run's linear memory and refuses to grow it past the
// run's limit (memory.grow then returns -1 inside the module). The backing
// array is reserved at the limit up front, so growing never copies, and is
// taken from (and returned to) the runtime's pool: fresh memory for every
// run costs a page fault per 4 KiB touched.
type allocator struct {
	limit uint64
	pool  *memPool
	hit   atomic.Bool
	peak  atomic.Int64
}

func (a *allocator) Allocate(capacity, maximum uint64) experimental.LinearMemory {
	return &linearMemory{a: a}
}

type linearMemory struct {
	a   *allocator
	buf []byte
}

func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.a.limit {
		m.a.hit.Store(true)
		return nil
	}
	if m.buf == nil {
		m.buf = m.a.pool.get(m.a.limit)
	}
	if size > uint64(cap(m.buf)) { // a pool buffer is at least the limit
		m.a.hit.Store(true)
		return nil
	}
	m.buf = m.buf[:size]
	if int64(size) > m.a.peak.Load() {
		m.a.peak.Store(int64(size))
	}
	return m.buf
}

// Free zeroes what the run used (its pixels and everything it computed)
// and returns the memory to the pool.
func (m *linearMemory) Free() {
	if m.buf != nil {
		clear(m.buf)
		m.a.pool.put(m.buf[:0])
		m.buf = nil
	}
}

// memPool keeps a few zeroed linear-memory backing arrays for reuse.
type memPool struct {
	mu   sync.Mutex
	free [][]byte
	max  int
}

// get returns a zeroed, empty buffer with capacity at least n (and at most
// 2n, so a small run does not pin a large array).
func (p *memPool) get(n uint64) []byte {
	p.mu.Lock()
	for i, b := range p.free {
		if c := uint64(cap(b)); c >= n && c <= 2*n {
			p.free = append(p.free[:i], p.free[i+1:]...)
			p.mu.Unlock()
			return b
		}
	}
	p.mu.Unlock()
	return make([]byte, 0, n)
}

// put keeps a zeroed buffer, dropping the oldest beyond max.
func (p *memPool) put(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, b)
	if len(p.free) > p.max {
		p.free = p.free[1:]
	}
}
