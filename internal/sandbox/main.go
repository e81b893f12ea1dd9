package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// Environment of a worker process: its configuration (JSON) and the stage
// marker set by its own re-exec.
const (
	configEnv = "OBSCURA_WORKER_CONFIG"
	stageEnv  = "OBSCURA_WORKER_STAGE"
)

// Config is a worker's configuration, passed by the supervisor. It holds
// paths and limits, never a secret.
type Config struct {
	// Models is the pinned model directory (read-only inside the worker).
	Models string `json:"models"`
	// TessData is Tesseract's data directory (read-only).
	TessData string `json:"tessdata"`
	// Threads is ONNX Runtime's intra-op thread count per session.
	Threads int `json:"threads"`
	// Decode bounds and sizes picture decoding.
	Decode picture.Options `json:"decode"`
	// Limits are the worker's resource limits.
	Limits Limits `json:"limits"`
	// Protections to apply; the supervisor sets All unless the operator
	// started the server with --insecure-no-sandbox on a kernel lacking
	// some.
	Protections Protections `json:"protections"`
	// UID and GID the worker drops to when started as root.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// LoadModels loads the vision engine (false: decode and sanitize only).
	LoadModels bool `json:"load_models"`
	// TempDir is the worker's private directory (set by the supervisor).
	TempDir string `json:"tempdir"`
	// Nice lowers the worker's CPU priority: it is added to the
	// supervisor's nice value (at most 19) for every thread the worker
	// will have; 0 leaves it. Analysis workers run
	// niced so the server's own threads and the upload sanitizers get
	// the CPU first when analyses saturate it (docs/perf.md).
	Nice int `json:"nice,omitempty"`
}

// Limits are a worker's rlimits (0: not limited).
type Limits struct {
	MemoryBytes int64 `json:"memory_bytes"` // address space (RLIMIT_AS)
	CPUSeconds  int64 `json:"cpu_seconds"`  // CPU time over the worker's life (RLIMIT_CPU)
	OpenFiles   int64 `json:"open_files"`   // descriptors (RLIMIT_NOFILE)
}

// DefaultLimits: 6 GiB of address space (the models and ONNX Runtime's
// arenas take about 1.5 GiB; a 50 MP picture decodes to 200 MB), an hour
// of CPU time before the worker is replaced, 128 descriptors.
var DefaultLimits = Limits{MemoryBytes: 6 << 30, CPUSeconds: 3600, OpenFiles: 128}

// Nobody is the uid and gid a worker started as root runs as.
const Nobody = 65534

// helloMeta is what a worker reports once ready; the supervisor checks it
// against the protections it asked for (the worker has read no untrusted
// byte yet, so it is still telling the truth).
type helloMeta struct {
	PID      int  `json:"pid"`
	UID      int  `json:"uid"`
	Landlock bool `json:"landlock"`
	Seccomp  bool `json:"seccomp"`
	Models   bool `json:"models"`
}

func checkHello(meta []byte, want Protections) error {
	var h helloMeta
	if err := strictJSON(meta, &h); err != nil {
		return fmt.Errorf("hello: %v: %w", err, ErrReply)
	}
	switch {
	case want&Landlock != 0 && !h.Landlock:
		return errors.New("worker is not confined by landlock")
	case want&Seccomp != 0 && !h.Seccomp:
		return errors.New("worker has no seccomp filter")
	case want&SetUID != 0 && os.Getuid() == 0 && h.UID == 0:
		return errors.New("worker still runs as root")
	}
	return nil
}

// Main runs a worker process (the hidden `obscura worker` subcommand):
// stage 1 enforces Landlock and re-executes itself; stage 2 sets rlimits,
// loads the models with load (if the configuration asks), drops its uid,
// installs the seccomp filter, says hello and serves requests on stdin and
// stdout until stdin closes. test answers OpTest (nil in production). It
// returns the process exit code.
func Main(load func(Config) (Engine, error), test func(meta, blob []byte) Frame) int {
	var c Config
	if err := json.Unmarshal([]byte(os.Getenv(configEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, "obscura worker: no configuration: run by obscura serve only")
		return 2
	}
	if os.Getenv(stageEnv) != "2" {
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
	if c.Protections&Rlimits != 0 {
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
	h := helloMeta{PID: os.Getpid(), UID: os.Getuid(), Models: eng != nil}
	if f, err := os.Open("/"); err == nil {
		f.Close()
	} else {
		h.Landlock = errors.Is(err, os.ErrPermission)
	}
	if v, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err == nil && v == 2 {
		h.Seccomp = true
	}
	meta, _ := json.Marshal(h)
	if err := WriteFrame(out, Frame{Op: OpHello, Meta: meta}); err != nil {
		return 5
	}
	wk := &Worker{Engine: eng, Decode: c.Decode, Test: test}
	if err := wk.Serve(context.Background(), os.Stdin, out); err != nil {
		fmt.Fprintln(os.Stderr, "obscura worker:", err)
		return 5
	}
	return 0
}
