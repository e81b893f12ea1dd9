// Package plugin runs third-party sticker and augmentation effects as
// signed WebAssembly modules in a sandbox (docs/spec/plugin-v1.md):
// the supply chain (manifests signed with Ed25519 by a trusted publisher,
// pinned by SHA-256), the installed-plugin registry and runs to drafts
// through the consented pipeline. The sandbox itself (wazero, pure Go, no
// cgo: the import allow-list, the host functions, the limits) is package
// plugin/wasmhost; the names below re-export what callers use of it.
//
// Protects against: a plugin that tries to reach anything but the photo it
// is handed — the filesystem, the network, the environment, the host clock,
// other processes (a module importing anything beyond the allow-list of
// harmless functions is refused at install and raises a
// plugin_escape_attempt alert; the host functions it may import are ours,
// and hand it only the photo's pixels, the face boxes if it declared them,
// and its validated parameters); a plugin that runs away (each run has a
// wall-time deadline that closes the module, a memory cap sized to its
// input, a cap on output size and log volume, and the number of runs at
// once is bounded); altered, unsigned or untrusted modules (refused at
// install, re-verified against the pinned hash when loaded).
//
// Does not protect against: a trusted publisher's plugin that produces a
// misleading image from the pixels it was given (its output is a draft the
// subject must accept); timing side channels between concurrent runs on
// one machine; bugs in wazero itself.
package plugin

import (
	"context"
	"crypto/sha256"

	"github.com/obscuraproject/obscura/internal/plugin/wasmhost"
)

// The sandbox's errors: ErrRejected (refused at install), ErrFailed (a
// run broke a limit, trapped or returned no output), ErrBusy (no run slot
// came free in time).
var (
	ErrRejected = wasmhost.ErrRejected
	ErrFailed   = wasmhost.ErrFailed
	ErrBusy     = wasmhost.ErrBusy
)

// The sandbox's types, as package wasmhost defines them.
type (
	// Runtime compiles and runs plugin modules.
	Runtime = wasmhost.Runtime
	// Config sets the runtime's limits.
	Config = wasmhost.Config
	// Box is a face box handed to a plugin.
	Box = wasmhost.Box
	// Input is one run's input.
	Input = wasmhost.Input
	// Output is one run's output.
	Output = wasmhost.Output
	// Failure is a run that broke a limit or failed.
	Failure = wasmhost.Failure
	// Rejection is a module refused at install.
	Rejection = wasmhost.Rejection
)

// NewRuntime starts the sandbox runtime (wasmhost.NewRuntime).
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	return wasmhost.NewRuntime(ctx, cfg)
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
