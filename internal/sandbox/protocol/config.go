package protocol

import "github.com/obscuraproject/obscura/internal/vision/picture"

// Protections a worker applies (a bit set).
type Protections uint8

// Protections.
const (
	Landlock Protections = 1 << iota // filesystem read-only on the model files, no TCP bind/connect
	Seccomp                          // system-call allow-list
	SetUID                           // a separate uid (when started as root)
	Rlimits                          // memory, CPU time, open files, file size, core dumps
	// All is every protection.
	All = Landlock | Seccomp | SetUID | Rlimits
)

// Environment of a worker process: its configuration (JSON) and the stage
// marker set by its own re-exec.
const (
	ConfigEnv = "OBSCURA_WORKER_CONFIG"
	StageEnv  = "OBSCURA_WORKER_STAGE"
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
