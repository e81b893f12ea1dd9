package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
)

// HeapLimit is the size a worker's Go heap may grow to before the
// garbage collector runs (GOGC off, this soft memory limit instead). A
// worker's live Go heap is small (the models live in ONNX Runtime's C
// memory, and with the picture cache its requests no longer carry
// pixels), but every analysis allocates ≈ 25–40 MB of short-lived
// buffers (a 12 MP photo decoded at 1/2 scale is 11.6 MB of pixels,
// CenterNet's input and output 8 MB more). With a goal proportional to
// that small live heap (GOGC 100, or even 400) the runtime collected and
// returned the freed pages to the kernel between photos and the next
// photo faulted them in again: 2,700–9,000 faults, ≈ 20 µs each on this
// project's VMs, per 12 MP analysis (docs/perf.md, "Session 9"). Under
// the limit the pages stay mapped between collections; after one, the
// runtime's background scavenger still returns the freed pages above 110%
// of the heap then in use, at its own pace, so some are faulted in again
// (234–259 faults per photo in a 500-photo import, docs/perf.md,
// "Session 10"). The limit is soft: a larger working
// set (a full-size decode of a 50 MP photo) makes the collector run more
// often, never fail; the address-space rlimit stays the hard bound.
const HeapLimit = 256 << 20

// Main runs a worker process (the hidden `obscura worker` subcommand):
// stage 1 enforces Landlock and re-executes itself; stage 2 sets rlimits,
// loads the models with load (if the configuration asks), drops its uid,
// installs the seccomp filter, says hello and serves requests on stdin and
// stdout until stdin closes. test answers OpTest (nil in production). It
// returns the process exit code.
func Main(load func(protocol.Config) (Engine, error), test func(meta, blob []byte) protocol.Frame) int {
	var c protocol.Config
	if err := json.Unmarshal([]byte(os.Getenv(protocol.ConfigEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, "obscura worker: no configuration: run by obscura serve only")
		return 2
	}
	if os.Getenv(protocol.StageEnv) != "2" {
		err := restrictAndExec(c) // returns only on failure
		fmt.Fprintln(os.Stderr, "obscura worker: sandbox:", err)
		return 3
	}
	// The protocol gets its own descriptor; anything a library prints to
	// stdout lands on stderr instead of corrupting a reply.
	proto, err := unix.Dup(1)
	if err == nil {
		err = unix.Dup2(2, 1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "obscura worker: stdout:", err)
		return 3
	}
	out := os.NewFile(uintptr(proto), "protocol")
	if c.Protections&protocol.Rlimits != 0 {
		if err := setLimits(c); err != nil {
			fmt.Fprintln(os.Stderr, "obscura worker:", err)
			return 3
		}
	}
	var eng Engine
	if c.LoadModels && load != nil {
		if eng, err = load(c); err != nil {
			fmt.Fprintln(os.Stderr, "obscura worker: models:", err)
			return 4
		}
	}
	if err := lockDown(c); err != nil {
		fmt.Fprintln(os.Stderr, "obscura worker:", err)
		return 3
	}
	h := protocol.Hello{PID: os.Getpid(), UID: os.Getuid(), Models: eng != nil}
	if f, err := os.Open("/"); err == nil {
		f.Close()
	} else {
		h.Landlock = errors.Is(err, os.ErrPermission)
	}
	if v, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err == nil && v == 2 {
		h.Seccomp = true
	}
	meta, _ := json.Marshal(h)
	if err := protocol.WriteFrame(out, protocol.Frame{Op: protocol.OpHello, Meta: meta}); err != nil {
		return 5
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(HeapLimit)
	wk := &Worker{Engine: eng, Decode: c.Decode, Test: test}
	if err := wk.Serve(context.Background(), os.Stdin, out); err != nil {
		fmt.Fprintln(os.Stderr, "obscura worker:", err)
		return 5
	}
	return 0
}
