package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/blazeface"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

func pictureOfSize(w, h int) *picture.Picture {
	return &picture.Picture{RGB: image.NewRGBA(image.Rect(0, 0, w, h)), Width: w, Height: h, Scale: 1}
}

func TestKeptSetBounds(t *testing.T) {
	var k keptSet
	small := func() *picture.Picture { return pictureOfSize(10, 10) }
	for _, id := range []string{"a", "b", "c", "d"} {
		if !k.put(id, small()) {
			t.Fatalf("put %s refused", id)
		}
	}
	if k.get("a") == nil { // a becomes the most recently used
		t.Fatal("a not kept")
	}
	k.put("e", small()) // evicts b, the least recently used
	for id, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true, "e": true} {
		if got := k.get(id) != nil; got != want {
			t.Errorf("after eviction, kept %s = %v, want %v", id, got, want)
		}
	}
	if k.len() != maxKept || k.bytes != int64(maxKept*400) {
		t.Errorf("%d pictures of %d bytes, want %d of %d", k.len(), k.bytes, maxKept, maxKept*400)
	}
	k.drop("a", "zz", "c")
	if k.get("a") != nil || k.get("c") != nil || k.len() != 2 || k.bytes != 800 {
		t.Errorf("after drop: %d pictures of %d bytes", k.len(), k.bytes)
	}
	// A picture over the byte bound is not kept; big ones push out others.
	if k.put("huge", pictureOfSize(8192, maxKeptBytes/8192/4+1)) || k.get("huge") != nil {
		t.Error("a picture over the byte bound was kept")
	}
	half := pictureOfSize(4096, maxKeptBytes/4096/4/2+1)
	k.put("h1", half)
	k.put("h2", half)
	if k.get("h1") != nil || k.get("h2") == nil || k.bytes > maxKeptBytes {
		t.Errorf("byte bound: %d bytes kept", k.bytes)
	}
	if checkKeepID(newKeepID()) != nil || checkKeepID(strings.Repeat("A", keepIDLen)) == nil || checkKeepID("abc") == nil {
		t.Error("keep id check")
	}
}

// recordingEngine is a test double of the models: it records the pixels
// of each picture it is given.
type recordingEngine struct{ seen [][]byte }

func (e *recordingEngine) AnalyzePicture(_ context.Context, p *picture.Picture, _ []string) (*vision.Result, error) {
	e.seen = append(e.seen, p.RGB.Pix)
	return &vision.Result{Width: p.Width, Height: p.Height}, nil
}

func (e *recordingEngine) Embeddings(_ context.Context, p *picture.Picture) ([]vision.Embedding, error) {
	e.seen = append(e.seen, p.RGB.Pix)
	return nil, nil
}

func (e *recordingEngine) FaceProbe(*picture.Picture, blazeface.Face) vision.FaceProbe { return nil }

// TestWorkerKeepsPicture: a decode asked to keep its picture serves later
// model requests that name it without pixels; unknown, dropped or
// mismatched names are refused, never answered from another picture.
func TestWorkerKeepsPicture(t *testing.T) {
	eng := &recordingEngine{}
	wk := &Worker{Engine: eng, Decode: picture.DefaultOptions}
	id, other := newKeepID(), newKeepID()
	frame := func(op Op, meta any, blob []byte) Frame {
		b, err := json.Marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		return Frame{Op: op, Meta: b, Blob: blob}
	}
	data := testJPEG(t, 120, 80)
	pm := pictureMeta{Width: 120, Height: 80, RGBW: 120, RGBH: 80}
	wrong := pm
	wrong.RGBW, wrong.Width = 60, 60
	steps := []struct {
		name string
		req  Frame
		code string // "" ok
	}{
		{"decode and keep", frame(OpDecode, decodeMeta{Keep: id}, data), ""},
		{"analyze named", frame(OpAnalyze, analyzeMeta{Picture: pm, Features: []string{vision.Tags}, Ref: id}, nil), ""},
		{"embed named", frame(OpEmbed, embedMeta{pictureMeta: pm, Ref: id}, nil), ""},
		{"unknown name", frame(OpAnalyze, analyzeMeta{Picture: pm, Features: []string{vision.Tags}, Ref: other}, nil), "not_kept"},
		{"name and pixels", frame(OpAnalyze, analyzeMeta{Picture: pm, Features: []string{vision.Tags}, Ref: id}, make([]byte, 4*120*80)), "other"},
		{"name of another size", frame(OpEmbed, embedMeta{pictureMeta: wrong, Ref: id}, nil), "other"},
		{"drop", frame(OpDrop, dropMeta{IDs: []string{id}}, nil), ""},
		{"dropped name", frame(OpEmbed, embedMeta{pictureMeta: pm, Ref: id}, nil), "not_kept"},
		{"bad keep id", frame(OpDecode, decodeMeta{Keep: "../etc"}, data), "other"},
		{"decode without keeping", frame(OpDecode, decodeMeta{}, data), ""},
	}
	var in, out bytes.Buffer
	for _, s := range steps {
		if err := WriteFrame(&in, s.req); err != nil {
			t.Fatal(err)
		}
	}
	if err := wk.Serve(context.Background(), &in, &out); err != nil {
		t.Fatal(err)
	}
	var decoded []byte
	for _, s := range steps {
		f, err := ReadFrame(&out, 1<<30)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		code := ""
		if f.Status == statusErr {
			var m errorMeta
			json.Unmarshal(f.Meta, &m)
			code = m.Code
		}
		if f.Op != s.req.Op || code != s.code {
			t.Errorf("%s: op %d code %q, want op %d code %q", s.name, f.Op, code, s.req.Op, s.code)
		}
		if s.req.Op == OpDecode && code == "" {
			p, kept, err := parseDecodeReply(f, 50_000_000, true)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if want := s.name == "decode and keep"; kept != want {
				t.Errorf("%s: kept = %v, want %v", s.name, kept, want)
			}
			if decoded == nil {
				decoded = p.RGB.Pix
			}
		}
	}
	if len(eng.seen) != 2 {
		t.Fatalf("the models ran %d times, want 2", len(eng.seen))
	}
	for i, px := range eng.seen {
		if !bytes.Equal(px, decoded) {
			t.Errorf("model pass %d read pixels other than the decoded ones", i)
		}
	}
	if wk.kept.len() != 0 {
		t.Errorf("%d pictures still kept after the drop", wk.kept.len())
	}
}

// TestDecodeReplyKeptUnasked: a worker claiming to keep a picture it was
// not asked to keep breaks the protocol.
func TestDecodeReplyKeptUnasked(t *testing.T) {
	f := Frame{Op: OpDecode, Meta: []byte(`{"width":1,"height":1,"rgb_w":1,"rgb_h":1,"kept":true}`), Blob: make([]byte, 4)}
	if _, _, err := parseDecodeReply(f, 100, false); !errors.Is(err, ErrReply) {
		t.Errorf("unasked keep: %v, want ErrReply", err)
	}
	if _, kept, err := parseDecodeReply(f, 100, true); err != nil || !kept {
		t.Errorf("asked keep: kept %v, %v", kept, err)
	}
}

// TestPoolSendsPixelsOnce: through a real worker, the model passes on a
// picture the pool decoded carry no pixels; after Release, or once the
// worker has evicted it, they carry them again (and nothing fails or is
// replaced for it).
func TestPoolSendsPixelsOnce(t *testing.T) {
	p := startTestPool(t, All, Options{})
	ctx := context.Background()
	data := testJPEG(t, 200, 100)
	pixelBytes := int64(4 * 200 * 100)
	sent := p.Sent()
	pic, err := p.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Sent() - sent; d != int64(len(data)) {
		t.Errorf("decode sent %d bytes, want the %d of the file", d, len(data))
	}
	if _, ok := p.keptBy(pic); !ok {
		t.Fatal("the decoded picture is not kept")
	}
	pids := p.PIDs()
	// The test worker has no models: each pass answers unavailable, after
	// the worker has resolved the picture it names.
	sent = p.Sent()
	_, errA := p.AnalyzePicture(ctx, pic, []string{vision.Tags})
	_, errE := p.Embeddings(ctx, pic)
	if errA == nil || errE == nil || errors.Is(errA, ErrUnavailable) || errors.Is(errE, ErrUnavailable) {
		t.Fatalf("model passes: %v, %v (want the no-models error, no worker failure)", errA, errE)
	}
	if d := p.Sent() - sent; d != 0 {
		t.Errorf("model passes on a kept picture sent %d bytes of pixels", d)
	}
	p.Release(pic)
	if _, ok := p.keptBy(pic); ok {
		t.Error("released picture still kept")
	}
	sent = p.Sent()
	p.AnalyzePicture(ctx, pic, []string{vision.Tags})
	if d := p.Sent() - sent; d != pixelBytes {
		t.Errorf("after release, a pass sent %d bytes, want %d", d, pixelBytes)
	}
	// Evicted in the worker but still named by the server: the worker
	// answers not_kept and the pool resends the pixels.
	first, err := p.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	for range maxKept {
		if _, err := p.Decode(data); err != nil {
			t.Fatal(err)
		}
	}
	sent = p.Sent()
	if _, err := p.Embeddings(ctx, first); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("pass on an evicted picture: %v", err)
	}
	if d := p.Sent() - sent; d != pixelBytes {
		t.Errorf("pass on an evicted picture sent %d bytes, want %d", d, pixelBytes)
	}
	if !slices.Equal(pids, p.PIDs()) {
		t.Errorf("workers replaced: %v → %v", pids, p.PIDs())
	}
	// A released picture's drop reaches the idle worker.
	ref, ok := p.keptBy(first)
	if !ok {
		t.Fatal("first picture not kept")
	}
	p.Release(first)
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		n := len(ref.w.drops)
		p.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d drops never sent", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
