package protocol

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/frames.txt")

// frameVectors are the worker-v1 vectors (docs/spec/worker-v1.md): one
// accepted frame of each kind and one failure mode per rejected one.
var frameVectors = []struct {
	name string
	data string // hex
}{
	{"ok-decode-request", "4f425701020000000000000200000003" + hex.EncodeToString([]byte("{}")) + "ffd8ff"},
	{"ok-error-reply", "4f42570102010000000000250000000" + "0" + hex.EncodeToString([]byte(`{"code":"invalid","message":"trunc."}`))},
	{"ok-hello", "4f42570101000000000000090000000" + "0" + hex.EncodeToString([]byte(`{"pid":7}`))},
	{"bad-magic", "4f42580102000000000000020000000" + "0" + hex.EncodeToString([]byte("{}"))},
	{"bad-version", "4f42570202000000000000020000000" + "0" + hex.EncodeToString([]byte("{}"))},
	{"bad-reserved", "4f42570102000100000000020000000" + "0" + hex.EncodeToString([]byte("{}"))},
	{"bad-status", "4f42570102020000000000020000000" + "0" + hex.EncodeToString([]byte("{}"))},
	{"bad-meta-short", "4f42570102000000000000010000000" + "0" + "7b"},
	{"bad-meta-not-object", "4f42570102000000000000020000000" + "0" + hex.EncodeToString([]byte("[]"))},
	{"bad-blob-over-limit", "4f425701020000000000000200200000" + hex.EncodeToString([]byte("{}"))},
	{"bad-meta-over-limit", "4f42570102000000001000010000000" + "0"},
	{"bad-truncated-body", "4f42570102000000000000020000000" + "5" + hex.EncodeToString([]byte("{}")) + "ffd8"},
	{"bad-trailing-bytes", "4f42570102000000000000020000000" + "0" + hex.EncodeToString([]byte("{}")) + "00"},
	{"bad-short-header", "4f425701020000"},
}

// maxBlobVector is the blob limit the vectors are parsed with.
const maxBlobVector = 1 << 20

func describe(f Frame, err error) string {
	switch {
	case errors.Is(err, ErrFrameSize):
		return "reject size"
	case errors.Is(err, ErrFrame):
		return "reject malformed"
	case err != nil:
		return "reject " + err.Error()
	}
	return fmt.Sprintf("ok op=%d status=%d meta=%s blob=%x", f.Op, f.Status, f.Meta, f.Blob)
}

func TestFrameVectors(t *testing.T) {
	var got strings.Builder
	for _, v := range frameVectors {
		data, err := hex.DecodeString(v.data)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		f, err := ParseFrame(data, maxBlobVector)
		d := describe(f, err)
		if strings.HasPrefix(v.name, "ok-") != strings.HasPrefix(d, "ok ") {
			t.Errorf("%s: %s", v.name, d)
		}
		// The stream reader agrees with the one-shot parser, except that it
		// cannot see trailing bytes (they are the next frame).
		if v.name != "bad-trailing-bytes" {
			f2, err2 := ReadFrame(bytes.NewReader(data), maxBlobVector)
			if d2 := describe(f2, err2); d2 != d {
				t.Errorf("%s: ReadFrame %s, ParseFrame %s", v.name, d2, d)
			}
		}
		if err == nil {
			var buf bytes.Buffer
			if err := WriteFrame(&buf, f); err != nil || !bytes.Equal(buf.Bytes(), data) {
				t.Errorf("%s: re-encoding differs: %x (%v)", v.name, buf.Bytes(), err)
			}
		}
		fmt.Fprintf(&got, "%s\t%s\t%s\n", v.name, v.data, d)
	}
	golden := "testdata/frames.txt"
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("vectors differ from %s (run with -update after a deliberate change):\n%s", golden, got.String())
	}
}

func TestReadFrameStream(t *testing.T) {
	var buf bytes.Buffer
	in := []Frame{{Op: OpDecode, Blob: []byte{1, 2, 3}}, {Op: OpAnalyze, Meta: []byte(`{"a":1}`)}, {Op: OpHello, Status: StatusErr, Meta: []byte(`{"code":"other","message":""}`)}}
	for _, f := range in {
		if err := WriteFrame(&buf, f); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(&buf)
	for i, want := range in {
		f, err := ReadFrame(r, 10)
		if err != nil || f.Op != want.Op || f.Status != want.Status || !bytes.Equal(f.Blob, want.Blob) {
			t.Fatalf("frame %d: got %+v, %v", i, f, err)
		}
	}
	if _, err := ReadFrame(r, 10); err != io.EOF {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
}

// FuzzParseFrame: no input panics; an accepted frame re-encodes to the
// same bytes.
func FuzzParseFrame(f *testing.F) {
	for _, v := range frameVectors {
		b, _ := hex.DecodeString(v.data)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := ParseFrame(data, maxBlobVector)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteFrame(&buf, fr); err != nil || !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("round trip: %x -> %x (%v)", data, buf.Bytes(), err)
		}
	})
}

// TestReadFrameReuse: a worker's reads reuse one buffer — a smaller frame
// lands in it, a larger one grows it — and every frame reads exactly.
func TestReadFrameReuse(t *testing.T) {
	var stream bytes.Buffer
	frames := []Frame{
		{Op: OpAnalyze, Meta: []byte(`{"a":1}`), Blob: bytes.Repeat([]byte{1}, 1000)},
		{Op: OpEmbed, Meta: []byte(`{}`), Blob: bytes.Repeat([]byte{2}, 10)},
		{Op: OpDecode, Meta: []byte(`{"b":2}`), Blob: bytes.Repeat([]byte{3}, 5000)},
	}
	for _, f := range frames {
		if err := WriteFrame(&stream, f); err != nil {
			t.Fatal(err)
		}
	}
	var buf []byte
	for i, want := range frames {
		got, err := ReadFrameInto(&stream, 1<<20, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if got.Op != want.Op || !bytes.Equal(got.Meta, want.Meta) || !bytes.Equal(got.Blob, want.Blob) {
			t.Errorf("frame %d: got op %d meta %q blob %d bytes", i, got.Op, got.Meta, len(got.Blob))
		}
		if need := len(want.Meta) + len(want.Blob); cap(buf) < need || (i == 1 && cap(buf) != 1007) {
			t.Errorf("frame %d: buffer cap %d (need %d; the second frame must reuse the first's)", i, cap(buf), need)
		}
	}
}
