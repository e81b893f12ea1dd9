package plugin

import (
	"context"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/obscuraproject/obscura/internal/plugin/plugintest"
	"github.com/obscuraproject/obscura/internal/plugin/wasmhost"
)

var hostile = []string{"socket", "file", "loop", "memory", "huge", "panic", "logflood"}

// modules builds the shipped and hostile plugins once per test binary.
func modules(t testing.TB) map[string][]byte {
	t.Helper()
	pkgs := []string{"plugins/face-blur", "plugins/sticker", "cmd:internal/plugin/testdata/hostile/command"}
	for _, h := range hostile {
		pkgs = append(pkgs, "internal/plugin/testdata/hostile/"+h)
	}
	paths := plugintest.Build(t, pkgs...)
	out := map[string][]byte{}
	for p, file := range paths {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := p[strings.LastIndex(p, "/")+1:]
		out[name] = b
	}
	return out
}

var (
	cacheOnce   sync.Once
	sharedCache wazero.CompilationCache
)

// newRuntime returns a runtime sharing one on-disk compilation cache with
// every other test runtime (so each module compiles once, not per test).
// compiled is a runtime with cfg and the named test module compiled in it.
func compiled(t testing.TB, cfg Config, name string) (*Runtime, wazero.CompiledModule) {
	t.Helper()
	r := newRuntime(t, cfg)
	cm, err := r.Compile(context.Background(), modules(t)[name])
	if err != nil {
		t.Fatal(err)
	}
	return r, cm
}

func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	cacheOnce.Do(func() {
		c, err := wazero.NewCompilationCacheWithDir(filepath.Join(plugintest.CacheRoot(), "wazero"))
		if err != nil {
			c = wazero.NewCompilationCache()
		}
		sharedCache = c
	})
	cfg.Cache = sharedCache
	r, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func grey(w, h int) *image.RGBA {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			im.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	return im
}

func TestShippedPluginsPassTheAllowList(t *testing.T) {
	mods := modules(t)
	r := newRuntime(t, Config{})
	for _, name := range []string{"face-blur", "sticker"} {
		if _, err := r.Compile(context.Background(), mods[name]); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFaceBlurRunsInTheSandbox(t *testing.T) {
	// These two check what the plugins do, not the time limit (its own
	// tests below): a minute, since under -race on a loaded machine the
	// default 5 s expired once (make test at load 14).
	r, cm := compiled(t, Config{Timeout: time.Minute}, "face-blur")
	in := grey(64, 48)
	orig := append([]byte(nil), in.Pix...)
	face := Box{X: 20, Y: 10, W: 16, H: 16}
	out, err := r.Run(context.Background(), cm, Input{Image: in, Faces: []Box{face}, UseFaces: true, Params: []byte(`{"margin":0,"mode":"pixelate"}`)})
	if err != nil {
		t.Fatalf("run: %v (log %q)", err, out.Log)
	}
	if out.Image.Bounds() != in.Bounds() {
		t.Fatalf("output bounds %v, want %v", out.Image.Bounds(), in.Bounds())
	}
	changedIn, changedOut := 0, 0
	for y := range 48 {
		for x := range 64 {
			o := 4 * (y*64 + x)
			diff := out.Image.Pix[o] != orig[o] || out.Image.Pix[o+1] != orig[o+1] || out.Image.Pix[o+2] != orig[o+2]
			inside := image.Pt(x, y).In(image.Rect(face.X, face.Y, face.X+face.W, face.Y+face.H))
			if diff && inside {
				changedIn++
			}
			if diff && !inside {
				changedOut++
			}
		}
	}
	if changedOut != 0 || changedIn < 16*16/2 {
		t.Errorf("changed %d pixels inside the face and %d outside; want most inside, none outside", changedIn, changedOut)
	}
	// Without the faces capability granted, the plugin sees no face and
	// changes nothing.
	out, err = r.Run(context.Background(), cm, Input{Image: grey(64, 48), Faces: []Box{face}, UseFaces: false})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Image.Pix) != string(orig) {
		t.Error("face-blur changed pixels without being handed faces")
	}
}

func TestStickerCorner(t *testing.T) {
	r, cm := compiled(t, Config{Timeout: time.Minute}, "sticker")
	in := image.NewRGBA(image.Rect(0, 0, 80, 80))
	out, err := r.Run(context.Background(), cm, Input{Image: in, Params: []byte(`{"placement":"top-right","scale":0.5,"sticker":"smiley"}`)})
	if err != nil {
		t.Fatal(err)
	}
	// The smiley's yellow is in the top-right quarter, not the bottom-left.
	tr, bl := out.Image.RGBAAt(60, 20), out.Image.RGBAAt(20, 60)
	if tr.R < 200 || tr.G < 150 || bl != (color.RGBA{}) {
		t.Errorf("top-right %v, bottom-left %v", tr, bl)
	}
}

func TestHostileModulesRefusedAtInstall(t *testing.T) {
	mods := modules(t)
	r := newRuntime(t, Config{})
	tests := []struct {
		name    string
		escape  bool
		imports []string
	}{
		{"socket", true, []string{"env.http_get", "wasi_snapshot_preview1.sock_accept"}},
		{"file", true, []string{"wasi_snapshot_preview1.path_open"}},
		{"command", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Compile(context.Background(), mods[tt.name])
			var rej *Rejection
			if !errors.As(err, &rej) || !errors.Is(err, ErrRejected) {
				t.Fatalf("err = %v, want a rejection", err)
			}
			if rej.EscapeAttempt() != tt.escape {
				t.Errorf("escape attempt = %v, want %v (%v)", rej.EscapeAttempt(), tt.escape, rej)
			}
			for _, im := range tt.imports {
				found := false
				for _, got := range rej.Imports {
					found = found || got == im
				}
				if !found {
					t.Errorf("rejection %v does not name %s", rej.Imports, im)
				}
			}
		})
	}
	if _, err := r.Compile(context.Background(), []byte("\x00asm garbage")); !errors.Is(err, ErrRejected) {
		t.Errorf("garbage: %v", err)
	}
}

func TestHostileRunsContained(t *testing.T) {
	mods := modules(t)
	// The loop can only end at the time limit (500 ms). The others must end
	// at their own limit, so they get a minute: under -race on a loaded
	// machine a memory or output flood could otherwise be cut by the
	// clock first and report "timeout" with nothing wrong.
	loopRT := newRuntime(t, Config{Timeout: 500 * time.Millisecond, Allowance: 32 << 20})
	r := newRuntime(t, Config{Timeout: time.Minute, Allowance: 32 << 20})
	tests := []struct {
		name, reason string
	}{
		{"loop", wasmhost.ReasonTimeout},
		{"memory", wasmhost.ReasonMemory},
		{"huge", wasmhost.ReasonOutput},
		{"panic", wasmhost.ReasonTrap},
		{"logflood", wasmhost.ReasonLogFlood},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := r
			if tt.reason == wasmhost.ReasonTimeout {
				r = loopRT
			}
			cm, err := r.Compile(context.Background(), mods[tt.name])
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			start := time.Now()
			out, err := r.Run(context.Background(), cm, Input{Image: grey(32, 32)})
			var f *Failure
			if !errors.As(err, &f) || !errors.Is(err, ErrFailed) {
				t.Fatalf("err = %v, want a failure", err)
			}
			if f.Reason != tt.reason {
				t.Errorf("reason = %q, want %q (%v)", f.Reason, tt.reason, err)
			}
			// A run the sandbox does not contain never ends; the minute
			// is far beyond the 500 ms limit only so that a loaded
			// machine under -race (5 s was missed at load 14) passes.
			if d := time.Since(start); d > time.Minute {
				t.Errorf("contained after %v", d)
			}
			if memLimit, _ := r.Limits(32, 32); out.Memory > memLimit {
				t.Errorf("peak memory %d above the cap %d", out.Memory, memLimit)
			}
		})
	}
	// The runtime carries on: an honest plugin still runs.
	cm, err := r.Compile(context.Background(), mods["sticker"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), cm, Input{Image: grey(32, 32), Params: []byte(`{"placement":"top-left"}`)}); err != nil {
		t.Errorf("honest run after hostile ones: %v", err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	r, cm := compiled(t, Config{Concurrency: 1, Timeout: time.Minute}, "loop")
	first, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(first, cm, Input{Image: grey(8, 8)})
		done <- err
	}()
	// Ordering, not a sleep: until the first run holds the only slot, a
	// second may take it for its 20 ms; once the first holds it, a second
	// is refused busy. (A 50 ms sleep let a loaded machine start the first
	// run after the second.) The minute only stops an unbounded runtime.
	busy := false
	for deadline := time.Now().Add(time.Minute); !busy && time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := r.Run(ctx, cm, Input{Image: grey(8, 8)})
		cancel()
		busy = errors.Is(err, ErrBusy)
	}
	if !busy {
		t.Error("a second run was never refused while the only slot was taken")
	}
	stop()
	if err := <-done; err == nil || errors.Is(err, ErrBusy) {
		t.Errorf("first run, cancelled while looping: %v", err)
	}
	// Its slot is free again.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Run(ctx, cm, Input{Image: grey(8, 8)}); errors.Is(err, ErrBusy) {
		t.Errorf("run after the first ended: %v, want the slot", err)
	}
}
