package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
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
	if k.len() != MaxKept || k.bytes != int64(MaxKept*400) {
		t.Errorf("%d pictures of %d bytes, want %d of %d", k.len(), k.bytes, MaxKept, MaxKept*400)
	}
	k.drop("a", "zz", "c")
	if k.get("a") != nil || k.get("c") != nil || k.len() != 2 || k.bytes != 800 {
		t.Errorf("after drop: %d pictures of %d bytes", k.len(), k.bytes)
	}
	// A picture over the byte bound is not kept; big ones push out others.
	if k.put("huge", pictureOfSize(8192, MaxKeptBytes/8192/4+1)) || k.get("huge") != nil {
		t.Error("a picture over the byte bound was kept")
	}
	half := pictureOfSize(4096, MaxKeptBytes/4096/4/2+1)
	k.put("h1", half)
	k.put("h2", half)
	if k.get("h1") != nil || k.get("h2") == nil || k.bytes > MaxKeptBytes {
		t.Errorf("byte bound: %d bytes kept", k.bytes)
	}
	if protocol.CheckKeepID(protocol.NewKeepID()) != nil || protocol.CheckKeepID(strings.Repeat("A", protocol.KeepIDLen)) == nil || protocol.CheckKeepID("abc") == nil {
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
	id, other := protocol.NewKeepID(), protocol.NewKeepID()
	frame := func(op protocol.Op, meta any, blob []byte) protocol.Frame {
		b, err := json.Marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		return protocol.Frame{Op: op, Meta: b, Blob: blob}
	}
	data := smallJPEG(t, 120, 80)
	pm := protocol.PictureMeta{Width: 120, Height: 80, RGBW: 120, RGBH: 80}
	wrong := pm
	wrong.RGBW, wrong.Width = 60, 60
	steps := []struct {
		name string
		req  protocol.Frame
		code string // "" ok
	}{
		{"decode and keep", frame(protocol.OpDecode, protocol.DecodeMeta{Keep: id}, data), ""},
		{"analyze named", frame(protocol.OpAnalyze, protocol.AnalyzeMeta{Picture: pm, Features: []string{vision.Tags}, Ref: id}, nil), ""},
		{"embed named", frame(protocol.OpEmbed, protocol.EmbedMeta{PictureMeta: pm, Ref: id}, nil), ""},
		{"unknown name", frame(protocol.OpAnalyze, protocol.AnalyzeMeta{Picture: pm, Features: []string{vision.Tags}, Ref: other}, nil), "not_kept"},
		{"name and pixels", frame(protocol.OpAnalyze, protocol.AnalyzeMeta{Picture: pm, Features: []string{vision.Tags}, Ref: id}, make([]byte, 4*120*80)), "other"},
		{"name of another size", frame(protocol.OpEmbed, protocol.EmbedMeta{PictureMeta: wrong, Ref: id}, nil), "other"},
		{"drop", frame(protocol.OpDrop, protocol.DropMeta{IDs: []string{id}}, nil), ""},
		{"dropped name", frame(protocol.OpEmbed, protocol.EmbedMeta{PictureMeta: pm, Ref: id}, nil), "not_kept"},
		{"bad keep id", frame(protocol.OpDecode, protocol.DecodeMeta{Keep: "../etc"}, data), "other"},
		{"decode without keeping", frame(protocol.OpDecode, protocol.DecodeMeta{}, data), ""},
	}
	var in, out bytes.Buffer
	for _, s := range steps {
		if err := protocol.WriteFrame(&in, s.req); err != nil {
			t.Fatal(err)
		}
	}
	if err := wk.Serve(context.Background(), &in, &out); err != nil {
		t.Fatal(err)
	}
	var decoded []byte
	for _, s := range steps {
		f, err := protocol.ReadFrame(&out, 1<<30)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		code := ""
		if f.Status == protocol.StatusErr {
			var m protocol.ErrorMeta
			json.Unmarshal(f.Meta, &m)
			code = m.Code
		}
		if f.Op != s.req.Op || code != s.code {
			t.Errorf("%s: op %d code %q, want op %d code %q", s.name, f.Op, code, s.req.Op, s.code)
		}
		if s.req.Op == protocol.OpDecode && code == "" {
			var m protocol.DecodeReplyMeta
			if err := protocol.StrictJSON(f.Meta, &m); err != nil || m.RGBW != 120 || len(f.Blob) != 4*120*80 {
				t.Fatalf("%s: %+v, %d bytes, %v", s.name, m, len(f.Blob), err)
			}
			if want := s.name == "decode and keep"; m.Kept != want {
				t.Errorf("%s: kept = %v, want %v", s.name, m.Kept, want)
			}
			if decoded == nil {
				decoded = f.Blob
			}
		}
	}
	if len(eng.seen) != 2 {
		t.Fatalf("the models ran %d times, want 2", len(eng.seen))
	}
	for i, px := range eng.seen {
		if !bytes.Equal(px, decoded) {
			t.Errorf("model pass %d read protocol.Pixels other than the decoded ones", i)
		}
	}
	if wk.kept.len() != 0 {
		t.Errorf("%d pictures still kept after the drop", wk.kept.len())
	}
}

// smallJPEG is a w×h gradient JPEG.
func smallJPEG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
