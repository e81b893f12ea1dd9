// Package auth mints and verifies Obscura API keys and carries the
// authenticated principal through a request.
//
// An API key is "obs_" + key id + "_" + secret (docs/spec/api-key-v1.md). Only
// a keyed hash of the secret (the key service's PRF) is stored, so a stolen
// database does not yield usable keys and the plaintext key is shown exactly
// once, at creation. Verification compares hashes in constant time and fails
// the same way for an unknown id, a wrong secret, a revoked key or a deleted
// tenant, so responses do not reveal which keys exist.
//
// Does not protect against: a key leaked by its holder (revoke it), or
// brute force without rate limits in front (the secret has 256 bits, so
// guessing is not practical).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// Scope is a permission an API key carries. Values are persisted; append only.
type Scope string

// Scopes.
const (
	ScopeIngest  Scope = "ingest"  // request upload URLs, import
	ScopeAnalyze Scope = "analyze" // run analyses, read results
	ScopeAdmin   Scope = "admin"   // manage keys, consents, subjects, incident kit
)

// AllScopes lists every scope, in a stable order.
var AllScopes = []Scope{ScopeAdmin, ScopeAnalyze, ScopeIngest}

// ParseScope validates a scope name.
func ParseScope(s string) (Scope, error) {
	for _, sc := range AllScopes {
		if string(sc) == s {
			return sc, nil
		}
	}
	return "", fault.New(fault.Invalid, fmt.Sprintf("unknown scope %q (want admin, analyze or ingest)", s))
}

// Sentinel errors.
var (
	// ErrUnauthenticated: no usable credentials. Deliberately uninformative.
	ErrUnauthenticated = fault.New(fault.Unauthenticated, "missing or invalid API key")
	// ErrForbidden: the key lacks the scope the operation needs.
	ErrForbidden = fault.New(fault.Permission, "API key lacks the required scope")
)

const (
	keyPrefix   = "obs_"
	idLen       = 20 // base32 chars of the 12-byte key id
	secretLen   = 52 // base32 chars of the 32-byte secret
	hashDomain  = "api-key-secret"
	maxKeyBytes = 256
)

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Hasher computes keyed hashes; the keyring implements it.
type Hasher interface {
	HashID(domain, id string) string
}

// keyLookup is what authentication needs from the store.
type keyLookup interface {
	APIKeyForAuth(ctx context.Context, keyID string) (store.APIKey, error)
	Tenant(ctx context.Context, id string) (store.Tenant, error)
}

// Principal is who is calling.
type Principal struct {
	TenantID string
	KeyID    string
	Scopes   []Scope
}

// Has reports whether the principal carries scope s.
func (p Principal) Has(s Scope) bool { return slices.Contains(p.Scopes, s) }

// Authenticator verifies API keys.
type Authenticator struct {
	keys keyLookup
	hash Hasher
	clk  clock.Clock
}

// New returns an Authenticator.
func New(keys keyLookup, hash Hasher, clk clock.Clock) *Authenticator {
	return &Authenticator{keys: keys, hash: hash, clk: clk}
}

func random(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b32.EncodeToString(b)
}

// Mint creates a new key for tenant with scopes. It returns the plaintext key,
// to be shown once, and the record to store.
func Mint(h Hasher, tenantID string, scopes []Scope, now time.Time) (string, store.APIKey) {
	id, secret := random(12), random(32)
	ss := make([]string, len(scopes))
	for i, s := range scopes {
		ss[i] = string(s)
	}
	slices.Sort(ss)
	rec := store.APIKey{
		ID:         "key_" + id,
		TenantID:   tenantID,
		Scopes:     slices.Compact(ss),
		SecretHash: []byte(h.HashID(hashDomain, secret)),
		CreatedAt:  now.UTC(),
	}
	return keyPrefix + id + "_" + secret, rec
}

// ParseKey splits a presented key into its stored id and secret, checking
// only its shape. It never echoes the input in errors.
func ParseKey(key string) (id, secret string, err error) {
	if len(key) > maxKeyBytes || !strings.HasPrefix(key, keyPrefix) {
		return "", "", ErrUnauthenticated
	}
	rest := key[len(keyPrefix):]
	if len(rest) != idLen+1+secretLen || rest[idLen] != '_' {
		return "", "", ErrUnauthenticated
	}
	id, secret = rest[:idLen], rest[idLen+1:]
	for _, part := range []string{id, secret} {
		if _, err := b32.DecodeString(part); err != nil {
			return "", "", ErrUnauthenticated
		}
	}
	return "key_" + id, secret, nil
}

// Authenticate verifies an Authorization header value ("Bearer <key>").
func (a *Authenticator) Authenticate(ctx context.Context, header string) (Principal, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	id, secret, err := ParseKey(strings.TrimSpace(token))
	if err != nil {
		return Principal{}, err
	}
	rec, err := a.keys.APIKeyForAuth(ctx, id)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, fmt.Errorf("look up api key: %w", err)
	}
	want := a.hash.HashID(hashDomain, secret)
	if subtle.ConstantTimeCompare([]byte(want), rec.SecretHash) != 1 || rec.Revoked() {
		return Principal{}, ErrUnauthenticated
	}
	if _, err := a.keys.Tenant(ctx, rec.TenantID); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, fmt.Errorf("look up tenant: %w", err)
	}
	p := Principal{TenantID: rec.TenantID, KeyID: rec.ID}
	for _, s := range rec.Scopes {
		p.Scopes = append(p.Scopes, Scope(s))
	}
	return p, nil
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the request's principal. Handlers behind the auth
// middleware always have one; ok is false only for unauthenticated routes.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
