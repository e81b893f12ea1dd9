package upload_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/upload"
)

// gatedInspector records what it inspects and blocks until released.
type gatedInspector struct {
	release chan struct{}
	mu      sync.Mutex
	got     map[string][]byte
	inter   map[string]bool // was the inspection's ctx marked interactive?
}

func newGatedInspector() *gatedInspector {
	return &gatedInspector{release: make(chan struct{}), got: map[string][]byte{}, inter: map[string]bool{}}
}

func (g *gatedInspector) InspectUpload(ctx context.Context, _, assetID string, original []byte) {
	<-g.release
	g.mu.Lock()
	defer g.mu.Unlock()
	g.got[assetID] = bytes.Clone(original)
	g.inter[assetID] = store.IsInteractive(ctx)
}

func (g *gatedInspector) seen(id string) ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.got[id]
	return b, ok
}

// Issue 17.6: an upload a client waits for is answered before it is
// inspected (the inspection decodes the photo: tens of milliseconds of
// CPU), and the inspection still sees the upload's bytes — not the buffer
// the answer cleared — as background work; Wait waits for it. An import
// (no client waiting) is inspected before Ingest returns.
func TestUploadAnsweredBeforeInspection(t *testing.T) {
	e := newEnv(t)
	in := newGatedInspector()
	e.svc.WithInspector(in)
	ctx := context.Background()
	g, err := e.svc.Create(ctx, "ten_a", uploadRequest())
	if err != nil {
		t.Fatal(err)
	}
	pic := jpegBytes(t)
	answered := make(chan string, 1)
	go func() {
		a, err := e.svc.Accept(ctx, g.Token, int64(len(pic)), bytes.NewReader(bytes.Clone(pic)))
		if err != nil {
			t.Error(err)
		}
		answered <- a.ID
	}()
	var id string
	select {
	case id = <-answered:
	case <-time.After(30 * time.Second):
		close(in.release)
		t.Fatal("the upload's answer waited for its inspection")
	}
	if _, ok := in.seen(id); ok {
		t.Fatal("inspected before the answer")
	}
	close(in.release)
	e.svc.Wait()
	got, ok := in.seen(id)
	if !ok {
		t.Fatal("Wait returned before the inspection ran")
	}
	if !bytes.Equal(got, pic) {
		t.Error("the inspection saw other bytes than the upload's (a cleared or reused buffer)")
	}
	if in.inter[id] {
		t.Error("the background inspection's writes are marked interactive")
	}

	// An import: inspected before Ingest returns, with the caller's context.
	a, err := e.svc.Ingest(ctx, "ten_a", "bob", pic)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.seen(a.ID); !ok {
		t.Error("an import was not inspected before Ingest returned")
	}
}

// When the background queue is full, an upload is inspected before its
// answer (back-pressure): no inspection is ever skipped.
func TestInspectionQueueFullInspectsInline(t *testing.T) {
	e := newEnv(t)
	in := newGatedInspector()
	e.svc.WithInspector(in)
	ctx := context.Background()
	pic := jpegBytes(t)
	const n = 12 // more than the queue holds
	ids := make(chan string, n)
	for range n {
		g, err := e.svc.Create(ctx, "ten_a", uploadRequest())
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			a, err := e.svc.Accept(ctx, g.Token, int64(len(pic)), bytes.NewReader(pic))
			if err != nil {
				t.Error(err)
			}
			ids <- a.ID
		}()
	}
	// The queue's uploads (8: inspectQueue) answer while every inspection
	// is held; the rest wait for theirs.
	const queue = 8
	answered := 0
	for ; answered < queue; answered++ {
		select {
		case <-ids:
		case <-time.After(time.Minute):
			close(in.release)
			t.Fatalf("only %d uploads answered while inspections were held, want %d", answered, queue)
		}
	}
	select {
	case <-ids:
		close(in.release)
		t.Fatalf("more than %d uploads answered while their inspections were held: one was skipped or unbounded", queue)
	case <-time.After(500 * time.Millisecond):
	}
	close(in.release)
	for ; answered < n; answered++ {
		<-ids
	}
	e.svc.Wait()
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.got) != n {
		t.Errorf("%d of %d uploads inspected", len(in.got), n)
	}
}

func uploadRequest() upload.Request {
	return upload.Request{Subject: "alice", ContentType: "image/jpeg"}
}
