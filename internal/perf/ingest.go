package perf

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/wire"
)

// Photo12MP returns a 4032×3024 JPEG (a phone camera's 12 MP: whole 16×16
// MCU blocks, so a rotation is a lossless DCT transform) with an EXIF block
// (orientation o, a GPS IFD pointer) like a phone's, with smooth content
// plus noise so it compresses like a photo.
func Photo12MP(o uint16) []byte { return photoSized(4032, 3024, o) }

// photoSized is Photo12MP at another size (4000×3000 has partial MCU rows:
// a rotation must decode and re-encode).
func photoSized(w, h int, o uint16) []byte {
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

// IngestEnv measures the upload pipeline.
type IngestEnv struct {
	g   *wire.Graph
	svc *upload.Service
}

// NewIngestEnv builds a throwaway pipeline in dir.
func NewIngestEnv(ctx context.Context, dir string) (*IngestEnv, error) {
	b, err := newBenchServices(ctx, dir, "ingest", nil)
	if err != nil {
		return nil, err
	}
	return &IngestEnv{g: b, svc: b.Uploads}, nil
}

// Close releases the environment.
func (e *IngestEnv) Close() error { return e.g.Close() }

// IngestCases: the pipeline for an upright photo (lossless metadata strip),
// for a sideways one (lossless DCT rotation), for a sideways one whose
// partial MCU blocks force decode, rotate, re-encode, and the baseline:
// stdlib decode + encode of the same file.
func (e *IngestEnv) IngestCases(ctx context.Context) []Bench {
	upright, sideways, partial := Photo12MP(1), Photo12MP(6), photoSized(4000, 3000, 6)
	ingest := func(data []byte) func(n int) error {
		return func(n int) error {
			for range n {
				if _, err := e.svc.Ingest(ctx, "ten_bench", "bench-subject", data); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return []Bench{
		{Name: "ingest/upright", Size: len(upright), Run: ingest(upright)},
		{Name: "ingest/rotated", Size: len(sideways), Run: ingest(sideways)},
		{Name: "ingest/rotated-partial-mcu", Size: len(partial), Run: ingest(partial)},
		{Name: "baseline/stdlib-decode-encode", Size: len(upright), Run: func(n int) error {
			for range n {
				img, err := jpeg.Decode(bytes.NewReader(upright))
				if err != nil {
					return err
				}
				if err := jpeg.Encode(io.Discard, img, &jpeg.Options{Quality: 92}); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

// IngestRow is one ingest figure.
type IngestRow struct {
	Case       string  `json:"case"`
	MsPerPhoto float64 `json:"ms_per_photo"`
	VsBaseline float64 `json:"speedup_vs_decode_encode"`
}

// RunIngest measures the ingest cases.
func RunIngest(ctx context.Context, dir string) ([]IngestRow, error) {
	e, err := NewIngestEnv(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var rows []IngestRow
	ms := map[string]float64{}
	for _, c := range e.IngestCases(ctx) {
		r := testing.Benchmark(c.Op)
		ms[c.Name] = float64(r.NsPerOp()) / 1e6
		rows = append(rows, IngestRow{Case: c.Name, MsPerPhoto: ms[c.Name]})
	}
	base := ms["baseline/stdlib-decode-encode"]
	for i := range rows {
		if rows[i].MsPerPhoto > 0 {
			rows[i].VsBaseline = base / rows[i].MsPerPhoto
		}
	}
	return rows, nil
}
