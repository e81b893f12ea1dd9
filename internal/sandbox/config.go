package sandbox

import (
	"errors"
	"fmt"
	"os"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
)

// A worker's configuration and protections, as the supervisor's users
// (cmd/obscura) name them; the types live with the protocol that carries
// them to the worker.
type (
	// Config is a worker's configuration (protocol.Config).
	Config = protocol.Config
	// Limits are a worker's rlimits (protocol.Limits).
	Limits = protocol.Limits
	// Protections a worker applies (protocol.Protections).
	Protections = protocol.Protections
)

// Protections.
const (
	Landlock = protocol.Landlock
	Seccomp  = protocol.Seccomp
	SetUID   = protocol.SetUID
	Rlimits  = protocol.Rlimits
	All      = protocol.All
)

// DefaultLimits are the workers' default rlimits (protocol.DefaultLimits).
var DefaultLimits = protocol.DefaultLimits

// Nobody is the uid and gid a worker started as root runs as.
const Nobody = protocol.Nobody

// checkHello checks a worker's hello against the protections asked for
// (the worker has read no untrusted byte yet, so it still tells the truth).
func checkHello(meta []byte, want Protections) error {
	var h protocol.Hello
	if err := protocol.StrictJSON(meta, &h); err != nil {
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
