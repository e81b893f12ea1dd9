// Package pipeline is the consented run: the one ordered, privacy-critical
// sequence every generator of derived data (analysis, face-tag
// suggestions, and the ones to come: memes, plugins, federated learning,
// analytics) goes through, written once:
//
//  1. the extraction guard admits the API key (skipped for a queued run,
//     admitted when it was queued, and for operator tools with no key);
//  2. the asset is looked up in the caller's tenant;
//  3. the subject's consent is checked for every purpose the generator
//     declared, before any pixel is decrypted;
//  4. the photo is decrypted and decoded;
//  5. the generator infers (it stores nothing);
//  6. the extraction guard observes the query;
//  7. each face whose embedding the generator would store or match is
//     screened for adversarial perturbation: a suspicious face is still
//     analysed, but its embedding is neither stored nor matched, and an
//     alert is raised; a face never refuses the other features;
//  8. the generator seals and records what it derived;
//  9. consent (every purpose) and the photo are checked again: a
//     revocation or deletion that landed while the models ran purged
//     before the new data existed, so what this run stored under a
//     purpose now refused — and only that — is taken back (everything, if
//     the photo is gone), and the refusal is returned;
//  10. the run is audited (ids hashed; never pixels or results).
//
// A generator plugs in by implementing Generator: the purposes it needs,
// what it reads (the decoded photo), what it stores (Output.Store) and how
// to take each stored piece back; its derived data also registers as a
// derived.Kind so deletion, revocation, erasure and export find it.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// MaxPhotoBytes bounds how much of a stored photo a run reads.
const MaxPhotoBytes = 100 << 20

// Request is one run.
type Request struct {
	Tenant  string
	Key     string // the API key id that asked ("": operator tools; the guard is skipped)
	AssetID string
	// Queued: the guard admitted the key when the run was queued; it is
	// watched, not checked again.
	Queued bool
}

// Face is a face whose embedding a generator would store or match.
type Face struct {
	Face   blazeface.Face
	Vector []float32
}

// Stored is one piece a run stored, under one purpose, with how to take
// it back (Undo) and how to settle it once the run stands (Commit: e.g.
// delete the earlier result it replaced). Either may be nil.
type Stored struct {
	Purpose string
	Undo    func(ctx context.Context) error
	Commit  func(ctx context.Context) error
}

// Output is what a generator inferred, not yet stored.
type Output interface {
	// Class is what the extraction guard groups this query by.
	Class() string
	// Faces lists the faces whose embeddings Store would keep or match.
	Faces() []Face
	// Withhold drops face i (of Faces) from what is stored and matched.
	Withhold(i int)
	// Store seals and records the output; on error, what it stored is
	// already taken back.
	Store(ctx context.Context, a store.Asset, now time.Time) ([]Stored, error)
	// Audit lists the audit entries of a completed run (Tenant, Subject
	// and LatencyUS are filled in by the run).
	Audit(a store.Asset) []audit.Entry
}

// Generator is a user of the run.
type Generator interface {
	// Purposes lists the consent purposes the run needs.
	Purposes() []string
	// Infer derives the output from the decoded photo; it stores nothing.
	Infer(ctx context.Context, a store.Asset, p *picture.Picture) (Output, error)
}

// Guard is the extraction watcher (package guard).
type Guard interface {
	Check(tenant, key string) error
	Observe(ctx context.Context, tenant, key string, thumb []float32, class string) string
}

type assets interface {
	Asset(ctx context.Context, tenant, id string) (store.Asset, error)
}

type photos interface {
	ReadAll(ctx context.Context, ref sealed.Ref, limit int64) ([]byte, error)
}

type gate interface {
	Require(ctx context.Context, tenant, subjectHash, purpose string) error
}

type decoder interface {
	Decode(data []byte) (*picture.Picture, error)
}

// releaser is a decoder that holds on to what it decoded (the sandbox
// pool keeps the picture in the worker that decoded it, so the model
// passes of the run need not send its pixels again): the run releases the
// picture once no pass will read it.
type releaser interface {
	Release(p *picture.Picture)
}

type auditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Deps are the run's collaborators.
type Deps struct {
	Decoder decoder
	Assets  assets
	Photos  photos
	Consent gate
	Audit   auditLog // nil: not audited (tests)
	Clock   clock.Clock
	// Guard, when set, checks and watches each API key's queries for
	// model extraction; Thumbnail is the query representation it compares.
	Guard     Guard
	Thumbnail func(*image.RGBA) []float32
	// Screen, when set, is the adversarial-input guard's per-face verdict
	// (feature squeezing on the face embedder).
	Screen func(ctx context.Context, p *picture.Picture, f blazeface.Face, emb []float32) (suspicious bool, score float64, err error)
	// OnSuspicious hears of each suspicious face (the alert).
	OnSuspicious func(ctx context.Context, tenant, key string, score float64)
}

// Runner runs consented runs.
type Runner struct{ d Deps }

// New returns a Runner.
func New(d Deps) *Runner { return &Runner{d: d} }

// Admit is the admission check of a queued run: the guard admits the key,
// the asset is the tenant's, and its subject has consented to every
// purpose now (the run checks again when it runs).
func (r *Runner) Admit(ctx context.Context, req Request, purposes []string) error {
	if r.d.Guard != nil && req.Key != "" {
		if err := r.d.Guard.Check(req.Tenant, req.Key); err != nil {
			return err
		}
	}
	a, err := r.d.Assets.Asset(ctx, req.Tenant, req.AssetID)
	if err != nil {
		return err
	}
	return r.require(ctx, a, purposes)
}

// require checks every purpose; a refusal names every purpose that lacks
// consent (consent.RequireEach).
func (r *Runner) require(ctx context.Context, a store.Asset, purposes []string) error {
	return consent.RequireEach(ctx, r.d.Consent, a.TenantID, a.SubjectHash, purposes)
}

// Run runs g on the request's photo in the order the package documents,
// and returns the generator's output once it is stored.
func (r *Runner) Run(ctx context.Context, req Request, g Generator) (Output, error) {
	watch := r.d.Guard != nil && req.Key != ""
	if watch && !req.Queued {
		if err := r.d.Guard.Check(req.Tenant, req.Key); err != nil {
			return nil, err
		}
	}
	a, err := r.d.Assets.Asset(ctx, req.Tenant, req.AssetID)
	if err != nil {
		return nil, err
	}
	purposes := g.Purposes()
	if err := r.require(ctx, a, purposes); err != nil {
		return nil, err
	}
	data, err := r.d.Photos.ReadAll(ctx, sealed.Ref{Tenant: a.TenantID, Subject: a.SubjectHash, Object: a.ID}, MaxPhotoBytes)
	if err != nil {
		return nil, fmt.Errorf("read photo: %w", err)
	}
	start := r.d.Clock.Now()
	p, err := r.d.Decoder.Decode(data)
	clear(data)
	if err != nil {
		return nil, fmt.Errorf("decode stored photo: %w", err)
	}
	released := false
	release := func() {
		if rel, ok := r.d.Decoder.(releaser); ok && !released {
			released = true
			rel.Release(p)
		}
	}
	defer release()
	out, err := g.Infer(ctx, a, p)
	if err != nil {
		return nil, err
	}
	latency := r.d.Clock.Now().Sub(start)
	if watch && r.d.Thumbnail != nil {
		r.d.Guard.Observe(ctx, req.Tenant, req.Key, r.d.Thumbnail(p.RGB), out.Class())
	}
	if r.d.Screen != nil {
		for i, f := range out.Faces() {
			bad, score, err := r.d.Screen(ctx, p, f.Face, f.Vector)
			if err != nil {
				return nil, fmt.Errorf("screen face: %w", err)
			}
			if bad {
				out.Withhold(i)
				if r.d.OnSuspicious != nil {
					r.d.OnSuspicious(ctx, req.Tenant, req.Key, score)
				}
			}
		}
	}
	release() // no model reads the photo any more
	stored, err := out.Store(ctx, a, r.d.Clock.Now())
	if err != nil {
		return nil, err
	}
	if err := r.settle(ctx, a, purposes, stored); err != nil {
		return nil, err
	}
	if r.d.Audit != nil {
		for _, e := range out.Audit(a) {
			e.Tenant, e.Subject, e.LatencyUS = a.TenantID, a.SubjectHash, latency.Microseconds()
			if err := r.d.Audit.Append(ctx, e); err != nil {
				return nil, fmt.Errorf("audit: %w", err)
			}
		}
	}
	return out, nil
}

// settle re-checks consent and the photo after storing: what was stored
// under a purpose now refused is taken back (everything if the photo is
// gone), the rest is committed; the first refusal is returned.
func (r *Runner) settle(ctx context.Context, a store.Asset, purposes []string, stored []Stored) error {
	refused := map[string]bool{}
	var first error
	var missing []string
	for _, p := range purposes {
		err := r.d.Consent.Require(ctx, a.TenantID, a.SubjectHash, p)
		switch {
		case err == nil:
			continue
		case errors.Is(err, fault.ConsentRequired):
			missing = append(missing, p)
		case first == nil:
			first = err // the store is down: fail closed, take back all of it
		}
		refused[p] = true
	}
	if first != nil {
		for _, p := range purposes {
			refused[p] = true
		}
	} else if len(missing) > 0 {
		first = &consent.RequiredError{Purpose: missing[0], Purposes: missing}
	}
	if _, err := r.d.Assets.Asset(ctx, a.TenantID, a.ID); err != nil {
		first = err
		for _, s := range stored {
			refused[s.Purpose] = true
		}
	}
	var errs []error
	for _, s := range stored {
		switch {
		case refused[s.Purpose] && s.Undo != nil:
			errs = append(errs, s.Undo(ctx))
		case !refused[s.Purpose] && s.Commit != nil:
			errs = append(errs, s.Commit(ctx))
		}
	}
	if first != nil {
		return first
	}
	return errors.Join(errs...)
}
