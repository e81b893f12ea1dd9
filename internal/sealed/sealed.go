// Package sealed is Obscura's encrypted object storage: every object is
// written as an envelope (package envelope) under a fresh data key wrapped by
// the scope key of its owner (package keyring), into a blob store (package
// blob). It is the only way user content reaches a disk or a bucket.
//
// Protects against: plaintext at rest (nothing unencrypted is ever handed to
// the blob store; if the key service is down, Put fails before writing);
// objects moved between owners or ids (AAD binding); partial writes (blob
// stores are atomic and a sealing error aborts the upload); data outliving
// its consent (Shred destroys the scope key first, which makes every object
// under it unreadable at once, then deletes the ciphertext).
//
// Does not protect against: traffic analysis of object sizes and counts.
package sealed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/envelope"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring"
)

// keySource is what sealing needs from the key service.
type keySource interface {
	ScopeKey(ctx context.Context, s keyring.Scope) (string, tink.AEAD, error)
	ScopeKeyByID(ctx context.Context, s keyring.Scope, id string) (tink.AEAD, error)
	Destroy(ctx context.Context, s keyring.Scope) (int, error)
}

// Ref names a stored object. Subject is the keyed hash of the subject id;
// Purpose is "" for the subject's own objects (e.g. photos) or the purpose
// whose derived data the object is.
type Ref struct {
	Tenant  string
	Subject string
	Purpose string
	Object  string
}

func (r Ref) scope() keyring.Scope {
	return keyring.Scope{Tenant: r.Tenant, Subject: r.Subject, Purpose: r.Purpose}
}

func (r Ref) binding() envelope.Binding {
	return envelope.Binding{Tenant: r.Tenant, Subject: r.Subject, Purpose: r.Purpose, Object: r.Object}
}

// purposeSegment maps a purpose to a blob key segment ("plugin:x" → "plugin.x", "" → "_").
func purposeSegment(p string) string {
	if p == "" {
		return "_"
	}
	return strings.ReplaceAll(p, ":", ".")
}

func subjectPrefix(tenant, subject string) string {
	return "t/" + tenant + "/s/" + subject + "/"
}

func (r Ref) key() (string, error) {
	k := subjectPrefix(r.Tenant, r.Subject) + purposeSegment(r.Purpose) + "/" + r.Object
	if err := blob.ValidKey(k); err != nil {
		return "", fmt.Errorf("object ref: %w", err)
	}
	return k, nil
}

// Store is the encrypted object store.
type Store struct {
	blobs blob.Store
	keys  keySource
}

// New returns a Store.
func New(blobs blob.Store, keys keySource) *Store {
	return &Store{blobs: blobs, keys: keys}
}

// countingReader counts bytes read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Put encrypts everything read from r and stores it under ref, atomically.
// It returns the plaintext size.
func (s *Store) Put(ctx context.Context, ref Ref, r io.Reader) (int64, error) {
	key, err := ref.key()
	if err != nil {
		return 0, err
	}
	keyID, wrap, err := s.keys.ScopeKey(ctx, ref.scope())
	if err != nil {
		return 0, fmt.Errorf("scope key: %w", err)
	}
	pipe := newChunkPipe(8)
	cr := &countingReader{r: r}
	sealed := make(chan struct{})
	go func() {
		defer close(sealed)
		bw, finish := pipe.writer()
		w, err := envelope.Seal(bw, ref.binding(), keyID, wrap)
		if err == nil {
			_, err = io.Copy(w, cr)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		finish(err) // nil ends the stream cleanly; an error aborts the blob Put
	}()
	err = s.blobs.Put(ctx, key, pipe)
	pipe.closeRead(errors.New("blob put finished")) // unblock the sealer if Put returned early
	<-sealed
	if err != nil {
		return 0, fmt.Errorf("store object: %w", err)
	}
	return cr.n, nil
}

// ciphertext opens the stored blob of ref, still sealed.
func (s *Store) ciphertext(ctx context.Context, ref Ref) (io.ReadCloser, error) {
	key, err := ref.key()
	if err != nil {
		return nil, err
	}
	return s.blobs.Get(ctx, key)
}

// Get opens the object for streaming. The reader fails with envelope.ErrAuth
// if the ciphertext was tampered with or truncated; callers must read to EOF
// before acting on the content. A shredded object is keyring.ErrKeyDestroyed.
func (s *Store) Get(ctx context.Context, ref Ref) (io.ReadCloser, error) {
	rc, err := s.ciphertext(ctx, ref)
	if err != nil {
		return nil, err
	}
	pr, err := envelope.Open(rc, ref.binding(), s.keyFor(ctx, ref))
	if err != nil {
		rc.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{pr, rc}, nil
}

// ReadAll returns the whole plaintext, or nothing if any part fails to
// authenticate, or fault.TooLarge beyond limit bytes.
func (s *Store) ReadAll(ctx context.Context, ref Ref, limit int64) ([]byte, error) {
	rc, err := s.ciphertext(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var hint int64
	if sz, ok := rc.(blob.Sizer); ok {
		hint = sz.Size()
	}
	return envelope.OpenAll(rc, ref.binding(), s.keyFor(ctx, ref), limit, hint)
}

func (s *Store) keyFor(ctx context.Context, ref Ref) func(string) (tink.AEAD, error) {
	return func(id string) (tink.AEAD, error) {
		return s.keys.ScopeKeyByID(ctx, ref.scope(), id)
	}
}

// Delete removes one object. Its data key lived only inside the envelope, so
// deleting the ciphertext destroys the key with it.
func (s *Store) Delete(ctx context.Context, ref Ref) error {
	key, err := ref.key()
	if err != nil {
		return err
	}
	return s.blobs.Delete(ctx, key)
}

// Shred crypto-shreds a subject's data for one purpose (purpose "" is the
// subject's own objects; "*" is everything of the subject): the scope keys
// are destroyed first, so every object under them is unreadable from that
// moment by any path, then the ciphertext is deleted. It is idempotent and
// safe to re-run after a crash. It returns the number of objects deleted.
func (s *Store) Shred(ctx context.Context, tenant, subject, purpose string) (int, error) {
	if _, err := s.keys.Destroy(ctx, keyring.Scope{Tenant: tenant, Subject: subject, Purpose: purpose}); err != nil {
		return 0, err
	}
	prefix := subjectPrefix(tenant, subject)
	if purpose != "*" {
		prefix += purposeSegment(purpose) + "/"
	}
	if err := blob.ValidPrefix(prefix); err != nil {
		return 0, fault.Wrap(fault.Invalid, "bad shred scope", err)
	}
	var keys []string
	if err := s.blobs.List(ctx, prefix, func(k string) error { keys = append(keys, k); return nil }); err != nil {
		return 0, fmt.Errorf("list for shred: %w", err)
	}
	for i, k := range keys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			return i, fmt.Errorf("delete shredded object: %w", err)
		}
	}
	return len(keys), nil
}
