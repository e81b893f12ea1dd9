package sandbox

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/vision/arcface"
	"github.com/obscuraproject/obscura/internal/vision/faceres"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

func TestDecodeReplyBounds(t *testing.T) {
	const maxPx = 50_000_000
	cases := []struct {
		name string
		meta string
		blob int
		ok   bool
	}{
		{"full size", `{"width":4,"height":2,"rgb_w":4,"rgb_h":2}`, 32, true},
		{"quarter scale", `{"width":4000,"height":3000,"rgb_w":1000,"rgb_h":750}`, 1000 * 750 * 4, true},
		{"blob short", `{"width":4,"height":2,"rgb_w":4,"rgb_h":2}`, 31, false},
		{"blob long", `{"width":4,"height":2,"rgb_w":4,"rgb_h":2}`, 36, false},
		{"zero size", `{"width":0,"height":2,"rgb_w":0,"rgb_h":2}`, 0, false},
		{"negative", `{"width":-4,"height":-2,"rgb_w":-4,"rgb_h":-2}`, 32, false},
		{"decoded larger than full", `{"width":4,"height":2,"rgb_w":8,"rgb_h":2}`, 64, false},
		{"over the pixel limit", `{"width":10000,"height":10000,"rgb_w":1,"rgb_h":1}`, 4, false},
		{"inconsistent scale", `{"width":4000,"height":3000,"rgb_w":1000,"rgb_h":3000}`, 1000 * 3000 * 4, false},
		{"scale over 8", `{"width":4000,"height":3000,"rgb_w":100,"rgb_h":75}`, 100 * 75 * 4, false},
		{"unknown field", `{"width":4,"height":2,"rgb_w":4,"rgb_h":2,"x":1}`, 32, false},
		{"not json", `{width}`, 32, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _, err := parseDecodeReply(protocol.Frame{Meta: []byte(c.meta), Blob: make([]byte, c.blob)}, maxPx, false)
			if (err == nil) != c.ok {
				t.Fatalf("got %v, want ok=%v", err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrReply) {
				t.Errorf("error %v is not ErrReply", err)
			}
			if err == nil && (p.RGB.Rect.Dx()*p.RGB.Rect.Dy()*4 != c.blob || p.Scale < 1) {
				t.Errorf("picture %v scale %v", p.RGB.Rect, p.Scale)
			}
		})
	}
}

func TestAnalyzeReplyBounds(t *testing.T) {
	req := protocol.PictureMeta{Width: 1000, Height: 800, RGBW: 1000, RGBH: 800}
	all := vision.Features
	good := `{"width":1000,"height":800,"faces":[{"box":{"x":10,"y":10,"w":50,"h":60},"score":0.9}],` +
		`"tags":[{"label":"person","score":0.8}],"sensitive":{"label":"safe","scores":{"drawing":0.1,"hentai":0,"neutral":0.9,"porn":0,"sexy":0}},` +
		`"text":[{"text":"EXIT","box":{"x":1,"y":2,"w":30,"h":10},"score":0.9}]}`
	cases := []struct {
		name     string
		meta     string
		features []string
		ok       bool
	}{
		{"good", good, all, true},
		{"faces only", `{"width":1000,"height":800,"faces":[]}`, []string{vision.Faces}, true},
		{"missing a requested feature", `{"width":1000,"height":800,"faces":[]}`, all, false},
		{"an unrequested feature", good, []string{vision.Faces}, false},
		{"size differs", strings.Replace(good, `"width":1000`, `"width":999`, 1), all, false},
		{"score over 1", strings.Replace(good, `"score":0.9}]`, `"score":1.5}]`, 1), all, false},
		{"negative score", strings.Replace(good, `"score":0.8`, `"score":-0.1`, 1), all, false},
		{"unknown tag", strings.Replace(good, `"person"`, `"password"`, 1), all, false},
		{"tag under the floor", strings.Replace(good, `"score":0.8`, `"score":0.2`, 1), all, false},
		{"unknown rating", strings.Replace(good, `"label":"safe"`, `"label":"fine"`, 1), all, false},
		{"rating class missing", strings.Replace(good, `"sexy":0`, `"other":0`, 1), all, false},
		{"box far outside", strings.Replace(good, `"x":10,`, `"x":99999,`, 1), all, false},
		{"empty box", strings.Replace(good, `"w":50`, `"w":0`, 1), all, false},
		{"empty text", strings.Replace(good, `"EXIT"`, `""`, 1), all, false},
		{"text too long", strings.Replace(good, `"EXIT"`, `"`+strings.Repeat("a", MaxTextBytes+1)+`"`, 1), all, false},
		{"unknown field", strings.Replace(good, `"width"`, `"logits":[1],"width"`, 1), all, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseAnalyzeReply(protocol.Frame{Meta: []byte(c.meta)}, req, c.features)
			if (err == nil) != c.ok {
				t.Fatalf("got %v, want ok=%v", err, c.ok)
			}
		})
	}
	many := vision.Result{Width: 1000, Height: 800, Tags: make([]vision.Tag, vision.MaxTags+1)}
	for i := range many.Tags {
		many.Tags[i] = vision.Tag{Label: "person", Score: 0.9}
	}
	b, _ := json.Marshal(many)
	if _, err := parseAnalyzeReply(protocol.Frame{Meta: b}, req, []string{vision.Tags}); err == nil {
		t.Error("more than MaxTags tags accepted")
	}
}

func unitVector(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(1 / math.Sqrt(float64(n)))
	}
	return v
}

func TestEmbedAndProbeReplyBounds(t *testing.T) {
	req := protocol.PictureMeta{Width: 640, Height: 480, RGBW: 640, RGBH: 480}
	face := `{"faces":[{"box":{"x":10,"y":10,"w":50,"h":60},"score":0.9,"keypoints":[{"x":20,"y":20},{"x":40,"y":20},{"x":30,"y":30},{"x":30,"y":40},{"x":10,"y":20},{"x":50,"y":20}]}]}`
	good := protocol.AppendVector(nil, unitVector(arcface.Dim))
	if es, err := parseEmbedReply(protocol.Frame{Meta: []byte(face), Blob: good}, req); err != nil || len(es) != 1 {
		t.Fatalf("good embedding: %v", err)
	}
	notUnit := protocol.AppendVector(nil, make([]float32, arcface.Dim))
	nan := protocol.AppendVector(nil, append(unitVector(arcface.Dim-1), float32(math.NaN())))
	for name, blob := range map[string][]byte{"not unit": notUnit, "nan": nan, "short": good[:len(good)-4], "two for one face": append(good, good...)} {
		if _, err := parseEmbedReply(protocol.Frame{Meta: []byte(face), Blob: blob}, req); !errors.Is(err, ErrReply) {
			t.Errorf("%s: %v, want ErrReply", name, err)
		}
	}
	if _, err := parseEmbedReply(protocol.Frame{Meta: []byte(strings.Replace(face, `{"x":20,"y":20}`, `{"x":1e9,"y":20}`, 1)), Blob: good}, req); err == nil {
		t.Error("keypoint far outside the photo accepted")
	}
	raw := protocol.AppendVector(nil, make([]float32, faceres.Dim))
	if _, err := parseProbeReply(protocol.Frame{Meta: []byte("{}"), Blob: raw}); err != nil {
		t.Errorf("good probe: %v", err)
	}
	if _, err := parseProbeReply(protocol.Frame{Meta: []byte("{}"), Blob: raw[:8]}); err == nil {
		t.Error("short probe vector accepted")
	}
}

func TestSanitizeReplyBounds(t *testing.T) {
	jpg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0}
	lim := sanitize.DefaultLimits
	ok := `{"format":"jpeg","width":10,"height":10,"orientation":1,"reencoded":false}`
	if _, err := parseSanitizeReply(protocol.Frame{Meta: []byte(ok), Blob: jpg}, lim, 100); err != nil {
		t.Fatalf("good: %v", err)
	}
	for name, c := range map[string]struct {
		meta string
		blob []byte
	}{
		"format lies":       {strings.Replace(ok, "jpeg", "png", 1), jpg},
		"heic stored":       {strings.Replace(ok, "jpeg", "heic", 1), jpg},
		"not an image":      {ok, []byte("hello")},
		"orientation 9":     {strings.Replace(ok, `"orientation":1`, `"orientation":9`, 1), jpg},
		"over pixel limit":  {strings.Replace(ok, `"width":10`, `"width":100000000`, 1), jpg},
		"bigger than bound": {ok, append(jpg, make([]byte, 200)...)},
	} {
		if _, err := parseSanitizeReply(protocol.Frame{Meta: []byte(c.meta), Blob: c.blob}, lim, 100); !errors.Is(err, ErrReply) {
			t.Errorf("%s: %v, want ErrReply", name, err)
		}
	}
}

func TestErrorReplies(t *testing.T) {
	cases := []struct {
		op   protocol.Op
		code string
		want error
	}{
		{protocol.OpDecode, "invalid", picture.ErrInvalid},
		{protocol.OpDecode, "too_large", picture.ErrTooLarge},
		{protocol.OpSanitize, "invalid", sanitize.ErrInvalid},
		{protocol.OpSanitize, "unsupported", sanitize.ErrUnsupported},
		{protocol.OpAnalyze, "feature", vision.ErrFeature},
		{protocol.OpAnalyze, "made-up", ErrReply},
	}
	for _, c := range cases {
		err := replyError(protocol.Frame{Status: protocol.StatusErr, Meta: []byte(`{"code":"` + c.code + `","message":"x\u001b[31m"}`)}, c.op)
		if !errors.Is(err, c.want) {
			t.Errorf("%d %s: %v, want %v", c.op, c.code, err, c.want)
		}
		if strings.ContainsRune(err.Error(), 0x1b) {
			t.Errorf("control character from the worker kept: %q", err)
		}
	}
}

// FuzzReplies: no reply a worker can send panics the server's parsers.
func FuzzReplies(f *testing.F) {
	f.Add([]byte(`{"width":4,"height":2,"rgb_w":4,"rgb_h":2}`), make([]byte, 32))
	f.Add([]byte(`{"width":1000,"height":800,"faces":[{"box":{"x":10,"y":10,"w":50,"h":60},"score":0.9}]}`), []byte{})
	f.Add([]byte(`{"faces":[{"box":{"x":1,"y":1,"w":5,"h":6},"score":0.5}]}`), protocol.AppendVector(nil, unitVector(arcface.Dim)))
	f.Add([]byte(`{"format":"jpeg","width":10,"height":10,"orientation":6,"reencoded":true}`), []byte{0xFF, 0xD8, 0xFF})
	f.Add([]byte(`{"code":"invalid","message":"bad"}`), []byte{})
	req := protocol.PictureMeta{Width: 1000, Height: 800, RGBW: 500, RGBH: 400}
	f.Fuzz(func(t *testing.T, meta, blob []byte) {
		fr := protocol.Frame{Meta: meta, Blob: blob}
		parseDecodeReply(fr, 50_000_000, true)
		parseAnalyzeReply(fr, req, vision.Features)
		parseEmbedReply(fr, req)
		parseProbeReply(fr)
		parseSanitizeReply(fr, sanitize.DefaultLimits, 1<<20)
		replyError(fr, protocol.OpSanitize)
		checkHello(meta, All)
	})
}
