// Package sandbox runs the code that parses attacker-chosen bytes — image
// decoders (libjpeg-turbo, the PNG/WebP/HEIC decoders), ONNX Runtime and
// Tesseract, large C and C++ code bases — in worker processes that hold
// nothing worth stealing, and checks everything they answer.
//
// A worker is this same binary (`obscura worker`, hidden), started by the
// supervisor (Pool) with an empty environment but its configuration, its
// stdin and stdout as the only descriptors to talk on. Before it reads a
// request it is confined:
//
//   - Landlock (ABI ≥ 4): read-only access to the model directory, the
//     system libraries and Tesseract's data, a private temporary directory,
//     and no TCP bind or connect; signals and abstract sockets towards
//     processes outside its domain are refused (ABI ≥ 6). The ruleset is
//     enforced on the starting thread, which then re-executes the binary,
//     so every thread of the worker is inside it;
//   - resource limits: address space, CPU time, open files, no core dumps,
//     and no file growth once the models are loaded;
//   - a separate uid (nobody) when started as root;
//   - a seccomp-bpf allow-list on every thread (TSYNC), installed after
//     the models load: no socket, connect, bind, execve, ptrace, kill, no
//     open for writing or creating, no unlink, mkdir or rename.
//
// The package is the supervisor (Pool: starting, feeding, checking and
// replacing workers); the worker process is package sandbox/worker, and
// the frames between them are package sandbox/protocol.
//
// Messages are length-prefixed, versioned frames (docs/spec/worker-v1.md).
// The server treats a worker's answer as untrusted: every reply is parsed
// strictly and checked against the request's shape and the models' bounds
// (sizes, label sets, finite unit vectors). A worker that crashes, hangs
// past the request timeout, exceeds a limit or breaks the protocol is
// killed and replaced with backoff; its request fails closed with
// ErrUnavailable (503 analysis_unavailable), and repeated failures raise
// an alert.
//
// What a compromised worker can still do: lie about the pictures it
// decodes and the results it computes (within the checked bounds), and
// burn its CPU and memory limits. What it cannot: read keys, the database
// or any tenant's stored photos, open a network connection, start
// programs, or write files. See docs/threat-model.md.
package sandbox
