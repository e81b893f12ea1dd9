// Package op is the contract between the API core (package api: router,
// middleware, authentication, audit, the problem+json table) and the
// packages that register one resource family's /v1 operations
// (api/photos, api/consents, api/recognition, api/generated,
// api/learning, api/admin).
//
// A resource package receives a Host and the services it needs, registers
// its huma operations on Host.Huma(), reads the caller only through
// Principal (set by the core's auth middleware, so a tenant id never comes
// from the request) and turns every error into a problem through
// Host.Fail, which uses the core's one error table.
package op

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
)

// Host is what a resource package needs from the API core.
type Host interface {
	// Huma is the API the operations are registered on.
	Huma() huma.API
	// HandleFunc registers a plain net/http route (the token routes that
	// carry no API key); the handler audits itself with AuditPlain.
	HandleFunc(pattern string, h http.HandlerFunc)
	// Fail converts a handler error into the problem huma writes (nil
	// stays nil), recording its code for the audit entry.
	Fail(ctx context.Context, err error) error
	// WriteProblem answers a plain route's request with err's problem.
	WriteProblem(w http.ResponseWriter, r *http.Request, err error)
	// Admit holds one unit of the analysis admission gate; release it
	// when the expensive operation is done.
	Admit(ctx context.Context) (release func(), err error)
	// IntentEntry is the intent entry of operation name by the request's
	// principal; subject and id are raw and recorded only as keyed hashes.
	IntentEntry(ctx context.Context, name, subject, id, purpose string) audit.Entry
	// Intent durably appends an intent entry, or fails with
	// api.ErrAuditUnavailable (nothing may change then).
	Intent(ctx context.Context, e audit.Entry) error
	// SetAuditPurpose records the purpose of an operation whose purpose is
	// in its body, for the operation's audit entry.
	SetAuditPurpose(ctx context.Context, purpose string)
	// AuditPlain records a request to one of the plain routes.
	AuditPlain(ctx context.Context, action string, start time.Time, e audit.Entry, err error)
	// LimitAddr applies the per-client-address limit of class to a request
	// that carries no API key.
	LimitAddr(r *http.Request, class string) error
	// HashID is the keyed hash of id in domain (audit and log records).
	HashID(domain, id string) string
	// Now is the injected clock's time.
	Now() time.Time
	// PublicURL is the base of upload and download URLs.
	PublicURL() string
}

// IntentInHandler is operation metadata: the handler appends its own
// intent entry (it needs something from the body), not the middleware.
const IntentInHandler = "intent_in_handler"

// SecurityScheme is the OpenAPI name of the bearer API key scheme.
const SecurityScheme = "apiKey"

// Secured is the security requirement of an operation that needs scope s.
func Secured(s auth.Scope) []map[string][]string {
	return []map[string][]string{{SecurityScheme: {string(s)}}}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated principal (the
// core's auth middleware calls it).
func WithPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// Principal is the request's authenticated principal, or the zero value
// for a public operation.
func Principal(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	return p
}
