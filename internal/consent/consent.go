// Package consent holds Obscura's consent model: per-subject, per-purpose
// grants and revocations, each producing a signed, hash-chained receipt
// (docs/spec/consent-receipt-v1.md); the one enforcement gate every
// processing path calls; and revocation that purges what the purpose
// produced before it returns.
//
// Protects against: processing without consent (the gate fails closed:
// missing, revoked and expired consent are all "no"); consent records edited
// after the fact (receipts are Ed25519-signed by a tenant key held in the key
// service and chained per subject, verifiable offline); derived data
// outliving revocation (the purpose's scope key is crypto-shredded and its
// objects deleted; a purge journal written in the same transaction as the
// revocation resumes the purge after a crash).
//
// Does not protect against: an app that records consent the person never
// gave; receipts prove what the app told Obscura, not what the person meant.
package consent

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/store"
)

// RequiredError is the gate's refusal: the subject has not consented to
// Purpose. When several purposes were asked for at once (RequireEach),
// Purposes names every one that is missing, in the order asked, and
// Purpose is the first of them.
type RequiredError struct {
	Purpose  string
	Purposes []string
}

func (e *RequiredError) Error() string {
	if len(e.Purposes) > 1 {
		return "consent required for " + strings.Join(e.Purposes, ", ")
	}
	return "consent required for " + e.Purpose
}

// Missing returns every purpose the refusal names.
func (e *RequiredError) Missing() []string {
	if len(e.Purposes) > 0 {
		return e.Purposes
	}
	return []string{e.Purpose}
}

// Requirer is the one-purpose gate (Service.Require).
type Requirer interface {
	Require(ctx context.Context, tenant, subjectHash, purpose string) error
}

// RequireEach runs the gate for each purpose and refuses with one
// RequiredError naming every purpose that lacks consent, so a client learns
// in one answer all it must ask the subject for. Any other error (the store
// is down) is returned at once: the gate still fails closed.
func RequireEach(ctx context.Context, gate Requirer, tenant, subjectHash string, purposes []string) error {
	var missing []string
	for _, p := range purposes {
		err := gate.Require(ctx, tenant, subjectHash, p)
		var re *RequiredError
		switch {
		case err == nil:
		case errors.As(err, &re):
			for _, m := range re.Missing() {
				if !slices.Contains(missing, m) {
					missing = append(missing, m)
				}
			}
		default:
			return err
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &RequiredError{Purpose: missing[0], Purposes: missing}
}

// Is makes errors.Is(err, fault.ConsentRequired) true.
func (e *RequiredError) Is(target error) bool { return target == fault.ConsentRequired }

type consentStore interface {
	RecordConsent(ctx context.Context, tenantID, subjectHash string, build func(prevHash string) (store.ConsentChange, error)) error
	Consent(ctx context.Context, tenantID, subjectHash, purpose string) (store.Consent, error)
	Consents(ctx context.Context, tenantID, subjectHash string) ([]store.Consent, error)
	Receipts(ctx context.Context, tenantID, subjectHash string) ([]store.ReceiptRecord, error)
	PendingPurges(ctx context.Context) ([]store.Purge, error)
	FinishPurge(ctx context.Context, tenantID, subjectHash, purpose string) error
	ExpireConsents(ctx context.Context, t time.Time, limit int) ([]store.Consent, error)
	DeleteConsents(ctx context.Context, tenantID, subjectHash string) error
}

type keys interface {
	TenantSigner(ctx context.Context, tenant, use string) (*keyring.Signer, error)
	SubjectHash(subject string) string
}

// purger deletes what a purpose produced for a subject (crypto-shred first).
type purger interface {
	Shred(ctx context.Context, tenant, subjectHash, purpose string) (int, error)
}

// Service is the consent service.
type Service struct {
	st    consentStore
	keys  keys
	purge purger
	clk   clock.Clock
	log   *slog.Logger
	// AfterRevokeRecorded, if set, runs after a revocation is committed and
	// before its purge: the crash test's hook to kill the process there.
	AfterRevokeRecorded func()
	// OnExpired, if set, hears of each expired grant once its purpose is
	// purged (the composition root audits it).
	OnExpired func(ctx context.Context, tenant, subjectHash, purpose string)
	// PluginNotice, if set, says whether plugin <name> is installed, and
	// its notice (the manifest's description): a grant of plugin:<name>
	// for a plugin that is not installed is refused.
	PluginNotice func(ctx context.Context, name string) (string, error)
}

// New returns a Service.
func New(st consentStore, k keys, p purger, clk clock.Clock, log *slog.Logger) *Service {
	return &Service{st: st, keys: k, purge: p, clk: clk, log: log.With("component", "consent")}
}

// Grant is a grant request.
type Grant struct {
	Purpose   string
	Notice    string    // version of the notice text the subject saw
	ExpiresAt time.Time // zero: no expiry
}

func newReceiptID() string { return ident.New("rcpt_") }

func stamp(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// record signs and appends one receipt, setting the consent state.
func (s *Service) record(ctx context.Context, tenant, subjectHash string, r Receipt, c store.Consent, purge bool) (Receipt, error) {
	signer, err := s.keys.TenantSigner(ctx, tenant, "consent")
	if err != nil {
		return Receipt{}, err
	}
	err = s.st.RecordConsent(ctx, tenant, subjectHash, func(prev string) (store.ConsentChange, error) {
		r.PrevHash = prev
		sig, err := signer.Sign(r.SigningBytes())
		if err != nil {
			return store.ConsentChange{}, fault.Wrap(fault.Unavailable, "key service unavailable", err)
		}
		r.Signature = base64.StdEncoding.EncodeToString(sig)
		body, _ := json.Marshal(r)
		return store.ConsentChange{Receipt: store.ReceiptRecord{Hash: r.Hash(), Body: body}, Consent: c, Purge: purge}, nil
	})
	return r, err
}

// Grant records consent and returns its receipt.
func (s *Service) Grant(ctx context.Context, tenant, subject string, g Grant) (Receipt, error) {
	return s.GrantHash(ctx, tenant, s.keys.SubjectHash(subject), g, "api")
}

// GrantHash is Grant for a subject known by its keyed hash; method says
// where the subject gave it ("api": through the app; "privacy-center").
func (s *Service) GrantHash(ctx context.Context, tenant, h string, g Grant, method string) (Receipt, error) {
	p, err := Lookup(g.Purpose)
	if err != nil {
		return Receipt{}, err
	}
	if name, ok := strings.CutPrefix(p.Name, "plugin:"); ok && s.PluginNotice != nil {
		if _, err := s.PluginNotice(ctx, name); err != nil {
			return Receipt{}, err
		}
	}
	if g.Notice == "" || len(g.Notice) > 64 {
		return Receipt{}, fault.New(fault.Invalid, "notice_version must be 1 to 64 characters")
	}
	now := s.clk.Now()
	if !g.ExpiresAt.IsZero() {
		if !clock.InRange(g.ExpiresAt) {
			return Receipt{}, fault.New(fault.Invalid, "expires_at must be before "+clock.MaxTime.Format(time.DateOnly))
		}
		// The receipt states the expiry to the second; store exactly that.
		g.ExpiresAt = g.ExpiresAt.UTC().Truncate(time.Second)
		if !g.ExpiresAt.After(now) {
			return Receipt{}, fault.New(fault.Invalid, "expires_at must be in the future")
		}
	}
	r := Receipt{Version: 1, ID: newReceiptID(), Tenant: tenant, Subject: h, Purpose: p.Name, Notice: g.Notice,
		Action: ActionGrant, Method: method, Time: stamp(now)}
	if !g.ExpiresAt.IsZero() {
		r.Expires = stamp(g.ExpiresAt)
	}
	r, err = s.record(ctx, tenant, h, r, store.Consent{Purpose: p.Name, State: store.ConsentGranted, Notice: g.Notice, UpdatedAt: now, ExpiresAt: g.ExpiresAt}, false)
	if err != nil {
		return Receipt{}, err
	}
	s.log.Info("consent granted", "purpose", p.Name, "biometric", p.Biometric)
	return r, nil
}

// ErrNoConsent: there is nothing to revoke for this purpose.
var ErrNoConsent = fault.New(fault.NotFound, "no consent recorded for this purpose")

// Revoke withdraws consent: the revocation receipt, the state change and a
// purge journal entry are written in one transaction (from then on the gate
// refuses), then the purpose's data is purged, then the journal entry is
// cleared. Revoking again re-runs the purge and returns the last receipt.
// If the purge fails the consent stays revoked and the purge is retried by
// ResumePurges; the error is returned.
func (s *Service) Revoke(ctx context.Context, tenant, subject, purpose string) (Receipt, error) {
	return s.RevokeHash(ctx, tenant, s.keys.SubjectHash(subject), purpose, "api")
}

// RevokeHash is Revoke for a subject known by its keyed hash.
func (s *Service) RevokeHash(ctx context.Context, tenant, h, purpose, method string) (Receipt, error) {
	p, err := Lookup(purpose)
	if err != nil {
		return Receipt{}, err
	}
	cur, err := s.st.Consent(ctx, tenant, h, p.Name)
	if errors.Is(err, fault.NotFound) {
		return Receipt{}, ErrNoConsent
	}
	if err != nil {
		return Receipt{}, err
	}
	var r Receipt
	if cur.State == store.ConsentRevoked {
		rs, err := s.receipts(ctx, tenant, h)
		if err != nil {
			return Receipt{}, err
		}
		for _, x := range rs {
			if x.Purpose == p.Name && x.Action == ActionRevoke {
				r = x
			}
		}
	} else {
		now := s.clk.Now()
		r = Receipt{Version: 1, ID: newReceiptID(), Tenant: tenant, Subject: h, Purpose: p.Name, Notice: cur.Notice,
			Action: ActionRevoke, Method: method, Time: stamp(now)}
		if r, err = s.record(ctx, tenant, h, r, store.Consent{Purpose: p.Name, State: store.ConsentRevoked, Notice: cur.Notice, UpdatedAt: now}, true); err != nil {
			return Receipt{}, err
		}
		if s.AfterRevokeRecorded != nil {
			s.AfterRevokeRecorded()
		}
	}
	if err := s.runPurge(ctx, tenant, h, p.Name); err != nil {
		return Receipt{}, fmt.Errorf("consent revoked, purge pending: %w", err)
	}
	s.log.Info("consent revoked and purged", "purpose", p.Name)
	return r, nil
}

func (s *Service) runPurge(ctx context.Context, tenant, subjectHash, purpose string) error {
	n, err := s.purge.Shred(ctx, tenant, subjectHash, purpose)
	if err != nil {
		return err
	}
	s.log.Info("purge done", "purpose", purpose, "objects", n)
	return s.st.FinishPurge(ctx, tenant, subjectHash, purpose)
}

// ResumePurges finishes purges interrupted by a crash. serve runs it at start.
func (s *Service) ResumePurges(ctx context.Context) (int, error) {
	ps, err := s.st.PendingPurges(ctx)
	if err != nil {
		return 0, err
	}
	for i, p := range ps {
		if err := s.runPurge(ctx, p.TenantID, p.SubjectHash, p.Purpose); err != nil {
			return i, err
		}
	}
	return len(ps), nil
}

// Sweep purges consents whose grant expired, exactly like a revocation:
// each is marked expired with a purge journal entry in one transaction
// (from then on the gate refuses, as it already did past expires_at),
// then the purpose's data is purged — biometric templates included —
// and the entry cleared. At most limit per call; a crash in between is
// finished by ResumePurges. The job queue runs it periodically.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	cs, err := s.st.ExpireConsents(ctx, s.clk.Now(), limit)
	if err != nil {
		return 0, err
	}
	for i, c := range cs {
		if err := s.runPurge(ctx, c.TenantID, c.SubjectHash, c.Purpose); err != nil {
			return i, fmt.Errorf("consent expired, purge pending: %w", err)
		}
		s.log.Info("consent expired and purged", "purpose", c.Purpose)
		if s.OnExpired != nil {
			s.OnExpired(ctx, c.TenantID, c.SubjectHash, c.Purpose)
		}
	}
	return len(cs), nil
}

// Name implements derived.Kind: consent states (receipts stay after an
// erasure, holding only the keyed hash, as the proof of what was
// consented and when).
func (s *Service) Name() string { return "consents" }

// ForgetAsset implements derived.Kind: consent is not per photo.
func (s *Service) ForgetAsset(context.Context, string, string) error { return nil }

// ForgetPurpose implements derived.Kind: the state records the revocation
// or expiry itself, so it stays.
func (s *Service) ForgetPurpose(context.Context, string, string, string) error { return nil }

// ForgetSubject implements derived.Kind: the subject's consent states.
func (s *Service) ForgetSubject(ctx context.Context, tenant, subjectHash string) error {
	return s.st.DeleteConsents(ctx, tenant, subjectHash)
}

// Export implements derived.Kind: consents.json, the same shapes as
// GET /v1/subjects/{subject}/consents.
func (s *Service) Export(ctx context.Context, tenant, subjectHash string, b derived.Bundle) error {
	states, receipts, err := s.ListByHash(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	if receipts == nil {
		receipts = []Receipt{}
	}
	doc, err := json.MarshalIndent(map[string]any{"consents": states, "receipts": receipts}, "", "  ")
	if err != nil {
		return err
	}
	return b.Add("consents.json", doc)
}

// Held implements derived.Kind: the subject's consent states.
func (s *Service) Held(ctx context.Context, tenant, subjectHash string) (int, error) {
	cs, err := s.st.Consents(ctx, tenant, subjectHash)
	return len(cs), err
}

// Require is the gate: nil only if the subject (by keyed hash) has a granted,
// unexpired consent to purpose. Every processing path calls it before it
// touches pixels or derived data.
func (s *Service) Require(ctx context.Context, tenant, subjectHash, purpose string) error {
	c, err := s.st.Consent(ctx, tenant, subjectHash, purpose)
	if errors.Is(err, fault.NotFound) {
		return &RequiredError{Purpose: purpose}
	}
	if err != nil {
		return err // store down: fail closed with its error
	}
	if c.State != store.ConsentGranted || (!c.ExpiresAt.IsZero() && !s.clk.Now().Before(c.ExpiresAt)) {
		return &RequiredError{Purpose: purpose}
	}
	return nil
}

// State is one purpose's consent as reported to clients.
type State struct {
	Purpose       string     `json:"purpose"`
	State         string     `json:"state" enum:"granted,revoked,expired"`
	NoticeVersion string     `json:"notice_version"`
	UpdatedAt     time.Time  `json:"updated_at"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	Biometric     bool       `json:"biometric"`
}

func (s *Service) receipts(ctx context.Context, tenant, subjectHash string) ([]Receipt, error) {
	recs, err := s.st.Receipts(ctx, tenant, subjectHash)
	if err != nil {
		return nil, err
	}
	out := make([]Receipt, 0, len(recs))
	for _, rec := range recs {
		var r Receipt
		if err := json.Unmarshal(rec.Body, &r); err != nil {
			return nil, fmt.Errorf("stored receipt %d: %w", rec.Seq, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// List returns the subject's consent states and all receipts, oldest first.
func (s *Service) List(ctx context.Context, tenant, subject string) ([]State, []Receipt, error) {
	return s.ListByHash(ctx, tenant, s.keys.SubjectHash(subject))
}

// ListByHash is List for a subject already hashed.
func (s *Service) ListByHash(ctx context.Context, tenant, h string) ([]State, []Receipt, error) {
	cs, err := s.st.Consents(ctx, tenant, h)
	if err != nil {
		return nil, nil, err
	}
	states := make([]State, 0, len(cs))
	now := s.clk.Now()
	for _, c := range cs {
		st := State{Purpose: c.Purpose, State: c.State, NoticeVersion: c.Notice, UpdatedAt: c.UpdatedAt}
		if !c.ExpiresAt.IsZero() {
			e := c.ExpiresAt
			st.ExpiresAt = &e
			if c.State == store.ConsentGranted && !now.Before(e) {
				st.State = "expired"
			}
		}
		if p, err := Lookup(c.Purpose); err == nil {
			st.Biometric = p.Biometric
		}
		states = append(states, st)
	}
	rs, err := s.receipts(ctx, tenant, h)
	return states, rs, err
}

// PublicKey returns the tenant's receipt-signing public key.
func (s *Service) PublicKey(ctx context.Context, tenant string) (ed25519.PublicKey, error) {
	signer, err := s.keys.TenantSigner(ctx, tenant, "consent")
	if err != nil {
		return nil, err
	}
	return signer.PublicKey(), nil
}
