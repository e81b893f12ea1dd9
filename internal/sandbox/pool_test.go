package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
	"github.com/obscuraproject/obscura/internal/sandbox/worker"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// TestMain makes the test binary a worker when the pool starts it: the
// production worker code (Main) with test hooks that exist only in this
// binary.
func TestMain(m *testing.M) {
	if os.Getenv(protocol.ConfigEnv) != "" {
		os.Exit(worker.Main(nil, testHooks))
	}
	os.Exit(m.Run())
}

// hookMeta is an OpTest request.
type hookMeta struct {
	Do   string `json:"do"`
	Arg  string `json:"arg"`
	Slow int    `json:"slow_ms"`
}

// testHooks: crash, hang, lie, and containment probes that report the
// error the attempted operation got ("" when it succeeded).
func testHooks(meta, _ []byte) protocol.Frame {
	var m hookMeta
	json.Unmarshal(meta, &m)
	var err error
	switch m.Do {
	case "crash":
		var p *int
		go func() { *p = 1 }() // a segfault in a decoder thread
		select {}
	case "hang":
		select {}
	case "lie":
		return protocol.Frame{Meta: []byte(`{"width":-1}`)}
	case "pid":
	case "sleep":
		time.Sleep(time.Duration(m.Slow) * time.Millisecond)
	case "connect":
		var c net.Conn
		if c, err = net.DialTimeout("tcp", m.Arg, time.Second); err == nil {
			c.Close()
		}
	case "open":
		var f *os.File
		if f, err = os.Open(m.Arg); err == nil {
			f.Close()
		}
	case "create":
		var f *os.File
		if f, err = os.Create(m.Arg); err == nil {
			f.Close()
		}
	case "exec":
		err = syscall.Exec(m.Arg, []string{m.Arg}, nil)
	}
	out := map[string]any{"pid": os.Getpid(), "uid": os.Getuid(), "err": ""}
	if err != nil {
		out["err"] = err.Error()
		out["errno"] = errnoOf(err)
	}
	b, _ := json.Marshal(out)
	return protocol.Frame{Meta: b}
}

func errnoOf(err error) int {
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return -1
}

type hookReply struct {
	PID   int    `json:"pid"`
	UID   int    `json:"uid"`
	Err   string `json:"err"`
	Errno int    `json:"errno"`
}

func startTestPool(t *testing.T, prot Protections, opt Options) *Pool {
	t.Helper()
	if m := worker.Missing(); len(m) > 0 {
		t.Fatalf("this kernel lacks %v: the sandbox cannot be tested (and serve refuses to start)", m)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opt.Config = Config{Decode: picture.DefaultOptions, Limits: DefaultLimits, Protections: prot, UID: Nobody, GID: Nobody, Nice: opt.Config.Nice}
	opt.Command = func() *exec.Cmd { return exec.Command(exe) }
	if opt.Workers == 0 {
		opt.Workers = 1
	}
	if opt.Timeout == 0 {
		opt.Timeout = 5 * time.Second
	}
	opt.QueueTimeout = time.Minute // replacements start slowly on a loaded machine
	opt.Log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	p, err := Start(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(b)))
	return len(b), nil
}

func hook(t *testing.T, p *Pool, m hookMeta) (hookReply, error) {
	t.Helper()
	b, _ := json.Marshal(m)
	var r hookReply
	_, err := p.do(context.Background(), protocol.Frame{Op: protocol.OpTest, Meta: b}, 0, func(f protocol.Frame) error { return protocol.StrictJSON(f.Meta, &r) })
	return r, err
}

// secrets is a data directory as serve has it: a master key and a database.
func secrets(t *testing.T) (key, db string) {
	dir := t.TempDir()
	key, db = filepath.Join(dir, "master.key"), filepath.Join(dir, "obscura.db")
	for _, f := range []string{key, db} {
		if err := os.WriteFile(f, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return key, db
}

// TestContainment proves, from inside a real worker, that each protection
// holds — first all together, then Landlock alone and seccomp alone, so a
// regression in either layer is seen even while the other still stops
// the attempt.
func TestContainment(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	key, db := secrets(t)
	for _, c := range []struct {
		name string
		prot Protections
	}{
		{"all", All},
		{"landlock only", Landlock},
		{"seccomp only", Seccomp},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startTestPool(t, c.prot, Options{})
			probes := []struct {
				do, arg string
			}{
				{"connect", ln.Addr().String()},
				{"open", key},
				{"open", db},
				{"exec", "/bin/true"},
				{"create", filepath.Join(os.TempDir(), "obscura-sandbox-escape")},
			}
			for _, pr := range probes {
				r, err := hook(t, p, hookMeta{Do: pr.do, Arg: pr.arg})
				if err != nil {
					t.Fatalf("%s %s: %v", pr.do, pr.arg, err)
				}
				if c.prot == Seccomp && pr.do == "open" {
					continue // reading is allowed by seccomp; Landlock and the uid refuse it
				}
				if r.Err == "" {
					t.Errorf("%s %s succeeded inside the worker", pr.do, pr.arg)
				} else {
					t.Logf("%s %s: %s", pr.do, pr.arg, r.Err)
				}
				// Which layer refused: seccomp answers EPERM, Landlock EACCES.
				switch {
				case c.prot == Landlock && r.Errno != int(syscall.EACCES):
					t.Errorf("%s: errno %d, want EACCES from Landlock", pr.do, r.Errno)
				case c.prot == Seccomp && pr.do != "open" && r.Errno != int(syscall.EPERM):
					t.Errorf("%s: errno %d, want EPERM from seccomp", pr.do, r.Errno)
				}
			}
			os.Remove(filepath.Join(os.TempDir(), "obscura-sandbox-escape"))
			r, _ := hook(t, p, hookMeta{Do: "pid"})
			if os.Getuid() == 0 && c.prot&SetUID == 0 && r.UID != 0 {
				t.Errorf("uid %d without SetUID", r.UID)
			}
			if os.Getuid() == 0 && c.prot&SetUID != 0 && r.UID != Nobody {
				t.Errorf("worker runs as uid %d, want %d", r.UID, Nobody)
			}
		})
	}
}

// TestCrashHangLie: a worker that crashes, hangs past the timeout or
// breaks the reply contract fails only its own request (ErrUnavailable,
// 503), is replaced, and the alert fires when failures repeat.
func TestCrashHangLie(t *testing.T) {
	var alerts atomic.Int32
	p := startTestPool(t, All, Options{Timeout: 1500 * time.Millisecond, OnCrashes: func(int) { alerts.Add(1) }})
	first, err := hook(t, p, hookMeta{Do: "pid"})
	if err != nil {
		t.Fatal(err)
	}
	last := first.PID
	for _, do := range []string{"crash", "hang", "lie"} {
		_, err := hook(t, p, hookMeta{Do: do})
		if !errors.Is(err, ErrUnavailable) || fault.KindOf(err) != fault.Unavailable {
			t.Fatalf("%s: %v, want ErrUnavailable", do, err)
		}
		r, err := hook(t, p, hookMeta{Do: "pid"})
		if err != nil {
			t.Fatalf("after %s the pool does not answer: %v", do, err)
		}
		if r.PID == last {
			t.Errorf("after %s the same worker (pid %d) still serves", do, r.PID)
		}
		last = r.PID
		if slices.Contains(p.PIDs(), first.PID) {
			t.Errorf("the first worker is still listed")
		}
	}
	if alerts.Load() != 1 {
		t.Errorf("%d alerts after 3 failures, want 1", alerts.Load())
	}
}

func testJPEG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDecodeInWorker: the worker decodes like picture.Decode does in
// process; corrupt files are refused as invalid images and crash nothing.
func TestDecodeInWorker(t *testing.T) {
	p := startTestPool(t, All, Options{})
	data := testJPEG(t, 300, 200)
	got, err := p.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := picture.Decode(data, picture.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != want.Width || got.Height != want.Height || got.Scale != want.Scale || !bytes.Equal(got.RGB.Pix, want.RGB.Pix) {
		t.Errorf("worker decode differs from in-process decode")
	}
	wide := testJPEG(t, 3000, 120)
	scaled, err := p.Decode(wide)
	if err != nil || scaled.RGB.Rect.Dx() >= 3000 || scaled.Width != 3000 {
		t.Errorf("scaled decode: %v %v", scaled.RGB.Rect, err)
	}
	full, err := p.DecodeFull(wide)
	if err != nil || full.RGB.Rect.Dx() != 3000 || full.Scale != 1 {
		t.Errorf("full decode: %v %v", full.RGB.Rect, err)
	}
	before := p.PIDs()
	for name, bad := range map[string][]byte{
		"truncated":  data[:len(data)/2],
		"garbage":    append([]byte{0xFF, 0xD8, 0xFF}, bytes.Repeat([]byte{0xAB}, 5000)...),
		"empty":      {},
		"not image":  []byte("GIF89a"),
		"huge frame": append([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1, 0x11, 0}, data[2:]...),
	} {
		_, err := p.Decode(bad)
		if !errors.Is(err, picture.ErrInvalid) && !errors.Is(err, picture.ErrTooLarge) {
			t.Errorf("%s: %v, want an invalid-image error", name, err)
		}
	}
	if !slices.Equal(before, p.PIDs()) {
		t.Errorf("workers changed after corrupt files: %v → %v", before, p.PIDs())
	}
	res, err := p.Sanitize(context.Background(), data, sanitize.DefaultLimits)
	if err != nil || res.Format != sanitize.JPEG || res.Width != 300 {
		t.Errorf("sanitize in worker: %+v, %v", res.Format, err)
	}
	if _, err := p.Sanitize(context.Background(), []byte("nope"), sanitize.DefaultLimits); !errors.Is(err, sanitize.ErrUnsupported) {
		t.Errorf("sanitize of text: %v", err)
	}
}

func TestMissingOnThisKernel(t *testing.T) {
	if m := worker.Missing(); len(m) != 0 {
		t.Errorf("missing %v (STACK.md: this kernel has Landlock ABI 7 and seccomp)", m)
	}
}

// TestPoolGrowsOnDemand: one worker starts with the pool; a second only
// when two requests overlap, and never more than Workers.
func TestPoolGrowsOnDemand(t *testing.T) {
	p := startTestPool(t, All, Options{Workers: 2})
	if n := len(p.PIDs()); n != 1 {
		t.Fatalf("%d workers at start, want 1", n)
	}
	done := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := hook(t, p, hookMeta{Do: "sleep", Slow: 500})
			done <- err
		}()
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(p.PIDs()); n != 2 {
		t.Errorf("%d workers after overlapping requests, want 2", n)
	}
}
