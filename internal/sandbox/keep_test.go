package sandbox

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
	"github.com/obscuraproject/obscura/internal/sandbox/worker"
	"github.com/obscuraproject/obscura/internal/vision"
)

// TestDecodeReplyKeptUnasked: a worker claiming to keep a picture it was
// not asked to keep breaks the protocol.
func TestDecodeReplyKeptUnasked(t *testing.T) {
	f := protocol.Frame{Op: protocol.OpDecode, Meta: []byte(`{"width":1,"height":1,"rgb_w":1,"rgb_h":1,"kept":true}`), Blob: make([]byte, 4)}
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
	for range worker.MaxKept {
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
