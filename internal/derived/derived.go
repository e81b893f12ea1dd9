// Package derived is the one registry of the data Obscura keeps about a
// subject: each kind (analysis results, face drafts/tags/gallery, privacy
// links, consent states, the photos themselves) implements Kind, and every
// path that must remove or disclose a subject's data — photo deletion,
// consent revocation and expiry, erasure, operator purges, subject export
// — goes through the Registry instead of knowing the list of kinds.
//
// Every method is tenant-scoped: subject hashes and asset ids are only
// unique inside a tenant.
//
// Protects against: a new kind of derived data that one deletion path
// forgets (there is one list; the registry test enumerates it and proves
// for each kind that every path leaves nothing and export includes it);
// data readable after a purpose is revoked (the purpose's scope key is
// crypto-shredded before any kind deletes its records); a crash half way
// through a forget (each forget is journaled before it starts and Resume
// finishes it; every Kind method is idempotent).
//
// Does not protect against: copies outside Obscura (exports the subject
// downloaded, results an app cached).
package derived

import (
	"context"
	"fmt"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/store"
)

// Bundle is what an export writes into: one file per call, by path inside
// the bundle (docs/spec/export-bundle-v1.md).
type Bundle interface {
	Add(path string, data []byte) error
}

// Kind is one kind of data kept about a subject. Every method is
// idempotent (forgetting what is already gone is not an error), so an
// interrupted forget is finished by running it again.
type Kind interface {
	// Name is the kind's stable name (lower case, for tests and audit).
	Name() string
	// ForgetAsset deletes what the kind holds about one photo.
	ForgetAsset(ctx context.Context, tenant, assetID string) error
	// ForgetPurpose deletes what the kind produced for purpose. The
	// purpose's scope key is already destroyed when it is called.
	ForgetPurpose(ctx context.Context, tenant, subjectHash, purpose string) error
	// ForgetSubject deletes everything the kind holds about the subject.
	// Every scope key of the subject is already destroyed.
	ForgetSubject(ctx context.Context, tenant, subjectHash string) error
	// Export writes what the kind holds about the subject into b.
	Export(ctx context.Context, tenant, subjectHash string, b Bundle) error
	// Held counts the records and objects the kind holds about the subject
	// (0: nothing), so tests and dry runs can check a forget.
	Held(ctx context.Context, tenant, subjectHash string) (int, error)
}

// Sweeper is a Kind with a retention or TTL schedule.
type Sweeper interface {
	Sweep(ctx context.Context, limit int) (int, error)
}

// shredder crypto-shreds a subject's scope key for a purpose ("*": all).
type shredder interface {
	Shred(ctx context.Context, tenant, subjectHash, purpose string) (int, error)
}

// journal is the store's forget journal.
type journal interface {
	BeginForget(ctx context.Context, f store.Forget) error
	FinishForget(ctx context.Context, f store.Forget) error
	PendingForgets(ctx context.Context) ([]store.Forget, error)
}

// Registry runs every path over every registered kind.
type Registry struct {
	keys    shredder
	journal journal
	clk     clock.Clock
	kinds   []Kind
}

// New returns a Registry over kinds, in the order forgets run them (a
// kind that others are derived from — the photos — comes last).
func New(keys shredder, j journal, clk clock.Clock, kinds ...Kind) *Registry {
	return &Registry{keys: keys, journal: j, clk: clk, kinds: kinds}
}

// Register appends kinds. It returns r.
func (r *Registry) Register(kinds ...Kind) *Registry {
	r.kinds = append(r.kinds, kinds...)
	return r
}

// Kinds returns the registered kinds, in order.
func (r *Registry) Kinds() []Kind { return append([]Kind(nil), r.kinds...) }

// run journals f, runs step over each kind, and clears the journal.
func (r *Registry) run(ctx context.Context, f store.Forget, first func() error, step func(Kind) error) error {
	f.CreatedAt = r.clk.Now()
	if err := r.journal.BeginForget(ctx, f); err != nil {
		return fmt.Errorf("journal forget: %w", err)
	}
	if first != nil {
		if err := first(); err != nil {
			return err
		}
	}
	for _, k := range r.kinds {
		if err := step(k); err != nil {
			return fmt.Errorf("forget %s (resumes): %w", k.Name(), err)
		}
	}
	return r.journal.FinishForget(ctx, f)
}

// ForgetAsset deletes what every kind holds about one photo, the photo
// last if it is registered.
func (r *Registry) ForgetAsset(ctx context.Context, tenant, assetID string) error {
	return r.run(ctx, store.Forget{TenantID: tenant, Scope: store.ForgetAsset, Target: assetID}, nil,
		func(k Kind) error { return k.ForgetAsset(ctx, tenant, assetID) })
}

// ForgetPurpose crypto-shreds the subject's scope key for purpose, then
// has every kind delete what it produced for it.
func (r *Registry) ForgetPurpose(ctx context.Context, tenant, subjectHash, purpose string) error {
	if purpose == "*" {
		return r.ForgetSubject(ctx, tenant, subjectHash)
	}
	return r.run(ctx, store.Forget{TenantID: tenant, Scope: store.ForgetPurpose, SubjectHash: subjectHash, Target: purpose},
		func() error {
			_, err := r.keys.Shred(ctx, tenant, subjectHash, purpose)
			return err
		},
		func(k Kind) error { return k.ForgetPurpose(ctx, tenant, subjectHash, purpose) })
}

// Shred is ForgetPurpose with the count consent's purger reports (the
// number of kinds run); it lets the registry stand where consent
// revocation expects a purger.
func (r *Registry) Shred(ctx context.Context, tenant, subjectHash, purpose string) (int, error) {
	if err := r.ForgetPurpose(ctx, tenant, subjectHash, purpose); err != nil {
		return 0, err
	}
	return len(r.kinds), nil
}

// ForgetSubject crypto-shreds every scope key of the subject, then has
// every kind delete what it holds about them.
func (r *Registry) ForgetSubject(ctx context.Context, tenant, subjectHash string) error {
	return r.run(ctx, store.Forget{TenantID: tenant, Scope: store.ForgetSubject, SubjectHash: subjectHash},
		func() error {
			_, err := r.keys.Shred(ctx, tenant, subjectHash, "*")
			return err
		},
		func(k Kind) error { return k.ForgetSubject(ctx, tenant, subjectHash) })
}

// Export has every kind write what it holds about the subject into b.
func (r *Registry) Export(ctx context.Context, tenant, subjectHash string, b Bundle) error {
	for _, k := range r.kinds {
		if err := k.Export(ctx, tenant, subjectHash, b); err != nil {
			return fmt.Errorf("export %s: %w", k.Name(), err)
		}
	}
	return nil
}

// Held sums what every kind holds about the subject, by kind name.
func (r *Registry) Held(ctx context.Context, tenant, subjectHash string) (map[string]int, error) {
	out := map[string]int{}
	for _, k := range r.kinds {
		n, err := k.Held(ctx, tenant, subjectHash)
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", k.Name(), err)
		}
		out[k.Name()] = n
	}
	return out, nil
}

// Sweep runs each kind's retention or TTL sweep, at most limit deletions
// per kind, and returns how many went in all.
func (r *Registry) Sweep(ctx context.Context, limit int) (int, error) {
	total := 0
	for _, k := range r.kinds {
		s, ok := k.(Sweeper)
		if !ok {
			continue
		}
		n, err := s.Sweep(ctx, limit)
		total += n
		if err != nil {
			return total, fmt.Errorf("sweep %s: %w", k.Name(), err)
		}
	}
	return total, nil
}

// Resume finishes the forgets a crash interrupted; serve runs it at start.
func (r *Registry) Resume(ctx context.Context) (int, error) {
	fs, err := r.journal.PendingForgets(ctx)
	if err != nil {
		return 0, err
	}
	for i, f := range fs {
		var err error
		switch f.Scope {
		case store.ForgetAsset:
			err = r.ForgetAsset(ctx, f.TenantID, f.Target)
		case store.ForgetPurpose:
			err = r.ForgetPurpose(ctx, f.TenantID, f.SubjectHash, f.Target)
		case store.ForgetSubject:
			err = r.ForgetSubject(ctx, f.TenantID, f.SubjectHash)
		default:
			err = fmt.Errorf("unknown forget scope %q", f.Scope)
		}
		if err != nil {
			return i, err
		}
	}
	return len(fs), nil
}

// Nothing is a Kind's no-op for a path that does not apply to it.
type Nothing struct{}

// ForgetAsset implements Kind.
func (Nothing) ForgetAsset(context.Context, string, string) error { return nil }

// ForgetPurpose implements Kind.
func (Nothing) ForgetPurpose(context.Context, string, string, string) error { return nil }
