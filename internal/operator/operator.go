// Package operator is the one implementation of the operator actions —
// create and revoke API keys, revoke every key of a tenant, rotate, rewrap
// and revoke key-encryption-key versions, set the minimum decryption
// version, and flip kill switches — used alike by the API, the operator
// console and the CLI.
//
// Every action is audited the same way: an intent entry is appended
// durably before anything changes (if the audit log cannot take it the
// action is refused with ErrAuditUnavailable, a fault.Unavailable that the
// API answers with 503 and the console and CLI report), then the action
// runs, then an outcome entry records its result. Entries are named
// "<channel>.<action>" (e.g. "console.key.create", "cli.kek.rotate"), with
// ".intent" appended for the intent, so an auditor can tell where an
// action came from and every channel's trail has the same shape.
//
// It protects against an operator change without a trace and against the
// channels drifting apart (scope de-duplication, validation). It does not
// authenticate or authorise: the caller has established who acts, for
// which tenant, before calling.
package operator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Action names, appended to the channel in audit entries. Append-only:
// auditors search for them.
const (
	ActionKeyCreate     = "key.create"
	ActionKeyRevoke     = "key.revoke"
	ActionKeysRevokeAll = "keys.revoke_all"
	ActionKEKRotate     = "kek.rotate"
	ActionKEKRewrap     = "kek.rewrap"
	ActionKEKRevoke     = "kek.revoke"
	ActionKEKMinVersion = "kek.min_version"
	ActionKillSwitchOn  = "kill_switch.on"
	ActionKillSwitchOff = "kill_switch.off"
)

// Channels an action comes from.
const (
	ChannelAPI     = "api"
	ChannelConsole = "console"
	ChannelCLI     = "cli"
)

// ErrAuditUnavailable refuses an action whose intent could not be
// audited: nothing was changed.
var ErrAuditUnavailable = fault.New(fault.Unavailable, "audit log unavailable; nothing was changed")

// By says who acts: the channel (ChannelAPI, ChannelConsole, ChannelCLI)
// and the actor within it (an API key id, a console session's key id, or
// "cli").
type By struct {
	Channel string
	Actor   string
}

// keyStore is what the actions need from the store.
type keyStore interface {
	APIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error)
	APIKey(ctx context.Context, tenantID, keyID string) (store.APIKey, error)
	CreateAPIKey(ctx context.Context, k store.APIKey) error
	RevokeAPIKey(ctx context.Context, tenantID, keyID string, at time.Time) error
}

// keyService is what the actions need from the key service.
type keyService interface {
	auth.Hasher
	Rotate(ctx context.Context, tenant string) (int, error)
	Rewrap(ctx context.Context, tenant string, progress func(done, total int)) (int, error)
	RevokeKEK(ctx context.Context, tenant string, version int) error
	SetMinDecryptionVersion(ctx context.Context, tenant string, v int) error
}

// killSwitches sets a kill switch and returns its scope.
type killSwitches interface {
	Set(ctx context.Context, tenant, feature string, on bool) (string, error)
}

// auditLog appends entries durably.
type auditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Service performs operator actions.
type Service struct {
	store keyStore
	keys  keyService
	kill  killSwitches
	audit auditLog
	clk   clock.Clock
	log   *slog.Logger
	prov  provenanceKeys
}

// New returns the service.
func New(st keyStore, keys keyService, kill killSwitches, al auditLog, clk clock.Clock, log *slog.Logger) *Service {
	return &Service{store: st, keys: keys, kill: kill, audit: al, clk: clk, log: log.With("component", "operator")}
}

// Scopes parses scope names, dropping repeats, and requires at least one.
func Scopes(names []string) ([]auth.Scope, error) {
	var out []auth.Scope
	for _, n := range names {
		sc, err := auth.ParseScope(strings.TrimSpace(n))
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, fault.New(fault.Invalid, "at least one scope is required (admin, analyze, ingest)")
	}
	return out, nil
}

// CreateKey mints an API key with scopes (repeats dropped) for tenant and
// returns the plaintext key, to be shown once, and its record.
func (s *Service) CreateKey(ctx context.Context, by By, tenant string, scopes []auth.Scope) (string, store.APIKey, error) {
	var uniq []auth.Scope
	for _, sc := range scopes {
		if !slices.Contains(uniq, sc) {
			uniq = append(uniq, sc)
		}
	}
	if len(uniq) == 0 {
		return "", store.APIKey{}, fault.New(fault.Invalid, "at least one scope is required (admin, analyze, ingest)")
	}
	var plain string
	var rec store.APIKey
	err := s.do(ctx, by, tenant, ActionKeyCreate, func() (string, error) {
		plain, rec = auth.Mint(s.keys, tenant, uniq, s.clk.Now())
		if err := s.store.CreateAPIKey(ctx, rec); err != nil {
			return "", fmt.Errorf("create key: %w", err)
		}
		return strings.Join(rec.Scopes, ","), nil
	})
	if err != nil {
		return "", store.APIKey{}, err
	}
	return plain, rec, nil
}

// RevokeKey revokes tenant's API key id and returns its record.
func (s *Service) RevokeKey(ctx context.Context, by By, tenant, id string) (store.APIKey, error) {
	var k store.APIKey
	err := s.do(ctx, by, tenant, ActionKeyRevoke, func() (string, error) {
		if err := s.store.RevokeAPIKey(ctx, tenant, id, s.clk.Now()); err != nil {
			return "", err
		}
		var err error
		k, err = s.store.APIKey(ctx, tenant, id)
		return "", err
	})
	return k, err
}

// RevokeAllKeys revokes every live API key of tenant and returns how many.
func (s *Service) RevokeAllKeys(ctx context.Context, by By, tenant string) (int, error) {
	n := 0
	err := s.do(ctx, by, tenant, ActionKeysRevokeAll, func() (string, error) {
		ks, err := s.store.APIKeys(ctx, tenant)
		if err != nil {
			return "", err
		}
		for _, k := range ks {
			if k.Revoked() {
				continue
			}
			if err := s.store.RevokeAPIKey(ctx, tenant, k.ID, s.clk.Now()); err != nil {
				return strconv.Itoa(n), err
			}
			n++
		}
		return strconv.Itoa(n), nil
	})
	return n, err
}

// RotateKEK creates tenant's next KEK version and returns it.
func (s *Service) RotateKEK(ctx context.Context, by By, tenant string) (int, error) {
	v := 0
	err := s.do(ctx, by, tenant, ActionKEKRotate, func() (string, error) {
		var err error
		v, err = s.keys.Rotate(ctx, tenant)
		return strconv.Itoa(v), err
	})
	return v, err
}

// Rewrap moves tenant's data keys under the newest KEK version and returns
// how many moved. It is resumable: when ctx ends it returns the count so
// far with ctx's error, and the outcome entry records that count.
func (s *Service) Rewrap(ctx context.Context, by By, tenant string, progress func(done, total int)) (int, error) {
	n := 0
	err := s.do(ctx, by, tenant, ActionKEKRewrap, func() (string, error) {
		var err error
		n, err = s.keys.Rewrap(ctx, tenant, progress)
		return strconv.Itoa(n), err
	})
	return n, err
}

// RevokeKEK disables tenant's KEK version.
func (s *Service) RevokeKEK(ctx context.Context, by By, tenant string, version int) error {
	return s.do(ctx, by, tenant, ActionKEKRevoke, func() (string, error) {
		return strconv.Itoa(version), s.keys.RevokeKEK(ctx, tenant, version)
	})
}

// SetMinVersion makes every KEK version of tenant below v unusable.
func (s *Service) SetMinVersion(ctx context.Context, by By, tenant string, v int) error {
	return s.do(ctx, by, tenant, ActionKEKMinVersion, func() (string, error) {
		return strconv.Itoa(v), s.keys.SetMinDecryptionVersion(ctx, tenant, v)
	})
}

// SetKillSwitch stops (on) or resumes processing: for every tenant
// (tenant ""), one tenant, or one feature of either. It returns the
// switch's scope.
func (s *Service) SetKillSwitch(ctx context.Context, by By, tenant, feature string, on bool) (string, error) {
	action := ActionKillSwitchOff
	if on {
		action = ActionKillSwitchOn
	}
	var sc string
	err := s.do(ctx, by, tenant, action, func() (string, error) {
		var err error
		sc, err = s.kill.Set(ctx, tenant, feature, on)
		return sc, err
	})
	return sc, err
}

// do runs one action between its intent and its outcome entry. The intent
// must be durable before act runs; the outcome is best effort (the action
// has happened; a failed append is logged).
func (s *Service) do(ctx context.Context, by By, tenant, action string, act func() (detail string, err error)) error {
	name := by.Channel + "." + action
	actor := by.Actor
	if actor == "" {
		actor = by.Channel
	}
	// Detached from the caller: a client hanging up must not lose the entry.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	intent := audit.Entry{Action: name + ".intent", Tenant: tenant, Actor: actor, Result: audit.ResultOK}
	if err := s.audit.Append(actx, intent); err != nil {
		s.log.Error("AUDIT APPEND FAILED; operator action refused", "action", name, "err", err)
		return ErrAuditUnavailable
	}
	detail, err := act()
	out := audit.Entry{Action: name, Tenant: tenant, Actor: actor, Result: audit.ResultOK, Detail: detail}
	if err != nil {
		out.Result = audit.ResultError
		if errors.Is(err, fault.NotFound) || errors.Is(err, fault.Conflict) || errors.Is(err, fault.Invalid) {
			out.Result = audit.ResultDenied
		}
	}
	if aerr := s.audit.Append(actx, out); aerr != nil {
		s.log.Error("AUDIT APPEND FAILED after operator action", "action", name, "err", aerr)
	}
	return err
}
