package store

import (
	"context"
	"time"
)

// FLDevice is a device key enrolled by the app backend for one subject
// (federated learning). The subject is stored only as its keyed hash.
type FLDevice struct {
	Tenant      string
	ID          string // hex SHA-256 of the Ed25519 public key
	SubjectHash string
	PublicKey   []byte // Ed25519
	EnrolledAt  time.Time
}

// FLTask is a federated training task: its configuration (JSON owned by
// internal/fl), the server's canary set and the privacy budget spent.
type FLTask struct {
	Tenant    string
	ID        string
	Config    []byte
	Canary    []byte
	CreatedAt time.Time
	Rounds    int     // rounds recorded, whatever their outcome
	RhoSpent  float64 // zCDP ρ spent by released sums
}

// FLRound is the audited record of one round: who took part (as keyed
// hashes of subjects, never raw ids), how many survived, the privacy spent,
// the canary check and its outcome.
type FLRound struct {
	Tenant       string
	Task         string
	Number       int
	Participants []string
	Survivors    int
	Rho          float64
	Outcome      string // "published", "rejected", "aborted"
	CanaryBefore float64
	CanaryAfter  float64
	Version      int // the version published by this round, or 0
	At           time.Time
}

// FLVersion is a published model version: a signed artefact (internal/fl's
// layout) pinned by its SHA-256.
type FLVersion struct {
	Tenant    string
	Task      string
	Number    int
	SHA256    string
	Artefact  []byte
	Current   bool
	CreatedAt time.Time
}

// FL stores federated-learning devices, tasks, round records and model
// versions. Every method is tenant-scoped.
type FL interface {
	// EnrollFLDevice adds a device; an existing id is a fault.Conflict.
	EnrollFLDevice(ctx context.Context, d FLDevice) error
	// FLDevice returns a device, or a fault.NotFound error.
	FLDevice(ctx context.Context, tenant, id string) (FLDevice, error)
	// DeleteFLDevices removes every device of a subject and returns how many.
	DeleteFLDevices(ctx context.Context, tenant, subjectHash string) (int, error)
	// FLDevicesOf lists a subject's devices.
	FLDevicesOf(ctx context.Context, tenant, subjectHash string) ([]FLDevice, error)
	// CreateFLTask adds a task; an existing id is a fault.Conflict.
	CreateFLTask(ctx context.Context, t FLTask) error
	// FLTask returns a task, or a fault.NotFound error.
	FLTask(ctx context.Context, tenant, id string) (FLTask, error)
	// RecordFLRound appends a round record, adds its ρ to the task's and, if
	// v is not nil, adds v as the task's current version, in one transaction.
	RecordFLRound(ctx context.Context, r FLRound, v *FLVersion) error
	// FLRounds lists a task's round records, oldest first.
	FLRounds(ctx context.Context, tenant, task string) ([]FLRound, error)
	// FLVersions lists a task's versions, oldest first.
	FLVersions(ctx context.Context, tenant, task string) ([]FLVersion, error)
	// SetFLCurrent makes version number the task's current one
	// (fault.NotFound if it does not exist).
	SetFLCurrent(ctx context.Context, tenant, task string, number int) error
}
