// Package fsblob is the local filesystem blob store of the embedded default.
//
// Put writes to a temporary file in the same filesystem, fsyncs it, renames
// it over the final name and fsyncs the directory, so after a crash at any
// point a key holds either its old complete object, its new complete object,
// or (for a new key) nothing. Leftover temporary files are never visible as
// objects and are swept on Open. Files are 0600 in 0700 directories.
package fsblob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/fault"
)

// copyBufs are reused write buffers (256 KiB: four envelope segments per
// write syscall, without a fresh allocation per object).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Store is a directory of objects.
type Store struct {
	objects string
	tmp     string
}

var _ blob.Store = (*Store)(nil)

// Open opens (creating) a store rooted at dir and removes temporary files
// left by interrupted writes.
func Open(dir string) (*Store, error) {
	s := &Store{objects: filepath.Join(dir, "objects"), tmp: filepath.Join(dir, "tmp")}
	for _, d := range []string{s.objects, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fault.Wrap(fault.Unavailable, "blob store unavailable", err)
		}
	}
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	for _, e := range entries {
		os.Remove(filepath.Join(s.tmp, e.Name()))
	}
	return s, nil
}

func (s *Store) path(key string) string {
	return filepath.Join(s.objects, filepath.FromSlash(key))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Put implements blob.Putter.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (err error) {
	if err := blob.ValidKey(key); err != nil {
		return err
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	tmpPath := filepath.Join(s.tmp, hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmpPath)
		}
	}()
	buf := copyBufs.Get().(*[]byte)
	_, err = io.CopyBuffer(f, blob.ContextReader(ctx, r), *buf)
	copyBufs.Put(buf)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// The file write failed (a full disk: ENOSPC stays in the chain).
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	if err != nil {
		return fmt.Errorf("write blob: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	if err = f.Close(); err != nil {
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	final := s.path(key)
	dir := filepath.Dir(final)
	if err = s.mkdirAll(dir); err != nil {
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	if err = os.Rename(tmpPath, final); err != nil {
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	if err = syncDir(dir); err != nil {
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	return nil
}

// mkdirAll creates dir and fsyncs each new directory's parent so the
// directory entries survive a crash.
func (s *Store) mkdirAll(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != s.objects && parent != dir {
		if err := s.mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// Probe checks that the store can be written now: it writes, fsyncs and
// removes a small temporary file (64 KiB, so a nearly full disk fails too),
// without touching any object. Readiness checks call it.
func (s *Store) Probe(ctx context.Context) error {
	var rnd [12]byte
	rand.Read(rnd[:])
	p := filepath.Join(s.tmp, "probe-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fault.Wrap(fault.Unavailable, "blob store not writable", err)
	}
	defer os.Remove(p)
	_, err = f.Write(make([]byte, 64<<10))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fault.Wrap(fault.Unavailable, "blob store not writable", err)
	}
	return nil
}

// Get implements blob.Getter.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := blob.ValidKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fault.New(fault.NotFound, "blob not found")
	}
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fault.New(fault.NotFound, "blob not found")
	}
	return object{f, fi.Size()}, nil
}

// Delete implements blob.Deleter.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.ValidKey(key); err != nil {
		return err
	}
	p := s.path(key)
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return nil // nothing was there, nothing to make durable
	} else if err != nil {
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	return nil
}

// List implements blob.Lister.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string) error) error {
	if err := blob.ValidPrefix(prefix); err != nil {
		return err
	}
	// Walk from the deepest directory the prefix names.
	start := s.objects
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = s.path(prefix[:i])
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(s.objects, p)
			if k := filepath.ToSlash(rel); strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
		return nil
	})
	if err != nil {
		return fault.Wrap(fault.Unavailable, "blob store unavailable", err)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// object is an open blob that knows its size.
type object struct {
	*os.File
	size int64
}

// Size implements blob.Sizer.
func (o object) Size() int64 { return o.size }
