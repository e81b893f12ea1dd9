// Package blob defines the contract of Obscura's object stores: opaque byte
// objects under validated keys. Stores hold only ciphertext (see package
// sealed); they provide atomicity, not secrecy.
//
// Backends are subpackages (fsblob, s3blob) and pass the conformance suite in
// blobtest. Put is all-or-nothing: a reader sees the old object, the new one,
// or none — never a partial write, even across a crash.
package blob

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Putter stores objects atomically.
type Putter interface {
	// Put stores everything read from r under key, replacing any object there.
	Put(ctx context.Context, key string, r io.Reader) error
}

// Getter reads objects.
type Getter interface {
	// Get opens the object; a missing key is fault.NotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// Deleter removes objects.
type Deleter interface {
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Lister enumerates objects.
type Lister interface {
	// List calls fn for each key with the prefix, in lexical order.
	List(ctx context.Context, prefix string, fn func(key string) error) error
}

// Sizer is implemented by readers returned from Get that know the object's
// size, so readers can allocate once.
type Sizer interface {
	Size() int64
}

// Store is a full object store.
type Store interface {
	Putter
	Getter
	Deleter
	Lister
}

// ContextReader makes a copy stop when ctx ends: each Read first checks ctx.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// MaxKeyLen bounds key length.
const MaxKeyLen = 512

// ErrBadKey is returned for keys that fail ValidKey.
var ErrBadKey = fault.New(fault.Invalid, "invalid blob key")

// ValidKey checks a key: 1..512 bytes of [a-z0-9._-] in '/'-separated
// segments, none empty, "." or "..". Keys never carry raw ids of people.
func ValidKey(key string) error {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return fmt.Errorf("key length %d: %w", len(key), ErrBadKey)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("key segment %q: %w", seg, ErrBadKey)
		}
		for _, c := range []byte(seg) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("key byte %q: %w", c, ErrBadKey)
			}
		}
	}
	return nil
}

// ValidPrefix checks a List prefix: empty, or a valid key optionally ending in '/'.
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return ValidKey(strings.TrimSuffix(prefix, "/"))
}
