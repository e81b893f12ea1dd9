package jpegtran

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/sanitize/sanitizetest"
)

// cpuTime is this process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// transformVectors are small JPEGs written by libjpeg-turbo's cjpeg
// (testdata/README.md): each sampling libjpeg writes, gray, progressive,
// restart markers, and partial MCUs on one or both edges.
func transformVectors(t testing.TB) map[string][]byte {
	paths, err := filepath.Glob("testdata/*.jpg")
	if err != nil || len(paths) < 10 {
		t.Fatalf("transform vectors: %v (%d)", err, len(paths))
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// TestTransformMatchesTurboJPEG: for every orientation, Orient
// writes exactly the bytes libjpeg-turbo's tjTransform writes (perfect,
// no markers copied), and refuses exactly the transforms it refuses.
func TestTransformMatchesTurboJPEG(t *testing.T) {
	perfectSeen, refusedSeen := 0, 0
	for name, data := range transformVectors(t) {
		for o := 2; o <= 8; o++ {
			got, gerr := Orient(data, o)
			want, werr := turboOrient(data, o)
			if (gerr == nil) != (werr == nil) {
				t.Errorf("%s o=%d: error %v, tjTransform's %v", name, o, gerr, werr)
				continue
			}
			if werr != nil {
				refusedSeen++
				if !errors.Is(gerr, ErrImperfect) {
					t.Errorf("%s o=%d: %v, want ErrImperfect", name, o, gerr)
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

// sameCoefficients fails t unless a and b decode (libjpeg) to the same
// components, tables and DCT coefficients.
func sameCoefficients(t *testing.T, what string, a, b []byte) {
	t.Helper()
	ca, err := sanitizetest.Coefficients(a)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	cb, err := sanitizetest.Coefficients(b)
	if err != nil {
		t.Fatalf("%s: reference: %v", what, err)
	}
	if !slices.Equal(ca, cb) {
		i := 0
		for i < min(len(ca), len(cb)) && ca[i] == cb[i] {
			i++
		}
		t.Errorf("%s: coefficients differ from tjTransform's (%d and %d values, first difference at %d)", what, len(ca), len(cb), i)
	}
}

// restarts counts a JPEG's DRI segments and RSTn markers (in a
// metadata-free stream, 0xFF followed by 0xD0–0xD7 is only a marker).
func restarts(b []byte) (dri, rst int) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0xFF {
			switch {
			case b[i+1] == 0xDD:
				dri++
			case b[i+1] >= 0xD0 && b[i+1] <= 0xD7:
				rst++
			}
		}
	}
	return dri, rst
}

// TestTransformStrips: entropy-coded in strips joined by restart markers,
// every orientation of every vector decodes to exactly the coefficients
// of tjTransform's unsplit output, refuses what it refuses, and carries
// one DRI segment and strips−1 restart markers; djpeg and jpegtran read
// it without a warning.
func TestTransformStrips(t *testing.T) {
	djpeg, _ := exec.LookPath("djpeg")
	jpegtran, _ := exec.LookPath("jpegtran")
	dir := t.TempDir()
	split := 0
	for name, data := range transformVectors(t) {
		for o := 2; o <= 8; o++ {
			want, werr := turboOrient(data, o)
			for _, n := range []int{2, 3, 5} {
				got, gerr := orientStrips(data, o, n, 0)
				what := fmt.Sprintf("%s o=%d strips=%d", name, o, n)
				if (gerr == nil) != (werr == nil) {
					t.Errorf("%s: error %v, tjTransform's %v", what, gerr, werr)
					continue
				}
				if werr != nil {
					continue
				}
				sameCoefficients(t, what, got, want)
				// 96×64 (or 64×96) in 16-row MCUs has 4 or 6 iMCU rows.
				dri, rst := restarts(got)
				if dri != 1 || rst < 1 {
					t.Errorf("%s: %d DRI segments and %d restart markers", what, dri, rst)
					continue
				}
				split++
				if o != 6 || n != 3 {
					continue
				}
				p := filepath.Join(dir, fmt.Sprintf("%s-%d.jpg", name, o))
				if err := os.WriteFile(p, got, 0o600); err != nil {
					t.Fatal(err)
				}
				for _, tool := range [][]string{{djpeg, "-outfile", os.DevNull, p}, {jpegtran, "-copy", "none", "-outfile", os.DevNull, p}} {
					if tool[0] == "" {
						continue
					}
					if out, err := exec.Command(tool[0], tool[1:]...).CombinedOutput(); err != nil || len(out) > 0 {
						t.Errorf("%s: %s: %v %s", what, filepath.Base(tool[0]), err, out)
					}
				}
			}
		}
	}
	if split < 150 {
		t.Errorf("only %d split transforms compared", split)
	}
}

// TestTransformStrips2MP: a 2 MP sideways photo (over splitMinPixels) is
// split by Orient itself when more than one thread may run, and
// decodes to tjTransform's coefficients; one thread writes tjTransform's
// bytes.
func TestTransformStrips2MP(t *testing.T) {
	data := sanitizetest.Photo(2048, 1024)
	want, err := turboOrient(data, 6)
	if err != nil {
		t.Fatal(err)
	}
	got, err := orientStrips(data, 6, 2, splitMinPixels)
	if err != nil {
		t.Fatal(err)
	}
	if dri, rst := restarts(got); dri != 1 || rst != 1 {
		t.Errorf("%d DRI segments and %d restart markers, want 1 and 1", dri, rst)
	}
	sameCoefficients(t, "2 MP, 2 strips", got, want)
	one, err := orientStrips(data, 6, 1, splitMinPixels)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one, want) {
		t.Errorf("one strip: %d bytes differ from tjTransform's %d", len(one), len(want))
	}
}

// TestJoinStripsRefuses: strips that are not whole JPEGs with a baseline
// frame and scan are not joined.
func TestJoinStripsRefuses(t *testing.T) {
	v := transformVectors(t)["s420.jpg"]
	prog := transformVectors(t)["progressive.jpg"]
	for name, parts := range map[string][][]byte{
		"truncated":   {v, v[:len(v)-1]},
		"no scan":     {v, []byte{0xFF, 0xD8, 0xFF, 0xD9}},
		"progressive": {v, prog},
		"too high":    slices.Repeat([][]byte{v}, 1100),
	} {
		if _, err := joinStrips(nil, parts); err == nil {
			t.Errorf("%s: joined", name)
		}
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
		if _, err := Orient(b, 6); err == nil {
			t.Errorf("%s: transformed", name)
		}
	}
}

// FuzzLosslessOrient: on any bytes, no crash, and the same outcome as
// tjTransform: the same bytes unsplit, the same coefficients in strips.
func FuzzLosslessOrient(f *testing.F) {
	for _, b := range transformVectors(f) {
		f.Add(b, uint8(6))
	}
	f.Fuzz(func(t *testing.T, data []byte, o uint8) {
		o = 2 + o%7
		got, gerr := Orient(data, int(o))
		want, werr := turboOrient(data, int(o))
		if gerr == nil && werr == nil && !bytes.Equal(got, want) {
			t.Errorf("o=%d: output differs from tjTransform's", o)
		}
		if gerr == nil && werr != nil {
			t.Errorf("o=%d: transformed what tjTransform refused (%v)", o, werr)
		}
		split, serr := orientStrips(data, int(o), 3, 0)
		if (serr == nil) != (werr == nil) {
			t.Fatalf("o=%d: in strips %v, tjTransform %v", o, serr, werr)
		}
		if serr == nil {
			sameCoefficients(t, "strips", split, want)
		}
	})
}

// BenchmarkLosslessOrient12MP: the DCT-domain rotation of a sideways
// 12 MP photo, this package's transform (on one thread, and as
// Orient splits it) beside libjpeg-turbo's tjTransform (the
// baseline, same input, same run).
func BenchmarkLosslessOrient12MP(b *testing.B) {
	data := sanitizetest.Photo(4032, 3024)
	for _, c := range []struct {
		name string
		fn   func([]byte, int) ([]byte, error)
	}{
		{"tjTransform", turboOrient},
		{"obscura-1strip", func(b []byte, o int) ([]byte, error) { return orientStrips(b, o, 1, 0) }},
		{"obscura", Orient},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			c0 := cpuTime()
			for b.Loop() {
				if _, err := c.fn(data, 6); err != nil {
					b.Fatal(err)
				}
			}
			// The machines are shared: CPU time says more than wall time.
			b.ReportMetric(float64((cpuTime()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
