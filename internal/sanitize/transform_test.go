package sanitize

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is this process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// transformVectors are small JPEGs written by libjpeg-turbo's cjpeg
// (testdata/transform/README.md): each sampling libjpeg writes, gray,
// progressive, restart markers, and partial MCUs on one or both edges.
func transformVectors(t testing.TB) map[string][]byte {
	paths, err := filepath.Glob("testdata/transform/*.jpg")
	if err != nil || len(paths) < 10 {
		t.Fatalf("transform vectors: %v (%d)", err, len(paths))
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// As Sanitize calls it: on the metadata-free stream.
		res, err := Sanitize(b, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(p)] = res.Data
	}
	return out
}

// TestTransformMatchesTurboJPEG: for every orientation, losslessOrient
// writes exactly the bytes libjpeg-turbo's tjTransform writes (perfect,
// no markers copied), and refuses exactly the transforms it refuses.
func TestTransformMatchesTurboJPEG(t *testing.T) {
	perfectSeen, refusedSeen := 0, 0
	for name, data := range transformVectors(t) {
		for o := 2; o <= 8; o++ {
			got, gerr := losslessOrient(data, o)
			want, werr := turboOrient(data, o)
			if (gerr == nil) != (werr == nil) {
				t.Errorf("%s o=%d: error %v, tjTransform's %v", name, o, gerr, werr)
				continue
			}
			if werr != nil {
				refusedSeen++
				if !errors.Is(gerr, errImperfect) {
					t.Errorf("%s o=%d: %v, want errImperfect", name, o, gerr)
				}
				continue
			}
			perfectSeen++
			if !bytes.Equal(got, want) {
				t.Errorf("%s o=%d: %d bytes differ from tjTransform's %d", name, o, len(got), len(want))
			}
		}
	}
	if perfectSeen < 50 || refusedSeen < 10 {
		t.Errorf("%d perfect and %d refused transforms compared: the vectors no longer cover both", perfectSeen, refusedSeen)
	}
}

// TestTransformRefusesCorrupt: truncated or corrupt entropy data, and a
// progressive stream of too many scans, fail (as tjTransform with
// TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) instead of writing a damaged
// photo.
func TestTransformRefusesCorrupt(t *testing.T) {
	v := transformVectors(t)
	s420 := v["s420.jpg"]
	corrupt := bytes.Clone(s420)
	for i := len(corrupt) / 2; i < len(corrupt)/2+40; i++ {
		corrupt[i] = 0xFF
	}
	for name, b := range map[string][]byte{
		"truncated":       s420[:len(s420)*2/3],
		"corrupt entropy": corrupt,
		"not a jpeg":      []byte("nope, not a JPEG at all"),
	} {
		if _, err := losslessOrient(b, 6); err == nil {
			t.Errorf("%s: transformed", name)
		}
	}
}

// FuzzLosslessOrient: on any bytes, no crash, and the same outcome as
// tjTransform.
func FuzzLosslessOrient(f *testing.F) {
	for _, b := range transformVectors(f) {
		f.Add(b, uint8(6))
	}
	f.Fuzz(func(t *testing.T, data []byte, o uint8) {
		o = 2 + o%7
		got, gerr := losslessOrient(data, int(o))
		want, werr := turboOrient(data, int(o))
		if gerr == nil && werr == nil && !bytes.Equal(got, want) {
			t.Errorf("o=%d: output differs from tjTransform's", o)
		}
		if gerr == nil && werr != nil {
			t.Errorf("o=%d: transformed what tjTransform refused (%v)", o, werr)
		}
	})
}

// BenchmarkLosslessOrient12MP: the DCT-domain rotation of a sideways
// 12 MP photo, this package's transform beside libjpeg-turbo's
// tjTransform (the baseline, same input, same run).
func BenchmarkLosslessOrient12MP(b *testing.B) {
	res, err := Sanitize(photo(b, 4032, 3024), DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fn   func([]byte, int) ([]byte, error)
	}{{"tjTransform", turboOrient}, {"obscura", losslessOrient}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(res.Data)))
			c0 := cpuTime()
			for b.Loop() {
				if _, err := c.fn(res.Data, 6); err != nil {
					b.Fatal(err)
				}
			}
			// The machines are shared: CPU time says more than wall time.
			b.ReportMetric(float64((cpuTime()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
