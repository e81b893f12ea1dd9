// Command flgen builds the scene task's feature set
// (internal/fl/scene/data/scene.bin): documents and receipts rendered with the
// DejaVu fonts from licence texts, screenshots of synthetic application
// screens (light and dark themes, phone and desktop sizes), and crops of real
// photographs from pinned packages. Only feature vectors (internal/scene.Features)
// are written, never images.
//
//	go run ./tools/flgen -photos DIR [-fonts /usr/share/fonts/truetype/dejavu] [-texts /usr/share/common-licenses] -out internal/fl/scene/data/scene.bin
//
// DIR holds the photographs (see internal/fl/scene/data/README.md for their
// sources). The output is deterministic for the same inputs.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // photo sources
	_ "image/png"  // photo sources
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/obscuraproject/obscura/internal/fl/scene"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

func main() {
	photos := flag.String("photos", "", "directory of photographs")
	fonts := flag.String("fonts", "/usr/share/fonts/truetype/dejavu", "directory of DejaVu TTF fonts")
	texts := flag.String("texts", "/usr/share/common-licenses", "directory of plain-text sources for documents")
	out := flag.String("out", "internal/fl/scene/data/scene.bin", "output file")
	perClass := flag.Int("n", 240, "examples per class")
	flag.Parse()
	if err := run(*photos, *fonts, *texts, *out, *perClass); err != nil {
		fmt.Fprintln(os.Stderr, "flgen:", err)
		os.Exit(1)
	}
}

type gen struct {
	r     *rand.Rand
	faces []*opentype.Font
	texts [][]string // words of each source text
}

func run(photoDir, fontDir, textDir, out string, perClass int) error {
	g := &gen{r: rand.New(rand.NewPCG(2026, 23))}
	for _, name := range []string{"DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSans-Bold.ttf"} {
		b, err := os.ReadFile(filepath.Join(fontDir, name))
		if err != nil {
			return err
		}
		f, err := opentype.Parse(b)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		g.faces = append(g.faces, f)
	}
	for _, name := range []string{"GPL-3", "Apache-2.0", "MPL-2.0", "LGPL-2.1", "GFDL-1.3", "Artistic", "BSD", "CC0-1.0", "GPL-2", "LGPL-3"} {
		b, err := os.ReadFile(filepath.Join(textDir, name))
		if err != nil {
			return err
		}
		g.texts = append(g.texts, strings.Fields(string(b)))
	}
	entries, err := os.ReadDir(photoDir)
	if err != nil {
		return err
	}
	var photos []image.Image
	for _, e := range entries {
		f, err := os.Open(filepath.Join(photoDir, e.Name()))
		if err != nil {
			return err
		}
		img, _, err := image.Decode(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		photos = append(photos, img)
	}
	if len(photos) == 0 {
		return fmt.Errorf("no photographs in %s", photoDir)
	}
	var set scene.Scene
	for i := 0; i < perClass; i++ {
		src := i % len(g.texts)
		set.Add(scene.Example{Y: 0, X: scene.Features(g.document(src))}, uint16(src))
	}
	for i := 0; i < perClass; i++ {
		theme := i % 12
		set.Add(scene.Example{Y: 1, X: scene.Features(g.screenshot(theme))}, uint16(100+theme))
	}
	for i := 0; i < perClass; i++ {
		p := i % len(photos)
		set.Add(scene.Example{Y: 2, X: scene.Features(g.crop(photos[p]))}, uint16(200+p))
	}
	return os.WriteFile(out, set.Marshal(), 0o644)
}

func (g *gen) face(i int, size float64) font.Face {
	f, err := opentype.NewFace(g.faces[i%len(g.faces)], &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic(err)
	}
	return f
}

func (g *gen) words(src, n int) []string {
	w := g.texts[src]
	start := g.r.IntN(max(1, len(w)-n))
	return w[start:min(len(w), start+n)]
}

// text draws words wrapped into the box and returns the y after the last line.
func text(dst draw.Image, f font.Face, c color.Color, words []string, x0, y0, x1, y1 int) int {
	d := &font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: f}
	lh := f.Metrics().Height.Ceil()
	y := y0 + lh
	line := ""
	for _, w := range words {
		try := strings.TrimSpace(line + " " + w)
		if d.MeasureString(try).Ceil() > x1-x0 && line != "" {
			d.Dot = fixed.P(x0, y)
			d.DrawString(line)
			y += lh
			line = w
			if y > y1 {
				return y
			}
			continue
		}
		line = try
	}
	d.Dot = fixed.P(x0, y)
	d.DrawString(line)
	return y + lh
}

func fill(dst draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func (g *gen) jitter(base uint8, d int) uint8 {
	return uint8(min(255, max(0, int(base)+g.r.IntN(2*d+1)-d)))
}

// document renders a page, a letter or a receipt from text source src, with
// some scan noise now and then.
func (g *gen) document(src int) image.Image {
	var w, h int
	switch g.r.IntN(3) {
	case 0: // receipt
		w, h = 280+g.r.IntN(100), 600+g.r.IntN(300)
	case 1: // page
		w, h = 595+g.r.IntN(50), 842+g.r.IntN(60)
	default: // photographed page, landscape crop
		w, h = 800+g.r.IntN(200), 600+g.r.IntN(100)
	}
	paper := color.RGBA{g.jitter(245, 10), g.jitter(243, 10), g.jitter(236, 14), 255}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), paper)
	ink := color.RGBA{g.jitter(20, 20), g.jitter(20, 20), g.jitter(30, 25), 255}
	margin := 20 + g.r.IntN(40)
	y := margin
	if g.r.IntN(2) == 0 { // a heading
		y = text(img, g.face(4, 18+float64(g.r.IntN(8))), ink, g.words(src, 6), margin, y, w-margin, h-margin)
	}
	size := 9 + float64(g.r.IntN(8))
	fi := g.r.IntN(4)
	for y < h-margin {
		y = text(img, g.face(fi, size), ink, g.words(src, 30+g.r.IntN(80)), margin, y, w-margin, h-margin) + g.r.IntN(12)
		if g.r.IntN(5) == 0 && y < h-margin-40 { // a table row of figures
			fill(img, image.Rect(margin, y, w-margin, y+1), ink)
			y += 8
		}
	}
	if g.r.IntN(3) == 0 {
		for i := 0; i < w*h/50; i++ {
			x, yy := g.r.IntN(w), g.r.IntN(h)
			v := g.jitter(128, 127)
			img.Set(x, yy, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

// screenshot renders an application screen: a bar, a sidebar or tabs,
// buttons, list rows with text, an avatar-like block, in one of 12 themes.
func (g *gen) screenshot(theme int) image.Image {
	dark := theme%2 == 1
	phone := theme%3 == 0
	w, h := 1280+g.r.IntN(640), 720+g.r.IntN(360)
	if phone {
		w, h = 360+g.r.IntN(80), 740+g.r.IntN(100)
	}
	pal := rand.New(rand.NewPCG(uint64(theme), 7))
	accent := color.RGBA{uint8(pal.IntN(200) + 30), uint8(pal.IntN(200) + 30), uint8(pal.IntN(200) + 30), 255}
	bg, fg, panel := color.RGBA{250, 250, 252, 255}, color.RGBA{30, 30, 35, 255}, color.RGBA{236, 237, 240, 255}
	if dark {
		bg, fg, panel = color.RGBA{28, 29, 33, 255}, color.RGBA{225, 226, 230, 255}, color.RGBA{44, 46, 52, 255}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), bg)
	bar := 40 + g.r.IntN(30)
	fill(img, image.Rect(0, 0, w, bar), accent)
	fi := pal.IntN(4) % 2 * 3 // sans or mono
	text(img, g.face(fi+5, 14), color.White, g.words(g.r.IntN(len(g.texts)), 4), 12, 4, w-12, bar)
	x0 := 0
	if !phone {
		x0 = 180 + g.r.IntN(100)
		fill(img, image.Rect(0, bar, x0, h), panel)
		y := bar + 10
		for y < h-30 {
			text(img, g.face(fi, 13), fg, g.words(g.r.IntN(len(g.texts)), 2), 16, y, x0-10, y+30)
			y += 32
		}
	}
	y := bar + 16
	size := 12 + float64(g.r.IntN(4))
	for y < h-60 {
		switch g.r.IntN(4) {
		case 0: // button row
			bx := x0 + 16
			for k := 0; k < 1+g.r.IntN(3) && bx < w-120; k++ {
				fill(img, image.Rect(bx, y, bx+100, y+32), accent)
				text(img, g.face(fi, 12), color.White, g.words(0, 1), bx+10, y+4, bx+95, y+30)
				bx += 116
			}
			y += 48
		case 1: // avatar + text row
			fill(img, image.Rect(x0+16, y, x0+56, y+40), color.RGBA{uint8(g.r.IntN(255)), uint8(g.r.IntN(255)), uint8(g.r.IntN(255)), 255})
			text(img, g.face(fi, size), fg, g.words(g.r.IntN(len(g.texts)), 10), x0+68, y, w-16, y+44)
			y += 56
		case 2: // separator + text block
			fill(img, image.Rect(x0+16, y, w-16, y+1), panel)
			y = text(img, g.face(fi, size), fg, g.words(g.r.IntN(len(g.texts)), 25), x0+16, y+6, w-16, h-60) + 8
		default: // card
			fill(img, image.Rect(x0+16, y, w-16, y+70), panel)
			text(img, g.face(fi, size), fg, g.words(g.r.IntN(len(g.texts)), 14), x0+28, y+6, w-28, y+66)
			y += 86
		}
	}
	return img
}

// crop takes a random crop (40–100% of the side), possibly mirrored and with
// brightness changed, of a photograph.
func (g *gen) crop(src image.Image) image.Image {
	b := src.Bounds()
	f := 0.4 + 0.6*g.r.Float64()
	cw, ch := max(32, int(float64(b.Dx())*f)), max(32, int(float64(b.Dy())*(0.4+0.6*g.r.Float64())))
	cw, ch = min(cw, b.Dx()), min(ch, b.Dy())
	x0, y0 := b.Min.X+g.r.IntN(b.Dx()-cw+1), b.Min.Y+g.r.IntN(b.Dy()-ch+1)
	mirror := g.r.IntN(2) == 0
	gain := 0.8 + 0.4*g.r.Float64()
	img := image.NewRGBA(image.Rect(0, 0, cw, ch))
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			sx := x0 + x
			if mirror {
				sx = x0 + cw - 1 - x
			}
			r, gg, bb, _ := src.At(sx, y0+y).RGBA()
			sc := func(v uint32) uint8 { return uint8(min(255, float64(v>>8)*gain)) }
			img.Set(x, y, color.RGBA{sc(r), sc(gg), sc(bb), 255})
		}
	}
	return img
}
