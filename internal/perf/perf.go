// Package perf is the shared harness of Obscura's benchmarks: a measurable
// case (Bench) that backs both `go test -bench` and `obscura bench`, the
// object graph every benchmark builds through the composition root
// (NewServices), percentiles and the synthetic 12 MP photo. Every figure is
// a ratio against a baseline measured in the same run, so nothing depends
// on the machine. The cases live in subpackages by area:
// perf/mediabench (vision, pipeline, sandbox, ingest, analysis),
// perf/serverbench (storage, API stack, mixed load, writer lanes, store
// backends) and perf/featurebench (memes, provenance, plugins, federated
// learning, analytics).
package perf

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/wire"
)

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

// Tenant is the tenant every benchmark works in.
const Tenant = "ten_bench"

// unlimited lets a benchmark client through every rate class.
var unlimited = guard.Limits{Classes: map[string]guard.Limit{
	"api": {PerSecond: 1e9, Burst: 1e9}, "analyze": {PerSecond: 1e9, Burst: 1e9}}}

// NewServices builds the object graph in dir/name through the composition
// root, as serve builds it (with the vision engine eng, or none), and
// creates the benchmark tenant with its first KEK.
func NewServices(ctx context.Context, dir, name string, eng *vision.Engine, with ...func(*config.Config)) (*wire.Graph, error) {
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
	if err := g.Store.CreateTenant(ctx, store.Tenant{ID: Tenant, Name: "bench", CreatedAt: now},
		store.APIKey{ID: "key_bench", TenantID: Tenant, SecretHash: []byte{1}, CreatedAt: now}); err != nil {
		g.Close()
		return nil, err
	}
	if err := g.Keys.InitTenant(ctx, Tenant); err != nil {
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

// Ms is d in milliseconds with microsecond resolution.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Percentile is the nearest-rank p-th percentile of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Photo12MP returns a 4032×3024 JPEG (a phone camera's 12 MP: whole 16×16
// MCU blocks, so a rotation is a lossless DCT transform) with an EXIF block
// (orientation o, a GPS IFD pointer) like a phone's, with smooth content
// plus noise so it compresses like a photo.
func Photo12MP(o uint16) []byte { return PhotoSized(4032, 3024, o) }

// PhotoSized is Photo12MP at another size (4000×3000 has partial MCU rows:
// a rotation must decode and re-encode).
func PhotoSized(w, h int, o uint16) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			img.Y[y*img.YStride+x] = byte((x/16+y/12)&0xff) ^ byte(r.IntN(24))
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = byte(100+i%40), byte(140-i%30)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	j := buf.Bytes()
	tiff := []byte("II*\x00\x08\x00\x00\x00\x02\x00")
	tiff = binary.LittleEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.LittleEndian.AppendUint16(tiff, 3)
	tiff = binary.LittleEndian.AppendUint32(tiff, 1)
	tiff = binary.LittleEndian.AppendUint32(tiff, uint32(o))
	tiff = append(tiff, 0x25, 0x88, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // GPSInfo pointer
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	app1 = append(app1, bytes.Repeat([]byte{0}, 30000)...) // room a thumbnail would take
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(len(app1)+2))
	out := append([]byte{0xFF, 0xD8}, append(seg, app1...)...)
	return append(out, j[2:]...)
}
