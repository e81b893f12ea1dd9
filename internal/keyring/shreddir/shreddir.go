// Package shreddir keeps shred keys (docs/spec/keys-v2.md) on a local
// directory, by default <data>/shred: the keyring's ShredKeys for an
// installation whose blobs are on the filesystem. Deleting a key
// overwrites its bytes before unlinking it.
package shreddir

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/fault"
)

// Dir is a keyring.ShredKeys on a local directory (by default <data>/shred).
// Put is atomic (temporary file, fsync, rename, directory fsync); Delete
// first overwrites the file's bytes with random bytes and fsyncs them, then
// unlinks it, so the key is gone from the file system's live blocks, not
// merely unlinked. (A copy-on-write or journalling file system, or an SSD's
// remapping, may still hold old blocks: put it on a plain ext4/xfs volume;
// docs/deploy.md.) Files are 0600 in 0700 directories.
type Dir struct{ dir string }

var _ interface {
	blob.Putter
	blob.Getter
	blob.Deleter
	blob.Lister
} = (*Dir)(nil)

// Open opens (creating) a shred key directory.
func Open(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fault.Wrap(fault.Unavailable, "shred key store unavailable", err)
	}
	return &Dir{dir: dir}, nil
}

func (d *Dir) path(key string) (string, error) {
	if err := blob.ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.dir, filepath.FromSlash(key)), nil
}

// Put implements blob.Putter.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, blob.ContextReader(ctx, r)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

// Get implements blob.Getter.
func (d *Dir) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return nil, fault.New(fault.NotFound, "shred key not found")
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fault.New(fault.NotFound, "shred key not found")
	}
	return f, err
}

// Delete implements blob.Deleter: overwrite with random bytes, fsync, unlink,
// fsync the directory. A missing key is not an error.
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		junk := make([]byte, fi.Size())
		if _, err = rand.Read(junk); err == nil {
			if _, err = f.WriteAt(junk, 0); err == nil {
				err = f.Sync()
			}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("overwrite shred key: %w", err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(p))
}

// List implements blob.Lister.
func (d *Dir) List(ctx context.Context, prefix string, fn func(key string) error) error {
	if err := blob.ValidPrefix(prefix); err != nil {
		return err
	}
	// Walk from the deepest directory the prefix names.
	start := d.dir
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(d.dir, filepath.FromSlash(prefix[:i]))
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(d.dir, p)
		if err != nil {
			return err
		}
		if k := filepath.ToSlash(rel); strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
