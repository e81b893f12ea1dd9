package incident

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/subject"
)

// PurgeScope is what a purge covers, inside one tenant: one subject (by
// keyed hash), the photos created in [From, To), or — neither given —
// every subject of the tenant.
type PurgeScope struct {
	Tenant      string
	SubjectHash string
	From, To    time.Time
}

// Validate reports a scope that names both a subject and a range, or a
// range that is empty or half given.
func (sc PurgeScope) Validate() error {
	switch {
	case sc.Tenant == "":
		return fault.New(fault.Invalid, "a purge needs a tenant")
	case sc.From.IsZero() != sc.To.IsZero():
		return fault.New(fault.Invalid, "a purge range needs both from and to")
	case !sc.From.IsZero() && !sc.From.Before(sc.To):
		return fault.New(fault.Invalid, "a purge range needs from before to")
	case !sc.From.IsZero() && sc.SubjectHash != "":
		return fault.New(fault.Invalid, "a purge covers a subject or a time range, not both")
	}
	return nil
}

// Describe is the scope in words for the audit detail: a fixed
// vocabulary, never an id.
func (sc PurgeScope) Describe() string {
	switch {
	case sc.SubjectHash != "":
		return "subject"
	case !sc.From.IsZero():
		return "range"
	}
	return "tenant"
}

// PurgeReport counts what a purge would delete (dry run) or deleted.
type PurgeReport struct {
	DryRun   bool `json:"dry_run"`
	Subjects int  `json:"subjects"`
	Photos   int  `json:"photos"`
}

type purgeStore interface {
	TenantSubjects(ctx context.Context, tenantID string) ([]string, error)
	TenantAssets(ctx context.Context, tenantID string, from, to time.Time) ([]store.Asset, error)
	SubjectAssets(ctx context.Context, tenantID, subjectHash string) ([]store.Asset, error)
}

type subjectEraser interface {
	EraseHash(ctx context.Context, tenant, h string) (subject.Erased, error)
}

type photoDeleter interface {
	Delete(ctx context.Context, tenant, id string) error
}

// Purger deletes data in bulk for the incident kit (CLI and operator
// console), through the derived-data registry (package derived): a
// subject's purge is its erasure (every scope key destroyed first, then
// every kind forgets the subject); a range purge deletes each photo, and
// every kind forgets what was derived from it. Both are idempotent: an interrupted
// purge is finished by running it again.
type Purger struct {
	Store    purgeStore
	Subjects subjectEraser
	Photos   photoDeleter
}

// everything is the range that covers every photo (times are stored as
// Unix nanoseconds, which end in 2262).
var everything = [2]time.Time{time.Unix(0, 0), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}

// plan lists the subjects to erase and the photos to delete on their own.
func (p *Purger) plan(ctx context.Context, sc PurgeScope) (subjects []string, photos []store.Asset, counted int, err error) {
	if err := sc.Validate(); err != nil {
		return nil, nil, 0, err
	}
	switch {
	case sc.SubjectHash != "":
		as, err := p.Store.SubjectAssets(ctx, sc.Tenant, sc.SubjectHash)
		return []string{sc.SubjectHash}, nil, len(as), err
	case !sc.From.IsZero():
		as, err := p.Store.TenantAssets(ctx, sc.Tenant, sc.From, sc.To)
		return nil, as, len(as), err
	}
	hs, err := p.Store.TenantSubjects(ctx, sc.Tenant)
	if err != nil {
		return nil, nil, 0, err
	}
	as, err := p.Store.TenantAssets(ctx, sc.Tenant, everything[0], everything[1])
	return hs, nil, len(as), err
}

// DryRun counts what Run would delete and deletes nothing.
func (p *Purger) DryRun(ctx context.Context, sc PurgeScope) (PurgeReport, error) {
	hs, _, n, err := p.plan(ctx, sc)
	if err != nil {
		return PurgeReport{}, err
	}
	return PurgeReport{DryRun: true, Subjects: len(hs), Photos: n}, nil
}

// Run purges the scope. On error, what is reported was already deleted.
func (p *Purger) Run(ctx context.Context, sc PurgeScope) (PurgeReport, error) {
	hs, photos, n, err := p.plan(ctx, sc)
	if err != nil {
		return PurgeReport{}, err
	}
	var rep PurgeReport
	for _, h := range hs {
		if _, err := p.Subjects.EraseHash(ctx, sc.Tenant, h); err != nil {
			return rep, fmt.Errorf("purge stopped (run it again to finish): %w", err)
		}
		rep.Subjects++
	}
	if len(hs) > 0 {
		rep.Photos = n
	}
	for _, a := range photos {
		if err := p.Photos.Delete(ctx, sc.Tenant, a.ID); err != nil && !errors.Is(err, fault.NotFound) {
			return rep, fmt.Errorf("purge stopped (run it again to finish): %w", err)
		}
		rep.Photos++
	}
	return rep, nil
}
