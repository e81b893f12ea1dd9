package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// ErrUnavailable answers a request whose worker crashed, hung, exceeded a
// limit or broke the protocol, or when no worker could be had in time:
// the request fails closed (nothing is stored) and the worker is
// replaced. The API answers it 503 analysis_unavailable.
var ErrUnavailable = fault.New(fault.Unavailable, "analysis unavailable: the sandboxed worker failed; nothing was stored")

// Options configure a pool.
type Options struct {
	// Config is every worker's configuration.
	Config Config
	// Workers is the most workers (default 2): one starts with the pool,
	// the others when a request finds every worker busy.
	Workers int
	// Command starts one worker process (default: this executable's hidden
	// "worker" subcommand). Its environment is replaced: a worker inherits
	// no secret from the server's environment.
	Command func() *exec.Cmd
	// Timeout bounds one request (default 60 s); StartTimeout a worker's
	// start-up, model loading included (default 3 min); QueueTimeout how
	// long a request waits for a free worker (default Timeout).
	Timeout, StartTimeout, QueueTimeout time.Duration
	// Log receives the supervisor's records and the workers' stderr.
	Log *slog.Logger
	// OnCrashes is called when CrashAlert worker failures fall within
	// CrashWindow (at most once per window): repeated crashes may be an
	// exploit attempt.
	OnCrashes func(n int)
}

// Crash alerting.
const (
	CrashAlert  = 3
	CrashWindow = 10 * time.Minute
)

// Pool supervises sandboxed workers and sends them requests. It is safe
// for concurrent use.
type Pool struct {
	opt   Options
	calls chan *call
	quit  chan struct{}
	wg    sync.WaitGroup

	mu        sync.Mutex
	started   int  // slots started (the first at Start, the others on demand)
	closed    bool // no slot starts after Close
	onCrashes func(int)
	crashes   []time.Time
	alerted   time.Time
	pids      map[int]bool
	// kept maps each picture a worker keeps to it and its keep id
	// (keep.go); weak, so an unreleased picture's entry goes with it.
	kept map[weak.Pointer[picture.Picture]]keptRef

	sent atomic.Int64 // request blob bytes written to workers
}

// keptRef is where a picture is kept.
type keptRef struct {
	w  *proc
	id string
}

type call struct {
	req      protocol.Frame
	maxReply int64
	check    func(protocol.Frame) error
	done     chan result
	// alt, when set, is req naming a picture that owner keeps instead of
	// carrying its pixels; owner is sent alt, any other worker req.
	alt   *protocol.Frame
	owner *proc
}

type result struct {
	f   protocol.Frame
	err error
	w   *proc // the worker that answered
}

// Start starts the pool and waits until one worker is ready (the models
// load and the sandbox holds), or returns why none could start.
func Start(ctx context.Context, o Options) (*Pool, error) {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 3 * time.Minute
	}
	if o.QueueTimeout <= 0 {
		o.QueueTimeout = o.Timeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Log = o.Log.With("component", "sandbox")
	if o.Command == nil {
		// The name this program was started by (a multi-call test binary
		// dispatches on it), resolved now; else the executable.
		exe, err := exec.LookPath(os.Args[0])
		if err == nil {
			exe, err = filepath.Abs(exe)
		}
		if err != nil {
			if exe, err = os.Executable(); err != nil {
				return nil, err
			}
		}
		o.Command = func() *exec.Cmd { return exec.Command(exe, "worker") }
	}
	p := &Pool{opt: o, calls: make(chan *call), quit: make(chan struct{}), pids: map[int]bool{}, onCrashes: o.OnCrashes,
		kept: map[weak.Pointer[picture.Picture]]keptRef{}}
	// One worker starts now; the others when requests find every worker
	// busy (each loads its own models: a server that never sees two
	// analyses at once pays for one).
	first := make(chan error, 1)
	p.started = 1
	p.wg.Add(1)
	go p.slot(0, first)
	select {
	case err := <-first:
		if err == nil {
			return p, nil
		}
		p.Close()
		return nil, fmt.Errorf("no sandboxed worker started: %w", err)
	case <-ctx.Done():
		p.Close()
		return nil, ctx.Err()
	}
}

// grow starts another worker slot, up to Workers.
func (p *Pool) grow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.started >= p.opt.Workers {
		return
	}
	p.started++
	p.wg.Add(1)
	go p.slot(p.started-1, nil)
}

// Close stops every worker.
func (p *Pool) Close() error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.quit)
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// OnCrashes sets what is called when worker failures repeat (see
// Options.OnCrashes).
func (p *Pool) OnCrashes(fn func(n int)) {
	p.mu.Lock()
	p.onCrashes = fn
	p.mu.Unlock()
}

// PIDs lists the live workers' process ids (for tests and operators).
func (p *Pool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int, 0, len(p.pids))
	for pid := range p.pids {
		out = append(out, pid)
	}
	return out
}

// do sends req to a worker and returns its reply once check accepts it.
// An error reply becomes the error it names; a transport failure, a
// timeout or a reply check fails the request with ErrUnavailable and
// replaces the worker.
func (p *Pool) do(ctx context.Context, req protocol.Frame, maxReply int64, check func(protocol.Frame) error) (protocol.Frame, error) {
	r := p.send(ctx, &call{req: req, maxReply: maxReply, check: check})
	return r.f, r.err
}

// send runs c on a worker: its owner if that worker is idle, else the
// first worker free.
func (p *Pool) send(ctx context.Context, c *call) result {
	c.done = make(chan result, 1)
	var mine chan *call // nil (never ready) unless c has an owner
	if c.owner != nil {
		mine = c.owner.calls
	}
	wait := time.NewTimer(p.opt.QueueTimeout)
	defer wait.Stop()
	select {
	case mine <- c: // the worker keeping the picture was idle
	default:
		select {
		case p.calls <- c: // an idle worker took it
		case mine <- c:
		default:
			p.grow()
			select {
			case p.calls <- c:
			case mine <- c:
			case <-ctx.Done():
				return result{err: ctx.Err()}
			case <-p.quit:
				return result{err: fmt.Errorf("pool closed: %w", ErrUnavailable)}
			case <-wait.C:
				return result{err: fmt.Errorf("no worker free within %v: %w", p.opt.QueueTimeout, ErrUnavailable)}
			}
		}
	}
	select {
	case r := <-c.done:
		return r
	case <-ctx.Done():
		return result{err: ctx.Err()}
	}
}

// proc is one running worker.
type proc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	outf   *os.File
	out    *bufio.Reader
	exited chan struct{}
	tmp    string
	// calls are the calls for this worker only (those naming a picture it
	// keeps); wake says drops (guarded by Pool.mu) wait to be sent.
	calls chan *call
	wake  chan struct{}
	drops []string
}

func (w *proc) kill() { w.cmd.Process.Kill() }

// slot keeps one worker alive: start, serve calls, replace on failure with
// backoff. The first start's outcome goes to first.
func (p *Pool) slot(i int, first chan<- error) {
	defer p.wg.Done()
	reported := false
	fails := 0
	for {
		w, err := p.spawn()
		if !reported && first != nil {
			first <- err
		}
		reported = true
		if err != nil {
			p.opt.Log.Error("worker did not start", "slot", i, "err", err)
			p.failed()
		} else {
			ok := p.serve(w)
			if ok {
				return // closed
			}
			p.failed()
		}
		fails++
		delay := min(50*time.Millisecond<<min(fails, 8), 10*time.Second)
		select {
		case <-p.quit:
			return
		case <-time.After(delay):
		}
	}
}

// serve hands calls to w until it fails (false) or the pool closes (true).
func (p *Pool) serve(w *proc) bool {
	defer p.reap(w)
	for {
		select {
		case <-p.quit:
			return true
		case <-w.exited:
			p.opt.Log.Warn("worker died while idle", "pid", w.cmd.Process.Pid, "state", w.cmd.ProcessState.String())
			return false
		case c := <-p.calls:
			if !p.answer(w, c) {
				return false
			}
		case c := <-w.calls:
			if !p.answer(w, c) {
				return false
			}
		case <-w.wake:
			if err := p.sendDrops(w); err != nil {
				return false
			}
		}
	}
}

// answer runs c on w and reports whether w is still usable.
func (p *Pool) answer(w *proc, c *call) bool {
	f, err := p.exchange(w, c)
	c.done <- result{f, err, w}
	return !errors.Is(err, ErrUnavailable)
}

// exchange runs one call on w under the request timeout: the variant
// naming w's kept picture if w is its owner, and the full request if the
// worker no longer keeps it.
func (p *Pool) exchange(w *proc, c *call) (protocol.Frame, error) {
	if c.alt != nil && c.owner == w {
		f, err := p.roundTrip(w, *c.alt, c.maxReply, c.check)
		if !errors.Is(err, errNotKept) {
			return f, err
		}
	}
	return p.roundTrip(w, c.req, c.maxReply, c.check)
}

// roundTrip sends req to w and reads and checks its reply.
func (p *Pool) roundTrip(w *proc, req protocol.Frame, maxReply int64, check func(protocol.Frame) error) (protocol.Frame, error) {
	timer := time.AfterFunc(p.opt.Timeout, w.kill)
	defer timer.Stop()
	fail := func(why string, err error) (protocol.Frame, error) {
		w.kill()
		<-w.exited
		p.opt.Log.Warn("worker killed", "pid", w.cmd.Process.Pid, "reason", why, "err", err, "state", w.cmd.ProcessState.String())
		return protocol.Frame{}, fmt.Errorf("%s: %v: %w", why, err, ErrUnavailable)
	}
	if err := protocol.WriteFrame(w.in, req); err != nil {
		return fail("send", err)
	}
	p.sent.Add(int64(len(req.Blob)))
	f, err := protocol.ReadFrame(w.out, maxReply)
	if err != nil {
		return fail("reply", err)
	}
	if f.Op != req.Op {
		return fail("reply", fmt.Errorf("op %d for %d: %w", f.Op, req.Op, ErrReply))
	}
	if f.Status == protocol.StatusErr {
		err := replyError(f, req.Op)
		if errors.Is(err, ErrReply) || (errors.Is(err, errNotKept) && !namesKept(req)) {
			return fail("reply", err)
		}
		return protocol.Frame{}, err
	}
	if check != nil {
		if err := check(f); err != nil {
			return fail("reply check", err)
		}
	}
	return f, nil
}

// failed records a worker failure and raises the alert when they repeat.
func (p *Pool) failed() {
	p.mu.Lock()
	now := time.Now()
	kept := p.crashes[:0]
	for _, t := range p.crashes {
		if now.Sub(t) < CrashWindow {
			kept = append(kept, t)
		}
	}
	p.crashes = append(kept, now)
	n := len(p.crashes)
	alert := n >= CrashAlert && now.Sub(p.alerted) >= CrashWindow
	if alert {
		p.alerted = now
	}
	fn := p.onCrashes
	p.mu.Unlock()
	if alert {
		p.opt.Log.Error("sandboxed workers keep failing: possible exploit attempt", "failures", n, "window", CrashWindow.String())
		if fn != nil {
			fn(n)
		}
	}
}

// spawn starts a worker and waits for its hello.
func (p *Pool) spawn() (*proc, error) {
	cfg := p.opt.Config
	tmp, err := os.MkdirTemp("", "obscura-worker-")
	if err != nil {
		return nil, err
	}
	cfg.TempDir = tmp
	if cfg.Protections&SetUID != 0 && os.Getuid() == 0 {
		// The worker writes its copy of ONNX Runtime here before it drops
		// to its uid, and reads nothing else here.
		os.Chmod(tmp, 0o700)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	cmd := p.opt.Command()
	cmd.Env = append(cmd.Env, protocol.ConfigEnv+"="+string(js), "TMPDIR="+tmp, mallocTunables)
	// Our own pipes (not exec's), so that reaping the process never
	// closes a descriptor a reader is still using.
	var fds []*os.File
	closeAll := func() {
		for _, f := range fds {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File) {
		if err == nil {
			r, w, err = os.Pipe()
			fds = append(fds, r, w)
		}
		return r, w
	}
	inR, inW := pipe()
	outR, outW := pipe()
	errR, errW := pipe()
	if err != nil {
		closeAll()
		os.RemoveAll(tmp)
		return nil, err
	}
	widenPipe(inW)
	widenPipe(outW)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if err := cmd.Start(); err != nil {
		closeAll()
		os.RemoveAll(tmp)
		return nil, err
	}
	inR.Close()
	outW.Close()
	errW.Close()
	in, out, errp := inW, outR, errR
	w := &proc{cmd: cmd, in: in, outf: out, out: bufio.NewReaderSize(out, 1<<20), exited: make(chan struct{}), tmp: tmp,
		calls: make(chan *call), wake: make(chan struct{}, 1)}
	go p.logStderr(cmd.Process.Pid, errp)
	go func() {
		cmd.Wait()
		close(w.exited)
	}()
	p.mu.Lock()
	p.pids[cmd.Process.Pid] = true
	p.mu.Unlock()
	hello := make(chan error, 1)
	go func() {
		f, err := protocol.ReadFrame(w.out, 0)
		if err == nil && (f.Op != protocol.OpHello || f.Status != protocol.StatusOK) {
			err = fmt.Errorf("expected hello, got op %d status %d: %s", f.Op, f.Status, printable(string(f.Meta), 300))
		}
		if err == nil {
			err = checkHello(f.Meta, cfg.Protections)
		}
		hello <- err
	}()
	select {
	case err = <-hello:
	case <-time.After(p.opt.StartTimeout):
		err = fmt.Errorf("no hello within %v", p.opt.StartTimeout)
	case <-p.quit:
		err = errors.New("pool closed")
	}
	if err != nil {
		w.kill()
		<-w.exited
		p.reap(w)
		return nil, fmt.Errorf("worker start: %w (%s)", err, w.cmd.ProcessState.String())
	}
	p.opt.Log.Info("worker ready", "pid", cmd.Process.Pid)
	return w, nil
}

// reap forgets a dead (or dying) worker and removes its directory.
func (p *Pool) reap(w *proc) {
	w.kill()
	<-w.exited
	w.in.Close()
	w.outf.Close()
	os.RemoveAll(w.tmp)
	p.mu.Lock()
	delete(p.pids, w.cmd.Process.Pid)
	for k, ref := range p.kept {
		if ref.w == w {
			delete(p.kept, k)
		}
	}
	p.mu.Unlock()
}

// logStderr logs what a worker writes to stderr: line by line, each
// truncated and stripped to printable ASCII (a compromised worker must
// not forge log records).
func (p *Pool) logStderr(pid int, r io.ReadCloser) {
	defer r.Close()
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 4096), 64<<10)
	for s.Scan() {
		p.opt.Log.Warn("worker stderr", "pid", pid, "line", printable(s.Text(), 300))
	}
	io.Copy(io.Discard, r)
}
