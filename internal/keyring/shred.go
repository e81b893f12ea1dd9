package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// ShredKeys holds shred keys (docs/spec/keys-v2.md) outside the metadata
// database, in a place where deleting an object is final: a shreddir.Dir on the
// node's disk (overwrite, then unlink), or the installation's S3 bucket
// under "shred/" (no object versioning). Every node of an installation must
// see the same ShredKeys. Objects are shred keys encrypted under the root.
type ShredKeys interface {
	blob.Putter
	blob.Getter
	blob.Deleter
	blob.Lister
}

const (
	scopeV2Magic     = "osk2"
	scopeV2AADLabel  = "obscura/scope-key/v2"
	shredKeyAADLabel = "obscura/shred-key/v2\x00"
	shredPrefix      = "shred/"
	shredPage        = 200
)

// ErrShredKeyMissing: the shred key a wrapped scope key names is gone. The
// scope key was destroyed by a shred-key rotation; data under it is gone.
var ErrShredKeyMissing = fmt.Errorf("shred key destroyed: %w", ErrKeyDestroyed)

// shredBucket is the bucket of subjects sharing one shred key: the first
// character of the subject hash (lowercase base32, so 32 buckets per
// tenant), or "_" for a subject hash that does not start with [a-z0-9].
func shredBucket(subject string) string {
	if subject != "" {
		if c := subject[0]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			return subject[:1]
		}
	}
	return "_"
}

// bucketListPrefix is the subject-hash prefix that lists a bucket's keys
// (the "_" bucket is found by filtering every key).
func bucketListPrefix(b string) string {
	if b == "_" {
		return ""
	}
	return b
}

func shredDir(tenant, bucket string) string { return shredPrefix + tenant + "/" + bucket + "/" }

func shredAAD(name string) []byte { return []byte(shredKeyAADLabel + name) }

// scopeAADv2 binds a v2 wrapping to its scope, key id and shred key label.
func scopeAADv2(s Scope, id, label string) []byte {
	var b []byte
	for _, part := range []string{scopeV2AADLabel, s.Tenant, s.Subject, s.Purpose, id, label} {
		b = fmt.Appendf(b, "%d:%s", len(part), part)
	}
	return b
}

// validLabel checks a shred key label: 10 decimal digits (the epoch), '-',
// 8 lowercase hex digits.
func validLabel(l string) bool {
	if len(l) != 19 || l[10] != '-' {
		return false
	}
	for i, c := range []byte(l) {
		switch {
		case i == 10:
		case i < 10 && c >= '0' && c <= '9':
		case i > 10 && (c >= '0' && c <= '9' || c >= 'a' && c <= 'f'):
		default:
			return false
		}
	}
	return true
}

// parseV2 splits a v2 wrapping: "osk2" ‖ u8 len ‖ label ‖ KEK ciphertext.
// ok is false for a v1 wrapping (a Tink ciphertext, first byte 0x01).
func parseV2(w []byte) (label string, inner []byte, ok bool, err error) {
	if !bytes.HasPrefix(w, []byte(scopeV2Magic)) {
		return "", nil, false, nil
	}
	if len(w) < len(scopeV2Magic)+1 {
		return "", nil, true, errors.New("truncated v2 scope key")
	}
	n := int(w[len(scopeV2Magic)])
	rest := w[len(scopeV2Magic)+1:]
	if n > len(rest) {
		return "", nil, true, errors.New("truncated v2 scope key label")
	}
	label = string(rest[:n])
	if !validLabel(label) {
		return "", nil, true, errors.New("bad v2 scope key label")
	}
	return label, rest[n:], true, nil
}

func labelEpoch(l string) uint64 {
	n, _ := strconv.ParseUint(l[:10], 10, 64)
	return n
}

// shredLabels lists the bucket's live shred key labels, oldest first (the
// last is current).
func (k *Keyring) shredLabels(ctx context.Context, tenant, bucket string) ([]string, error) {
	dir := shredDir(tenant, bucket)
	var out []string
	err := k.shred.List(ctx, dir, func(key string) error {
		if l := strings.TrimPrefix(key, dir); validLabel(l) {
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "shred key store unavailable", err)
	}
	sort.Strings(out)
	return out, nil
}

// newShredKey creates a shred key whose label sorts after every label in
// labels, and returns its label. Names are never reused (random suffix), so
// two nodes creating one at once both succeed and neither overwrites.
func (k *Keyring) newShredKey(ctx context.Context, tenant, bucket string, labels []string) (string, error) {
	var epoch uint64 = 1
	if len(labels) > 0 {
		epoch = labelEpoch(labels[len(labels)-1]) + 1
	}
	var sfx [4]byte
	key := make([]byte, scopeKeySize)
	if _, err := rand.Read(sfx[:]); err != nil {
		return "", err
	}
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	label := fmt.Sprintf("%010d-%s", epoch, hex.EncodeToString(sfx[:]))
	name := shredDir(tenant, bucket) + label
	ct, err := k.root.Encrypt(key, shredAAD(name))
	clear(key)
	if err != nil {
		return "", fault.Wrap(fault.Unavailable, "key service unavailable", err)
	}
	if err := k.shred.Put(ctx, name, bytes.NewReader(ct)); err != nil {
		return "", fault.Wrap(fault.Unavailable, "shred key store unavailable", err)
	}
	return label, nil
}

// currentShred returns the bucket's current shred key label, creating the
// first one.
func (k *Keyring) currentShred(ctx context.Context, tenant, bucket string) (string, error) {
	labels, err := k.shredLabels(ctx, tenant, bucket)
	if err != nil {
		return "", err
	}
	if len(labels) > 0 {
		return labels[len(labels)-1], nil
	}
	return k.newShredKey(ctx, tenant, bucket, nil)
}

// shredAEAD opens a shred key (cached for CacheTTL).
func (k *Keyring) shredAEAD(ctx context.Context, tenant, bucket, label string) (tink.AEAD, error) {
	name := shredDir(tenant, bucket) + label
	now := k.clk.Now()
	k.mu.Lock()
	c, ok := k.shredCache[name]
	k.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.aead, nil
	}
	rc, err := k.shred.Get(ctx, name)
	if errors.Is(err, fault.NotFound) {
		return nil, ErrShredKeyMissing
	}
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "shred key store unavailable", err)
	}
	ct, err := io.ReadAll(io.LimitReader(rc, 1<<10))
	rc.Close()
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "shred key store unavailable", err)
	}
	key, err := k.root.Decrypt(ct, shredAAD(name))
	if err != nil {
		return nil, fmt.Errorf("open shred key: %w: %w", ErrUnavailable, err)
	}
	a, err := subtle.NewAESGCM(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.shredCache[name] = cachedKEK{aead: a, expires: now.Add(k.ttl)}
	k.mu.Unlock()
	return a, nil
}

// wrapV2 wraps key under the shred key label, then under kek.
func (k *Keyring) wrapV2(ctx context.Context, s Scope, id string, kek tink.AEAD, label string, key []byte) ([]byte, error) {
	sh, err := k.shredAEAD(ctx, s.Tenant, shredBucket(s.Subject), label)
	if err != nil {
		return nil, err
	}
	aad := scopeAADv2(s, id, label)
	inner, err := sh.Encrypt(key, aad)
	if err != nil {
		return nil, fmt.Errorf("shred-wrap scope key: %w", err)
	}
	outer, err := kek.Encrypt(inner, aad)
	if err != nil {
		return nil, fmt.Errorf("wrap scope key: %w", err)
	}
	w := make([]byte, 0, len(scopeV2Magic)+1+len(label)+len(outer))
	w = append(append(append(w, scopeV2Magic...), byte(len(label))), label...)
	return append(w, outer...), nil
}

// unwrapV2 opens a v2 wrapping with kek and the shred key it names.
func (k *Keyring) unwrapV2(ctx context.Context, s Scope, id string, kek tink.AEAD, w []byte) ([]byte, error) {
	label, outer, _, err := parseV2(w)
	if err != nil {
		return nil, fault.Wrap(fault.Other, "scope key does not open", err)
	}
	aad := scopeAADv2(s, id, label)
	inner, err := kek.Decrypt(outer, aad)
	if err != nil {
		return nil, fault.Wrap(fault.Other, "scope key does not open", err)
	}
	sh, err := k.shredAEAD(ctx, s.Tenant, shredBucket(s.Subject), label)
	if err != nil {
		return nil, err
	}
	key, err := sh.Decrypt(inner, aad)
	if err != nil {
		return nil, fault.Wrap(fault.Other, "scope key does not open", err)
	}
	return key, nil
}

// rewrapOuterV2 re-encrypts only the KEK layer of a v2 wrapping (KEK rewrap).
func rewrapOuterV2(s Scope, id string, from, to tink.AEAD, w []byte) ([]byte, error) {
	label, outer, _, err := parseV2(w)
	if err != nil {
		return nil, err
	}
	aad := scopeAADv2(s, id, label)
	inner, err := from.Decrypt(outer, aad)
	if err != nil {
		return nil, err
	}
	out, err := to.Encrypt(inner, aad)
	if err != nil {
		return nil, err
	}
	return append(bytes.Clone(w[:len(w)-len(outer)]), out...), nil
}

// settleNewKey makes sure a scope key created under label is not left under
// a shred key that a concurrent rotation is about to destroy: labels only
// grow, so if label is still the newest after the row exists, any rotation
// starting later sees the row; otherwise the creator, who still holds the
// plaintext, moves it to the newest label itself (compare-and-swap: if a
// rotation moved it first, that is fine too).
func (k *Keyring) settleNewKey(ctx context.Context, s Scope, rec store.ScopeKey, kek tink.AEAD, label string, key []byte) error {
	for range 8 {
		labels, err := k.shredLabels(ctx, s.Tenant, shredBucket(s.Subject))
		if err != nil {
			return err
		}
		if len(labels) == 0 || labels[len(labels)-1] <= label {
			return nil
		}
		label = labels[len(labels)-1]
		w, err := k.wrapV2(ctx, s, rec.ID, kek, label, key)
		if err != nil {
			return err
		}
		err = k.wraps.SwapScopeKeyWrap(ctx, s.Tenant, rec.ID, rec.Wrapped, rec.KEKVersion, w)
		if errors.Is(err, fault.Conflict) {
			return nil // a rotation moved it
		}
		if err != nil {
			return err
		}
		rec.Wrapped = w
	}
	return fault.New(fault.Unavailable, "shred keys rotating too fast to settle a new scope key")
}

// destroyShredded is Destroy with shred keys: a new shred key is made
// current before the rows are deleted (so an interrupted destroy leaves two
// live shred keys, which the next destroy of the bucket finishes), the rows
// are deleted, every surviving key of the bucket is re-wrapped under the new
// shred key, and every older shred key is destroyed where deletion is
// final. Every copy of a deleted row that the database keeps (dead tuples,
// WAL, backups) is then under a destroyed shred key.
func (k *Keyring) destroyShredded(ctx context.Context, s Scope) (int, error) {
	bucket := shredBucket(s.Subject)
	labels, err := k.shredLabels(ctx, s.Tenant, bucket)
	if err != nil {
		return 0, err
	}
	present := false
	for after := ""; !present; {
		page, err := k.wraps.ScopeKeysWithPrefix(ctx, s.Tenant, s.Subject, after, shredPage)
		if err != nil {
			return 0, err
		}
		for _, r := range page {
			if r.SubjectHash == s.Subject && (s.Purpose == "*" || r.Purpose == s.Purpose) {
				present = true
			}
		}
		if len(page) < shredPage {
			break
		}
		after = page[len(page)-1].ID
	}
	if !present && len(labels) <= 1 {
		return 0, nil
	}
	label, err := k.newShredKey(ctx, s.Tenant, bucket, labels)
	if err != nil {
		return 0, err
	}
	n, err := k.st.DestroyScopeKeys(ctx, s.Tenant, s.Subject, s.Purpose)
	if err != nil {
		return n, fmt.Errorf("destroy scope keys: %w", err)
	}
	if err := k.rotateShred(ctx, s.Tenant, bucket, label); err != nil {
		return n, fmt.Errorf("rotate shred key: %w", err)
	}
	return n, nil
}

// rotateShred moves every scope key of the bucket under a shred key older
// than label to label, then destroys the older shred keys.
func (k *Keyring) rotateShred(ctx context.Context, tenant, bucket, label string) error {
	moved := 0
	for after := ""; ; {
		page, err := k.wraps.ScopeKeysWithPrefix(ctx, tenant, bucketListPrefix(bucket), after, shredPage)
		if err != nil {
			return err
		}
		// One transaction per page; a key changed meanwhile is retried alone.
		var swaps []store.WrapSwap
		var recs []store.ScopeKey
		for _, rec := range page {
			if shredBucket(rec.SubjectHash) != bucket {
				continue
			}
			w, err := k.rewrapForShred(ctx, tenant, rec, label)
			if err != nil {
				return err
			}
			if w != nil {
				swaps = append(swaps, store.WrapSwap{ID: rec.ID, Old: rec.Wrapped, Version: rec.KEKVersion, Wrapped: w})
				recs = append(recs, rec)
			}
		}
		if len(swaps) > 0 {
			done, err := k.wraps.SwapScopeKeyWraps(ctx, tenant, swaps)
			if err != nil {
				return err
			}
			for i, ok := range done {
				if ok {
					moved++
					continue
				}
				cur, err := k.st.ScopeKey(ctx, tenant, recs[i].SubjectHash, recs[i].Purpose)
				if errors.Is(err, fault.NotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if ok, err := k.moveToShred(ctx, tenant, cur, label); err != nil {
					return err
				} else if ok {
					moved++
				}
			}
		}
		if len(page) < shredPage {
			break
		}
		after = page[len(page)-1].ID
	}
	labels, err := k.shredLabels(ctx, tenant, bucket)
	if err != nil {
		return err
	}
	destroyed := 0
	for _, l := range labels {
		if l >= label {
			continue
		}
		name := shredDir(tenant, bucket) + l
		if err := k.shred.Delete(ctx, name); err != nil {
			return fault.Wrap(fault.Unavailable, "shred key store unavailable", err)
		}
		k.mu.Lock()
		delete(k.shredCache, name)
		k.mu.Unlock()
		destroyed++
	}
	k.log.Info("shred key rotated", "rewrapped", moved, "destroyed", destroyed)
	return nil
}

// rewrapForShred returns rec's wrapping under label, or nil if rec needs
// no move (keys-v1, already under label or newer, or under a shred key
// another rotation destroyed: its creator re-wraps it, see settleNewKey).
func (k *Keyring) rewrapForShred(ctx context.Context, tenant string, rec store.ScopeKey, label string) ([]byte, error) {
	cur, _, v2, err := parseV2(rec.Wrapped)
	if !v2 || err != nil || cur >= label {
		return nil, nil
	}
	s := Scope{Tenant: tenant, Subject: rec.SubjectHash, Purpose: rec.Purpose}
	kek, err := k.kekAnyState(ctx, tenant, rec.KEKVersion)
	if err != nil {
		return nil, err
	}
	key, err := k.unwrapV2(ctx, s, rec.ID, kek, rec.Wrapped)
	if errors.Is(err, ErrShredKeyMissing) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rotate %s: %w", rec.ID, err)
	}
	defer clear(key)
	return k.wrapV2(ctx, s, rec.ID, kek, label, key)
}

// moveToShred re-wraps one scope key under label if it is under an older
// shred key, retrying when a concurrent writer changed it.
func (k *Keyring) moveToShred(ctx context.Context, tenant string, rec store.ScopeKey, label string) (bool, error) {
	for range 8 {
		w, err := k.rewrapForShred(ctx, tenant, rec, label)
		if err != nil || w == nil {
			return false, err
		}
		err = k.wraps.SwapScopeKeyWrap(ctx, tenant, rec.ID, rec.Wrapped, rec.KEKVersion, w)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fault.Conflict) {
			return false, err
		}
		if rec, err = k.st.ScopeKey(ctx, tenant, rec.SubjectHash, rec.Purpose); errors.Is(err, fault.NotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	return false, fault.New(fault.Unavailable, "scope key changing too fast to rotate")
}

// WithShred returns a key service over the same root and store that wraps
// scope keys under shred keys held in sk (keys-v2). `obscura store migrate`
// uses it to write every scope key into Postgres already in keys-v2, so no
// keys-v1 wrapping ever lands in a database that keeps deleted rows.
func (k *Keyring) WithShred(sk ShredKeys) (*Keyring, error) {
	w, ok := k.st.(store.ScopeKeyWraps)
	if !ok {
		return nil, fmt.Errorf("keyring: shred keys need a store that implements store.ScopeKeyWraps, %T does not", k.st)
	}
	return &Keyring{root: k.root, st: k.st, clk: k.clk, log: k.log, ttl: k.ttl, prf: k.prf, tok: k.tok,
		shred: sk, wraps: w, cache: map[kekRef]cachedKEK{}, shredCache: map[string]cachedKEK{}, signers: map[string]*Signer{}}, nil
}

// WrapForShred returns rec's wrapping in keys-v2, under the current shred
// key of its bucket and the KEK version it is under now (whatever that
// version's state: it is kept). A keys-v2 wrapping is returned unchanged.
// The key service must have shred keys (Options.Shred or WithShred).
func (k *Keyring) WrapForShred(ctx context.Context, rec store.ScopeKey) ([]byte, error) {
	if k.shred == nil {
		return nil, errors.New("keyring: WrapForShred without shred keys")
	}
	if _, _, v2, _ := parseV2(rec.Wrapped); v2 {
		return rec.Wrapped, nil
	}
	s := Scope{Tenant: rec.TenantID, Subject: rec.SubjectHash, Purpose: rec.Purpose}
	kek, err := k.kekAnyState(ctx, rec.TenantID, rec.KEKVersion)
	if err != nil {
		return nil, err
	}
	key, err := kek.Decrypt(rec.Wrapped, scopeAAD(s, rec.ID))
	if err != nil {
		return nil, fault.Wrap(fault.Other, "scope key does not open", err)
	}
	defer clear(key)
	label, err := k.currentShred(ctx, rec.TenantID, shredBucket(rec.SubjectHash))
	if err != nil {
		return nil, err
	}
	return k.wrapV2(ctx, s, rec.ID, kek, label, key)
}
