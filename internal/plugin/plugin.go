// Package plugin runs third-party sticker and augmentation effects as
// signed WebAssembly modules in a sandbox (docs/spec/plugin-v1.md):
// the supply chain (manifests signed with Ed25519 by a trusted publisher,
// pinned by SHA-256), the runtime (wazero, pure Go, no cgo), and the
// installed-plugin registry.
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
	"crypto/sha256"

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

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
