// Package serverbench measures Obscura's server-side paths, each beside a
// baseline measured in the same run: storage, the API stack, the mixed
// load the load-shedding test drives, the SQLite writer lanes and the two
// store backends.
//
// Storage: encrypt+store (sealed.Put into the filesystem blob store: Tink
// streaming AES-256-GCM plus temp+fsync+rename) and load+decrypt
// (sealed.ReadAll) against raw AES-256-GCM over the same bytes and a raw
// file write (same durability: temp+fsync+rename) or read.
package serverbench

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/wire"
)

// Sizes are the object sizes the storage benchmark measures.
var Sizes = []int{64 << 10, 4 << 20, 64 << 20}

// StorageEnv holds what the storage cases need.
type StorageEnv struct {
	dir     string
	g       *wire.Graph
	subject string
	gcm     cipher.AEAD
}

// NewStorageEnv creates a throwaway store, key service and blob dir in dir.
func NewStorageEnv(ctx context.Context, dir string) (*StorageEnv, error) {
	b, err := perf.NewServices(ctx, dir, "storage", nil)
	if err != nil {
		return nil, err
	}
	k := make([]byte, 32)
	rand.Read(k)
	blk, _ := aes.NewCipher(k)
	gcm, _ := cipher.NewGCM(blk)
	return &StorageEnv{dir: dir, g: b, subject: b.Keys.SubjectHash("bench-subject"), gcm: gcm}, nil
}

// Close releases the environment.
func (e *StorageEnv) Close() error { return e.g.Close() }

const chunk = 1 << 20 // raw GCM works in 1 MiB chunks, like the envelope's segments

// StorageCases returns the six cases for one object size: our write path and
// its two baselines, our read path and its two baselines.
func (e *StorageEnv) StorageCases(ctx context.Context, size int) []perf.Bench {
	data := make([]byte, size)
	rand.Read(data)
	ref := sealed.Ref{Tenant: "ten_bench", Subject: e.subject, Object: fmt.Sprintf("obj_%d", size)}
	rawPath := filepath.Join(e.dir, fmt.Sprintf("raw_%d", size))
	nonce := make([]byte, 12)
	dst := make([]byte, 0, chunk+16)
	sealed1 := make([][]byte, 0, size/chunk+1)
	for off := 0; off < size; off += chunk {
		sealed1 = append(sealed1, e.gcm.Seal(nil, nonce, data[off:min(off+chunk, size)], nil))
	}
	putSealed := func() error {
		_, err := e.g.Objects.Put(ctx, ref, bytes.NewReader(data))
		return err
	}
	times := func(f func() error) func(n int) error {
		return func(n int) error {
			for range n {
				if err := f(); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return []perf.Bench{
		{Name: "put/sealed", Size: size, Run: times(putSealed)},
		{Name: "put/raw-aes-gcm", Size: size, Run: times(func() error {
			for off := 0; off < size; off += chunk {
				dst = e.gcm.Seal(dst[:0], nonce, data[off:min(off+chunk, size)], nil)
			}
			return nil
		})},
		{Name: "put/raw-file", Size: size, Run: times(func() error { return rawWrite(rawPath, data) })},
		{Name: "get/sealed", Size: size, Setup: putSealed, Run: times(func() error {
			got, err := e.g.Objects.ReadAll(ctx, ref, int64(size))
			if err == nil && len(got) != size {
				err = fmt.Errorf("read %d bytes, want %d", len(got), size)
			}
			return err
		})},
		{Name: "get/raw-aes-gcm", Size: size, Run: times(func() error {
			for _, c := range sealed1 {
				var err error
				if dst, err = e.gcm.Open(dst[:0], nonce, c, nil); err != nil {
					return err
				}
			}
			return nil
		})},
		{Name: "get/raw-file", Size: size, Setup: func() error { return rawWrite(rawPath, data) }, Run: times(func() error {
			_, err := os.ReadFile(rawPath)
			return err
		})},
	}
}

// rawWrite is the durable-write baseline: temp file, write, fsync, rename, dir fsync.
func rawWrite(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Row is one line of a report: our path and its baselines for one size.
type Row struct {
	Op       string  `json:"op"`
	Size     int     `json:"size_bytes"`
	Ours     float64 `json:"ours_mb_s"`
	RawGCM   float64 `json:"raw_aes_gcm_mb_s"`
	RawFile  float64 `json:"raw_file_mb_s"`
	VsSlower float64 `json:"ratio_vs_slower_baseline"`
}

func mbps(r testing.BenchmarkResult, size int) float64 {
	if r.T <= 0 {
		return 0
	}
	return float64(size) * float64(r.N) / r.T.Seconds() / 1e6
}

// RunStorage runs every storage case with testing.Benchmark and returns the rows.
func RunStorage(ctx context.Context, dir string, sizes []int) ([]Row, error) {
	e, err := NewStorageEnv(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var rows []Row
	for _, size := range sizes {
		res := map[string]float64{}
		for _, c := range e.StorageCases(ctx, size) {
			res[c.Name] = mbps(testing.Benchmark(c.Op), size)
		}
		for _, op := range []string{"put", "get"} {
			r := Row{Op: op, Size: size, Ours: res[op+"/sealed"], RawGCM: res[op+"/raw-aes-gcm"], RawFile: res[op+"/raw-file"]}
			if slower := min(r.RawGCM, r.RawFile); slower > 0 {
				r.VsSlower = r.Ours / slower
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}
