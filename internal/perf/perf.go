// Package perf measures Obscura's hot paths beside baselines measured in the
// same run, so every figure is a ratio, not an absolute that depends on the
// machine. It backs both `go test -bench` and `obscura bench`.
//
// Storage: encrypt+store (sealed.Put into the filesystem blob store: Tink
// streaming AES-256-GCM plus temp+fsync+rename) and load+decrypt
// (sealed.ReadAll) against raw AES-256-GCM over the same bytes and a raw
// file write (same durability: temp+fsync+rename) or read.
package perf

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/wire"
)

// Sizes are the object sizes the storage benchmark measures.
var Sizes = []int{64 << 10, 4 << 20, 64 << 20}

// Bench is one measurable case: Setup once (untimed), then Run(n) does the
// operation n times.
type Bench struct {
	Name  string
	Size  int
	Setup func() error
	Run   func(n int) error
}

// Op adapts the case to a Go benchmark function.
func (c Bench) Op(b *testing.B) {
	if c.Setup != nil {
		if err := c.Setup(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(c.Size))
	b.ReportAllocs()
	b.ResetTimer()
	if err := c.Run(b.N); err != nil {
		b.Fatal(err)
	}
}

// StorageEnv holds what the storage cases need.
type StorageEnv struct {
	dir     string
	g       *wire.Graph
	subject string
	gcm     cipher.AEAD
}

// benchTenant is the tenant every benchmark works in.
const benchTenant = "ten_bench"

// unlimited lets a benchmark client through every rate class.
var unlimited = guard.Limits{Classes: map[string]guard.Limit{
	"api": {PerSecond: 1e9, Burst: 1e9}, "analyze": {PerSecond: 1e9, Burst: 1e9}}}

// newBenchServices builds the object graph in dir/name through the
// composition root, as serve builds it (with the vision engine eng, or
// none), and creates the benchmark tenant with its first KEK.
func newBenchServices(ctx context.Context, dir, name string, eng *vision.Engine, with ...func(*config.Config)) (*wire.Graph, error) {
	cfg := config.Default()
	cfg.Data = filepath.Join(dir, name)
	cfg.RateLimits = unlimited
	for _, f := range with {
		f(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	g, err := wire.Open(ctx, wire.Options{Config: cfg, Clock: clock.System{}, Log: log, Engine: eng})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if err := g.Store.CreateTenant(ctx, store.Tenant{ID: benchTenant, Name: "bench", CreatedAt: now},
		store.APIKey{ID: "key_bench", TenantID: benchTenant, SecretHash: []byte{1}, CreatedAt: now}); err != nil {
		g.Close()
		return nil, err
	}
	if err := g.Keys.InitTenant(ctx, benchTenant); err != nil {
		g.Close()
		return nil, err
	}
	// The kill switches fail closed until read once (serve's Start does it).
	if err := g.Kill.Refresh(ctx); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// NewStorageEnv creates a throwaway store, key service and blob dir in dir.
func NewStorageEnv(ctx context.Context, dir string) (*StorageEnv, error) {
	b, err := newBenchServices(ctx, dir, "storage", nil)
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
func (e *StorageEnv) StorageCases(ctx context.Context, size int) []Bench {
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
	return []Bench{
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
