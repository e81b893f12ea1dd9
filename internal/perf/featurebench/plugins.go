package featurebench

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/perf"
	"github.com/obscuraproject/obscura/internal/plugin"
	"github.com/obscuraproject/obscura/plugins/face-blur/blur"
	sdk "github.com/obscuraproject/obscura/sdk/plugin"
)

// groupPhoto12MP is a 4000×3000 RGBA picture with a gradient and twelve
// face boxes of 300×300 (a group photo's worth of faces).
func groupPhoto12MP() (*image.RGBA, []plugin.Box) {
	im := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	for i := 0; i < len(im.Pix); i += 4 {
		p := i / 4
		im.Pix[i], im.Pix[i+1], im.Pix[i+2], im.Pix[i+3] = byte(p%4000), byte(p/4000), byte(p*7), 255
	}
	var boxes []plugin.Box
	for i := range 12 {
		boxes = append(boxes, plugin.Box{X: 200 + (i%6)*600, Y: 700 + (i/6)*1100, W: 300, H: 300})
	}
	return im, boxes
}

// PluginCases compares face-blur on a 12 MP photo in the sandbox (input
// and output copied across the boundary, module instantiated per run, as
// a request runs it) with the same Go code compiled natively (the input
// copied once, as the host hands it over).
func PluginCases(ctx context.Context, wasm []byte) ([]perf.Bench, func(), error) {
	rt, err := plugin.NewRuntime(ctx, plugin.Config{Timeout: time.Minute})
	if err != nil {
		return nil, nil, err
	}
	cm, err := rt.Compile(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, nil, err
	}
	im, boxes := groupPhoto12MP()
	params := []byte(`{"margin":0.25,"mode":"pixelate"}`)
	faces := make([]sdk.Face, len(boxes))
	for i, b := range boxes {
		faces[i] = sdk.Face{X: b.X, Y: b.Y, W: b.W, H: b.H}
	}
	size := len(im.Pix)
	return []perf.Bench{
		{Name: "face-blur-12mp/sandbox", Size: size, Run: func(n int) error {
			for range n {
				if _, err := rt.Run(ctx, cm, plugin.Input{Image: im, Faces: boxes, UseFaces: true, Params: params}); err != nil {
					return err
				}
			}
			return nil
		}},
		{Name: "face-blur-12mp/native", Size: size, Run: func(n int) error {
			pix := make([]byte, len(im.Pix))
			for range n {
				copy(pix, im.Pix)
				if _, err := blur.Apply(&sdk.Request{Image: &sdk.Image{Width: 4000, Height: 3000, Pix: pix}, Faces: faces, Params: params}); err != nil {
					return err
				}
			}
			return nil
		}},
	}, func() { rt.Close(ctx) }, nil
}

// CompileTimes measures compiling a module in a fresh runtime with an
// empty compilation cache (a plugin's first run after install), then in
// another fresh runtime sharing the now warm on-disk cache (every later
// start), under dir.
func CompileTimes(ctx context.Context, dir string, wasm []byte) (first, cached time.Duration, err error) {
	cache := filepath.Join(dir, "plugin-cache")
	defer os.RemoveAll(cache)
	once := func() (time.Duration, error) {
		rt, err := plugin.NewRuntime(ctx, plugin.Config{CacheDir: cache})
		if err != nil {
			return 0, err
		}
		defer rt.Close(ctx)
		start := time.Now()
		_, err = rt.Compile(ctx, wasm)
		return time.Since(start), err
	}
	if first, err = once(); err != nil {
		return 0, 0, err
	}
	cached, err = once()
	return first, cached, err
}

// PluginRow is the plugin section of `obscura bench`.
type PluginRow struct {
	SandboxMs       float64 `json:"sandbox_ms"`
	NativeMs        float64 `json:"native_ms"`
	Ratio           float64 `json:"sandbox_vs_native"`
	CompileFirstMs  float64 `json:"compile_first_ms"`
	CompileCachedMs float64 `json:"compile_cached_ms"`
}

// RunPlugins measures face-blur (the module setup built) in the sandbox
// against native, and first against cached compilation.
func RunPlugins(ctx context.Context, dir string, wasm []byte) (PluginRow, error) {
	first, cached, err := CompileTimes(ctx, dir, wasm)
	if err != nil {
		return PluginRow{}, fmt.Errorf("compile: %w", err)
	}
	cases, done, err := PluginCases(ctx, wasm)
	if err != nil {
		return PluginRow{}, err
	}
	defer done()
	ms := map[string]float64{}
	for _, c := range cases {
		ms[c.Name] = float64(testing.Benchmark(c.Op).NsPerOp()) / 1e6
	}
	row := PluginRow{SandboxMs: ms["face-blur-12mp/sandbox"], NativeMs: ms["face-blur-12mp/native"],
		CompileFirstMs: float64(first.Microseconds()) / 1000, CompileCachedMs: float64(cached.Microseconds()) / 1000}
	if row.NativeMs > 0 {
		row.Ratio = row.SandboxMs / row.NativeMs
	}
	return row, nil
}
