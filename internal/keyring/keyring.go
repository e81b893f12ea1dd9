// Package keyring is Obscura's key service. It holds every key Obscura uses
// and performs operations with them; no method returns key bytes.
//
// Hierarchy (docs/spec/keys-v1.md):
//
//	root key (local master key, or a KMS key: Vault Transit, AWS KMS, GCP KMS)
//	└── tenant KEK, versioned (Tink AES-256-GCM keyset, stored encrypted under the root)
//	    └── scope key per (subject) or (subject, purpose) (32 bytes, stored wrapped by a KEK version)
//	        └── object DEK (32 bytes, wrapped by the scope key inside each envelope)
//	system PRF (Tink HMAC-SHA256 PRF keyset, stored encrypted under the root): keyed hashes
//	of subject ids and API key secrets.
//
// Protects against: theft of the database or blob store without the root key
// (everything is ciphertext); reuse of a wrapped key for another object,
// scope or tenant (every wrap binds its context as AAD); use of a revoked or
// below-minimum KEK version (typed ErrKeyRevoked, never garbage); recovery of
// a destroyed scope: on SQLite the only wrapped copy is deleted with
// secure_delete and the WAL truncated; on a database that keeps deleted rows
// (Postgres dead tuples, WAL, backups) scope keys are also wrapped under a
// shred key held outside the database (Options.Shred, keys-v2), and
// destroying a scope key rotates its shred key and destroys the old one
// there, so every copy the database keeps is under a destroyed key.
//
// Does not protect against: an attacker who holds the root key and the
// database; a compromised running process (decrypted KEKs and shred keys are
// cached in memory for CacheTTL); without shred keys, copies of the database
// made before a key was destroyed; with them, a copy of the shred key store
// made before, together with a database copy of that time (back the two up
// together, under the erasure promise's retention).
package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/ident"
	"github.com/obscuraproject/obscura/internal/store"
)

// Sentinel errors. Callers check them with errors.Is.
var (
	// ErrKeyRevoked: the KEK version needed is revoked or below the tenant's
	// minimum decryption version. Data under it is unreadable until an
	// operator restores the version; it is never returned as garbage.
	ErrKeyRevoked = fault.New(fault.KeyRevoked, "key version revoked")
	// ErrKeyDestroyed: the scope key was destroyed (crypto-shredded); data
	// under it is gone for good.
	ErrKeyDestroyed = fault.New(fault.NotFound, "key destroyed")
	// ErrUnavailable: the root key (KMS) could not be used; fail closed.
	ErrUnavailable = fault.New(fault.Unavailable, "key service unavailable")
)

// keyStore is what the keyring needs from the metadata store.
type keyStore interface {
	store.Keys
	Tenant(ctx context.Context, id string) (store.Tenant, error)
	SetMinKEKVersion(ctx context.Context, tenantID string, v int) error
}

// Scope names a scope key: a subject's own key (Purpose "") or the key of
// one purpose's derived data for one subject. Subject is the keyed hash.
type Scope struct {
	Tenant  string
	Subject string
	Purpose string
}

// Options tunes the keyring.
type Options struct {
	// CacheTTL bounds how long a KEK decrypted from the root stays in memory.
	// With a remote KMS root it is also how long a KMS outage goes unnoticed.
	CacheTTL time.Duration
	// Shred, if set, is where shred keys live (keys-v2): new scope keys are
	// wrapped under one as well, and Destroy rotates it. Required with a
	// store whose deleted rows survive on disk (Postgres); the store must
	// then implement store.ScopeKeyWraps. Nil keeps keys-v1 wrapping.
	Shred ShredKeys
}

// Keyring is the key service.
type Keyring struct {
	root tink.AEAD
	st   keyStore
	clk  clock.Clock
	log  *slog.Logger
	ttl  time.Duration
	prf  *prf.Set
	tok  tink.AEAD

	shred ShredKeys
	wraps store.ScopeKeyWraps

	mu         sync.Mutex
	cache      map[kekRef]cachedKEK
	shredCache map[string]cachedKEK
	signers    map[string]*Signer
}

type kekRef struct {
	tenant  string
	version int
}

type cachedKEK struct {
	aead    tink.AEAD
	expires time.Time
}

const (
	prfKeysetName   = "id-prf-v1"
	tokenKeysetName = "token-aead-v1"
	kekAADPrefix    = "obscura/kek/v1\x00"
	scopeAADLabel   = "obscura/scope-key/v1"
	scopeKeySize    = 32
)

// New returns a keyring over root and st, creating the system PRF keyset on first use.
func New(ctx context.Context, root tink.AEAD, st keyStore, clk clock.Clock, log *slog.Logger, opt Options) (*Keyring, error) {
	if opt.CacheTTL <= 0 {
		opt.CacheTTL = 5 * time.Minute
	}
	k := &Keyring{root: root, st: st, clk: clk, log: log.With("component", "keyring"), ttl: opt.CacheTTL,
		cache: map[kekRef]cachedKEK{}, shredCache: map[string]cachedKEK{}, signers: map[string]*Signer{}}
	if opt.Shred != nil {
		w, ok := st.(store.ScopeKeyWraps)
		if !ok {
			return nil, fmt.Errorf("keyring: shred keys need a store that implements store.ScopeKeyWraps, %T does not", st)
		}
		k.shred, k.wraps = opt.Shred, w
	}
	h, err := k.systemKeyset(ctx, prfKeysetName, prf.HMACSHA256PRFKeyTemplate())
	if err != nil {
		return nil, err
	}
	if k.prf, err = prf.NewPRFSet(h); err != nil {
		return nil, fmt.Errorf("system prf: %w", err)
	}
	if h, err = k.systemKeyset(ctx, tokenKeysetName, aead.AES256GCMKeyTemplate()); err != nil {
		return nil, err
	}
	if k.tok, err = aead.New(h); err != nil {
		return nil, fmt.Errorf("token aead: %w", err)
	}
	return k, nil
}

// TokenAEAD is the installation-wide AEAD for short-lived tokens (upload and
// download URLs). Callers bind each token kind with its own associated data.
func (k *Keyring) TokenAEAD() tink.AEAD { return k.tok }

func (k *Keyring) systemKeyset(ctx context.Context, name string, tmpl *tinkpb.KeyTemplate) (*keyset.Handle, error) {
	aad := []byte("obscura/system-keyset/v1\x00" + name)
	ct, err := k.st.SystemKeyset(ctx, name)
	if errors.Is(err, fault.NotFound) {
		h, err := keyset.NewHandle(tmpl)
		if err != nil {
			return nil, fmt.Errorf("new prf keyset: %w", err)
		}
		var buf bytes.Buffer
		if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), k.root, aad); err != nil {
			return nil, fault.Wrap(fault.Unavailable, "key service unavailable", err)
		}
		err = k.st.CreateSystemKeyset(ctx, name, buf.Bytes(), k.clk.Now())
		if err != nil && !errors.Is(err, fault.Conflict) {
			return nil, fmt.Errorf("store prf keyset: %w", err)
		}
		// Conflict: another process won the race; fall through and read theirs.
		if ct, err = k.st.SystemKeyset(ctx, name); err != nil {
			return nil, fmt.Errorf("read %s keyset: %w", name, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read %s keyset: %w", name, err)
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(ct)), k.root, aad)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "cannot open system keyset with this root key (wrong master key?): "+
			"this node's root key differs from the installation's; every node needs the same master key "+
			"(master_key_file or OBSCURA_MASTER_KEY) or the same KMS key", err)
	}
	return h, nil
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// HashID returns a keyed hash of id in the given domain ("subject", "api-key",
// …). The same id in different domains hashes differently. The output is
// stable for the life of the installation and safe to store and log.
func (k *Keyring) HashID(domain, id string) string {
	in := make([]byte, 0, len(domain)+1+len(id))
	in = append(append(append(in, domain...), 0), id...)
	out, err := k.prf.ComputePrimaryPRF(in, 20)
	if err != nil {
		// HMAC-SHA256 with a 20-byte output cannot fail once the set exists.
		panic(fmt.Sprintf("keyring: prf: %v", err))
	}
	return b32.EncodeToString(out)
}

// Ping checks that the root key is usable (for /readyz).
func (k *Keyring) Ping(ctx context.Context) error {
	probe := []byte("obscura-ping")
	ct, err := k.root.Encrypt(probe, probe)
	if err == nil {
		_, err = k.root.Decrypt(ct, probe)
	}
	if err != nil {
		return fault.Wrap(fault.Unavailable, "key service unavailable", err)
	}
	return nil
}

// VersionInfo describes one KEK version; it never includes key material.
type VersionInfo struct {
	Version   int            `json:"version"`
	State     store.KEKState `json:"state"`
	CreatedAt time.Time      `json:"created_at"`
	Primary   bool           `json:"primary"`
	Usable    bool           `json:"usable"`
}

func kekAAD(tenant string, version int) []byte {
	return fmt.Appendf(nil, "%s%s\x00%d", kekAADPrefix, tenant, version)
}

// InitTenant creates the tenant's first KEK version if it has none.
func (k *Keyring) InitTenant(ctx context.Context, tenant string) error {
	vs, err := k.st.KEKVersions(ctx, tenant)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return nil
	}
	_, err = k.addVersion(ctx, tenant, 1)
	if errors.Is(err, fault.Conflict) {
		return nil
	}
	return err
}

func (k *Keyring) addVersion(ctx context.Context, tenant string, v int) (int, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return 0, fmt.Errorf("new kek: %w", err)
	}
	var buf bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), k.root, kekAAD(tenant, v)); err != nil {
		return 0, fault.Wrap(fault.Unavailable, "key service unavailable", err)
	}
	err = k.st.CreateKEKVersion(ctx, store.KEKVersion{TenantID: tenant, Version: v, State: store.KEKActive, CreatedAt: k.clk.Now(), Keyset: buf.Bytes()})
	if err != nil {
		return 0, fmt.Errorf("store kek v%d: %w", v, err)
	}
	k.log.Info("kek version created", "version", v)
	return v, nil
}

// Rotate adds a new KEK version for the tenant; new wraps use it, old
// versions still unwrap. It returns the new version.
func (k *Keyring) Rotate(ctx context.Context, tenant string) (int, error) {
	if _, err := k.st.Tenant(ctx, tenant); err != nil {
		return 0, err
	}
	vs, err := k.st.KEKVersions(ctx, tenant)
	if err != nil {
		return 0, err
	}
	next := 1
	if len(vs) > 0 {
		next = vs[len(vs)-1].Version + 1
	}
	return k.addVersion(ctx, tenant, next)
}

// Versions lists the tenant's KEK versions.
func (k *Keyring) Versions(ctx context.Context, tenant string) ([]VersionInfo, error) {
	t, vs, err := k.tenantVersions(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]VersionInfo, len(vs))
	primary := primaryVersion(vs)
	for i, v := range vs {
		out[i] = VersionInfo{Version: v.Version, State: v.State, CreatedAt: v.CreatedAt, Primary: v.Version == primary,
			Usable: v.State == store.KEKActive && v.Version >= t.MinKEKVersion}
	}
	return out, nil
}

// primaryVersion is the newest active version, or 0.
func primaryVersion(vs []store.KEKVersion) int {
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].State == store.KEKActive {
			return vs[i].Version
		}
	}
	return 0
}

// RevokeKEK makes a version unusable for wrap and unwrap. The newest active
// version cannot be revoked (rotate first), so writes never stop.
func (k *Keyring) RevokeKEK(ctx context.Context, tenant string, version int) error {
	vs, err := k.st.KEKVersions(ctx, tenant)
	if err != nil {
		return err
	}
	if version == primaryVersion(vs) {
		return fault.New(fault.Conflict, "cannot revoke the primary key version; rotate first")
	}
	if err := k.st.SetKEKState(ctx, tenant, version, store.KEKRevoked); err != nil {
		return err
	}
	k.evict(tenant)
	k.log.Warn("kek version revoked", "version", version)
	return nil
}

// SetMinDecryptionVersion makes every version below v unusable.
func (k *Keyring) SetMinDecryptionVersion(ctx context.Context, tenant string, v int) error {
	vs, err := k.st.KEKVersions(ctx, tenant)
	if err != nil {
		return err
	}
	if v < 0 || v > primaryVersion(vs) {
		return fault.New(fault.Invalid, "minimum decryption version must be between 0 and the primary version")
	}
	if err := k.st.SetMinKEKVersion(ctx, tenant, v); err != nil {
		return err
	}
	k.evict(tenant)
	return nil
}

func (k *Keyring) evict(tenant string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for ref := range k.cache {
		if ref.tenant == tenant {
			delete(k.cache, ref)
		}
	}
}

// tenantVersions reads the tenant (for its minimum version) and its KEK versions.
func (k *Keyring) tenantVersions(ctx context.Context, tenant string) (store.Tenant, []store.KEKVersion, error) {
	t, err := k.st.Tenant(ctx, tenant)
	if err != nil {
		return store.Tenant{}, nil, err
	}
	vs, err := k.st.KEKVersions(ctx, tenant)
	if err != nil {
		return store.Tenant{}, nil, err
	}
	return t, vs, nil
}

// kek returns the AEAD for a usable KEK version, checking state and minimum
// version against the store on every call so that a revocation by another
// process (the CLI) takes effect at once. Only the decrypted keyset is cached.
func (k *Keyring) kek(ctx context.Context, tenant string, version int) (tink.AEAD, error) {
	t, vs, err := k.tenantVersions(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var rec *store.KEKVersion
	for i := range vs {
		if vs[i].Version == version {
			rec = &vs[i]
		}
	}
	switch {
	case rec == nil:
		return nil, fmt.Errorf("kek v%d: %w", version, ErrKeyRevoked)
	case rec.State != store.KEKActive || version < t.MinKEKVersion:
		return nil, fmt.Errorf("kek v%d: %w", version, ErrKeyRevoked)
	}
	return k.openKEK(tenant, *rec)
}

// kekAnyState returns the AEAD of a KEK version whatever its state: only
// for key maintenance that leaves a key under the version it was under
// (shred rotation), never to open data.
func (k *Keyring) kekAnyState(ctx context.Context, tenant string, version int) (tink.AEAD, error) {
	vs, err := k.st.KEKVersions(ctx, tenant)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.Version == version {
			return k.openKEK(tenant, v)
		}
	}
	return nil, fmt.Errorf("kek v%d: %w", version, ErrKeyRevoked)
}

// openKEK decrypts a KEK version's keyset under the root, through the cache.
func (k *Keyring) openKEK(tenant string, rec store.KEKVersion) (tink.AEAD, error) {
	version := rec.Version
	ref := kekRef{tenant, version}
	now := k.clk.Now()
	k.mu.Lock()
	c, ok := k.cache[ref]
	k.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.aead, nil
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(rec.Keyset)), k.root, kekAAD(tenant, version))
	if err != nil {
		return nil, fmt.Errorf("open kek v%d: %w: %w", version, ErrUnavailable, err)
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("kek v%d primitive: %w", version, err)
	}
	k.mu.Lock()
	k.cache[ref] = cachedKEK{aead: a, expires: now.Add(k.ttl)}
	k.mu.Unlock()
	return a, nil
}

func scopeAAD(s Scope, id string) []byte {
	var b []byte
	for _, part := range []string{scopeAADLabel, s.Tenant, s.Subject, s.Purpose, id} {
		b = fmt.Appendf(b, "%d:%s", len(part), part)
	}
	return b
}

// ScopeKey returns the id and an AEAD for the scope's key, creating the key
// (wrapped under the tenant's primary KEK) if it does not exist.
func (k *Keyring) ScopeKey(ctx context.Context, s Scope) (string, tink.AEAD, error) {
	rec, err := k.st.ScopeKey(ctx, s.Tenant, s.Subject, s.Purpose)
	if errors.Is(err, fault.NotFound) {
		if err := k.createScopeKey(ctx, s); err != nil && !errors.Is(err, fault.Conflict) {
			return "", nil, err
		}
		rec, err = k.st.ScopeKey(ctx, s.Tenant, s.Subject, s.Purpose)
	}
	if err != nil {
		return "", nil, err
	}
	a, err := k.openScope(ctx, s, rec)
	return rec.ID, a, err
}

// ScopeKeyByID returns an AEAD for the scope key with the given id. If the
// scope's key was destroyed (even if a new one has been made since), it
// returns ErrKeyDestroyed.
func (k *Keyring) ScopeKeyByID(ctx context.Context, s Scope, id string) (tink.AEAD, error) {
	rec, err := k.st.ScopeKey(ctx, s.Tenant, s.Subject, s.Purpose)
	if errors.Is(err, fault.NotFound) || (err == nil && rec.ID != id) {
		return nil, ErrKeyDestroyed
	}
	if err != nil {
		return nil, err
	}
	return k.openScope(ctx, s, rec)
}

func (k *Keyring) createScopeKey(ctx context.Context, s Scope) error {
	vs, err := k.st.KEKVersions(ctx, s.Tenant)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		// A crash between creating the tenant and its first KEK leaves none; make it now.
		if err := k.InitTenant(ctx, s.Tenant); err != nil {
			return err
		}
		if vs, err = k.st.KEKVersions(ctx, s.Tenant); err != nil {
			return err
		}
	}
	v := primaryVersion(vs)
	if v == 0 {
		return fault.New(fault.Unavailable, "tenant has no usable key version")
	}
	kek, err := k.kek(ctx, s.Tenant, v)
	if err != nil {
		return err
	}
	key := make([]byte, scopeKeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	defer clear(key)
	id := ident.Sized("sk_", 16)
	if k.shred != nil {
		label, err := k.currentShred(ctx, s.Tenant, shredBucket(s.Subject))
		if err != nil {
			return err
		}
		wrapped, err := k.wrapV2(ctx, s, id, kek, label, key)
		if err != nil {
			return err
		}
		rec := store.ScopeKey{ID: id, TenantID: s.Tenant, SubjectHash: s.Subject, Purpose: s.Purpose,
			KEKVersion: v, Wrapped: wrapped, CreatedAt: k.clk.Now()}
		if err := k.st.CreateScopeKey(ctx, rec); err != nil {
			return err
		}
		return k.settleNewKey(ctx, s, rec, kek, label, key)
	}
	wrapped, err := kek.Encrypt(key, scopeAAD(s, id))
	if err != nil {
		return fmt.Errorf("wrap scope key: %w", err)
	}
	return k.st.CreateScopeKey(ctx, store.ScopeKey{ID: id, TenantID: s.Tenant, SubjectHash: s.Subject, Purpose: s.Purpose,
		KEKVersion: v, Wrapped: wrapped, CreatedAt: k.clk.Now()})
}

func (k *Keyring) openScope(ctx context.Context, s Scope, rec store.ScopeKey) (tink.AEAD, error) {
	kek, err := k.kek(ctx, s.Tenant, rec.KEKVersion)
	if err != nil {
		return nil, err
	}
	key, err := k.unwrap(ctx, s, rec, kek)
	if err != nil {
		return nil, err
	}
	a, err := subtle.NewAESGCM(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// unwrap opens a scope key's wrapping: keys-v2 (under a shred key, then
// the KEK) or keys-v1 (under the KEK only).
func (k *Keyring) unwrap(ctx context.Context, s Scope, rec store.ScopeKey, kek tink.AEAD) ([]byte, error) {
	if _, _, v2, _ := parseV2(rec.Wrapped); v2 {
		if k.shred == nil {
			return nil, fault.New(fault.Unavailable, "scope key is wrapped under a shred key but no shred key store is configured")
		}
		return k.unwrapV2(ctx, s, rec.ID, kek, rec.Wrapped)
	}
	key, err := kek.Decrypt(rec.Wrapped, scopeAAD(s, rec.ID))
	if err != nil {
		return nil, fault.Wrap(fault.Other, "scope key does not open", err)
	}
	return key, nil
}

// Destroy crypto-shreds the scope's key (purpose "*" destroys every key of
// the subject). Data under it can never be decrypted again, by any path.
// With shred keys it also rotates the subject's shred key (see
// destroyShredded); an interrupted Destroy is finished by running it again.
func (k *Keyring) Destroy(ctx context.Context, s Scope) (int, error) {
	if k.shred != nil {
		n, err := k.destroyShredded(ctx, s)
		if err == nil {
			k.log.Info("scope keys destroyed", "count", n, "purpose", s.Purpose)
		}
		return n, err
	}
	n, err := k.st.DestroyScopeKeys(ctx, s.Tenant, s.Subject, s.Purpose)
	if err != nil {
		return n, fmt.Errorf("destroy scope keys: %w", err)
	}
	k.log.Info("scope keys destroyed", "count", n, "purpose", s.Purpose)
	return n, nil
}

// Rewrap re-wraps every scope key of the tenant that is under an older KEK
// version with the primary version. It works in small batches, each key
// updated atomically with compare-and-swap, so it can be interrupted at any
// point and run again. progress, if not nil, is called after each key with
// the number done so far and the number remaining at the start.
func (k *Keyring) Rewrap(ctx context.Context, tenant string, progress func(done, total int)) (int, error) {
	vs, err := k.st.KEKVersions(ctx, tenant)
	if err != nil {
		return 0, err
	}
	primary := primaryVersion(vs)
	if primary == 0 {
		return 0, fault.New(fault.Unavailable, "tenant has no usable key version")
	}
	newKEK, err := k.kek(ctx, tenant, primary)
	if err != nil {
		return 0, err
	}
	total := 0
	for after := ""; ; {
		page, err := k.st.ScopeKeysBelow(ctx, tenant, primary, after, 500)
		if err != nil {
			return 0, err
		}
		total += len(page)
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	done := 0
	for after := ""; ; {
		page, err := k.st.ScopeKeysBelow(ctx, tenant, primary, after, 100)
		if err != nil {
			return done, err
		}
		if len(page) == 0 {
			return done, nil
		}
		for _, rec := range page {
			if err := ctx.Err(); err != nil {
				return done, err
			}
			s := Scope{Tenant: tenant, Subject: rec.SubjectHash, Purpose: rec.Purpose}
			old, err := k.kek(ctx, tenant, rec.KEKVersion)
			if err != nil {
				return done, fmt.Errorf("rewrap %s: %w", rec.ID, err)
			}
			var wrapped []byte
			if _, _, v2, _ := parseV2(rec.Wrapped); v2 {
				wrapped, err = rewrapOuterV2(s, rec.ID, old, newKEK, rec.Wrapped)
			} else {
				var key []byte
				if key, err = old.Decrypt(rec.Wrapped, scopeAAD(s, rec.ID)); err == nil {
					wrapped, err = newKEK.Encrypt(key, scopeAAD(s, rec.ID))
					clear(key)
				}
			}
			if err != nil {
				return done, fmt.Errorf("rewrap %s: %w", rec.ID, err)
			}
			if k.wraps != nil {
				// Compare-and-swap on the bytes: a shred rotation may have
				// re-wrapped the key under the same KEK version meanwhile.
				err = k.wraps.SwapScopeKeyWrap(ctx, tenant, rec.ID, rec.Wrapped, primary, wrapped)
			} else {
				err = k.st.RewrapScopeKey(ctx, tenant, rec.ID, rec.KEKVersion, primary, wrapped)
			}
			if err != nil && !errors.Is(err, fault.Conflict) && !errors.Is(err, fault.NotFound) {
				return done, fmt.Errorf("rewrap %s: %w", rec.ID, err)
			}
			done++
			if progress != nil {
				progress(done, total)
			}
			after = rec.ID
		}
	}
}
